package admin

import (
	"crypto/subtle"
	"net/http"
	"os"
	"strings"
)

// bearer guards the invalidation API with the token in a node-local file.
// The file is read on each request, so a rotated token applies at once
// (admin requests are rare).
type bearer struct{ file string }

// check answers the request itself and returns false unless it carries
// the token.
func (b bearer) check(w http.ResponseWriter, r *http.Request) bool {
	if b.file == "" {
		apiError(w, http.StatusForbidden, "AccessDenied", "invalidations need a token: start the node with --admin-token-file FILE")
		return false
	}
	raw, err := os.ReadFile(b.file)
	token := strings.TrimSpace(string(raw))
	if err != nil || token == "" {
		// Never accept an empty token: a misconfigured node refuses everyone.
		apiError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the node cannot read its --admin-token-file, or it is empty")
		return false
	}
	// The scheme is case-insensitive (RFC 9110 11.1): "bearer" is as good.
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openfront admin"`)
		apiError(w, http.StatusUnauthorized, "AccessDenied", "missing or wrong bearer token (Authorization: Bearer TOKEN, the token in the node's --admin-token-file)")
		return false
	}
	return true
}
