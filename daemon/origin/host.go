package origin

import "strings"

// ViewerHost is the Host an origin gets in place of its domainName for a
// viewer's Host host (Request.ViewerHost): the name routing matched, in
// ASCII lower case and without a trailing dot, with a port only when it is
// port, that of the listener the viewer connected to, and not the default
// of the viewer's scheme (https). A Host naming another port does not
// reach this node that way, and an origin that builds redirects or links
// from its Host would put that port (or case, or dot) into an answer the
// cache then gives every viewer of the site: routing ignores all three, so
// the cache key does too unless it holds the Host itself.
func ViewerHost(host, port string, https bool) string {
	name, p := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") &&
		(strings.HasPrefix(host, "[") || strings.IndexByte(host, ':') == i) {
		name, p = host[:i], host[i+1:]
	}
	def := "80"
	if https {
		def = "443"
	}
	if p != port || p == def {
		p = ""
	}
	name = strings.TrimSuffix(name, ".")
	if p == "" && len(name) == len(host) && !hasUpper(name) {
		return host // the usual Host: no allocation
	}
	name = strings.ToLower(name)
	if p != "" {
		return name + ":" + p
	}
	return name
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
