package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// bearer guards the invalidation API with the token in a node-local file.
// The file is read on each request, so a rotated token applies at once
// (admin requests are rare), as Prometheus re-reads a bearer_token_file
// on each scrape; nginx and Consul would need a reload.
type bearer struct{ file string }

// check answers the request itself and returns false unless it carries
// the token.
func (b bearer) check(w http.ResponseWriter, r *http.Request) bool {
	if b.file == "" {
		apiError(w, http.StatusForbidden, "AccessDenied", "invalidations need a token: start the node with --admin-token-file FILE")
		return false
	}
	token, err := ReadTokenFile(b.file)
	if err != nil {
		// Never accept an empty token: a misconfigured node refuses everyone.
		apiError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the node cannot use its --admin-token-file: it is missing, unreadable, empty or more than one line")
		return false
	}
	// The scheme is case-insensitive (RFC 9110 11.1): "bearer" is as good.
	// The digests are compared, not the tokens: ConstantTimeCompare
	// returns at once on a length that differs, which tells the length.
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		// No error code for a request without a token (RFC 6750 3.1).
		w.Header().Set("WWW-Authenticate", `Bearer realm="openfront admin"`)
		apiError(w, http.StatusUnauthorized, "AccessDenied", "missing bearer token (Authorization: Bearer TOKEN, the token in the node's --admin-token-file)")
		return false
	}
	gotSum, wantSum := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(gotSum[:], wantSum[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openfront admin", error="invalid_token"`)
		apiError(w, http.StatusUnauthorized, "AccessDenied", "wrong bearer token (Authorization: Bearer TOKEN, the token in the node's --admin-token-file)")
		return false
	}
	return true
}

// ReadTokenFile reads a bearer token file: its text without the spaces
// and newline around it (echo and editors end a file with one). An empty
// token is an error: no request may pass with nothing. So is one with a
// line break or another control character inside, which no header can
// carry: `openssl rand -base64 64` writes two lines.
func ReadTokenFile(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return "", fmt.Errorf("token: %s is empty: write one line of random text into it (openssl rand -hex 32 > %s)", file, file)
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", fmt.Errorf("token: %s holds a line break or control character, which no Authorization header can carry: make the token one line (openssl rand -hex 32)", file)
	}
	return token, nil
}

// ErrTokenFileShared is CheckTokenFile's warning: others may read the
// token. A warning, not a refusal: Kubernetes mounts secrets 0644 by
// default.
var ErrTokenFileShared = errors.New("other users can read it: chmod 600 it")

// CheckTokenFile is the node's check of --admin-token-file at start: an
// error the operator hears now, not as 503s on the first invalidation of
// a deploy. It returns ErrTokenFileShared, wrapped, for a token file that
// others may read.
func CheckTokenFile(file string) error {
	if _, err := ReadTokenFile(file); err != nil {
		return err
	}
	info, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if info.Mode().Perm()&0o004 != 0 {
		return &fs.PathError{Op: "token", Path: file, Err: ErrTokenFileShared}
	}
	return nil
}
