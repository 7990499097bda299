package admin

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostCheck refuses a request whose Host is a name the operator did not
// allow, against DNS rebinding: a page the operator's browser loads from
// evil.example can re-resolve evil.example to 127.0.0.1 and then read
// /status and /metrics as its own origin, but the browser still sends
// Host: evil.example. IP literals pass (rebinding needs a name), as do
// localhost and *.localhost, which browsers resolve to loopback
// themselves and no one can register (RFC 6761 6.3). A request without
// Host (HTTP/1.0) passes too: browsers always send one. So do the
// invalidation API and the git webhook: they answer only a bearer token
// or a signature, which a rebinding page does not have, and their callers
// (CI, a forge's webhook) name the node as they like.
//
// The refusal is 421 Misdirected Request (RFC 9110 15.5.20): the
// listener is not the authority for that name. A 403 would send the
// operator looking for a token, and no token helps.
func hostCheck(allowed []string, h http.Handler) http.Handler {
	names := map[string]bool{}
	for _, a := range allowed {
		names[hostName(a)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := hostName(r.Host)
		if name == "" || names[name] || name == "localhost" || strings.HasSuffix(name, ".localhost") || isIP(name) ||
			inAPI(r.URL.Path) || r.URL.Path == gitHookPath {
			h.ServeHTTP(w, r)
			return
		}
		msg := fmt.Sprintf("this admin listener does not answer to the name %q (DNS rebinding protection): start the node with --admin-host %s to allow it; IP addresses and localhost are always allowed", name, name)
		http.Error(w, msg, http.StatusMisdirectedRequest)
	})
}

// hostName is the name in a Host header: lowercase, without its port,
// brackets or trailing dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return canonicalHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

func canonicalHost(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// isIP reports whether name is an IP literal; an IPv6 zone comes
// percent-encoded in a URL (RFC 6874).
func isIP(name string) bool {
	_, err := netip.ParseAddr(strings.Replace(name, "%25", "%", 1))
	return err == nil
}

// inAPI reports whether path is the invalidation API's, whose errors are JSON.
func inAPI(path string) bool {
	return path == "/distributions" || strings.HasPrefix(path, "/distributions/")
}
