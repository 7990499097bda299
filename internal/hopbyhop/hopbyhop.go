// Package hopbyhop knows HTTP's hop-by-hop header fields (RFC 9110 7.6.1):
// a proxy or cache never passes them on, nor stores them.
package hopbyhop

import (
	"net/http"
	"strings"
)

// Fields are the fixed hop-by-hop fields, canonical.
var Fields = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// Is reports whether the canonical name k is one of Fields.
func Is(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// Named are the fields h's Connection header names, canonical: hop-by-hop
// too.
func Named(h http.Header) []string {
	var out []string
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, http.CanonicalHeaderKey(f))
			}
		}
	}
	return out
}
