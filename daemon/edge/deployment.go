package edge

import (
	"maps"
	"net/http"
	"time"

	"openfront.dev/compiler/table"
)

// Continuous deployment (understanding-continuous-deployment): a request
// to a primary distribution with a policy may be served by its staging
// distribution, which has its own behaviors, origins, cache entries (the
// cache key starts with the distribution id), access log and metrics.
// Distributions without a policy pay one lookup in a nil map.

// staging reports whether the staging distribution of dep serves r, and
// the Set-Cookie value that keeps a sticky viewer's session ("" for
// none). A sticky policy's cookie is taken out of r's header: it is the
// node's, not the origin's, and would split the cache where cookies are
// keyed.
func (h *Handler) staging(r *http.Request, dep *table.Deployment, now time.Time) (staging bool, setCookie string) {
	if dep.Header != "" {
		return dep.HeaderMatches(r.Header), ""
	}
	if !dep.Sticky() {
		return h.random() < dep.Weight, ""
	}
	s, ok := dep.ParseSession(takeStickyCookie(r), now)
	if !ok {
		s = table.Session{Staging: h.random() < dep.Weight, Start: now}
	}
	return s.Staging, dep.Cookie(s, now)
}

// takeStickyCookie removes table.StickyCookie from r's Cookie lines and
// returns its value ("" when absent). r.Header is replaced by a copy, not
// changed in place, so that whatever holds the map the request came with
// still sees what the viewer sent.
func takeStickyCookie(r *http.Request) string {
	value, found, kept := table.TakeStickyCookie(r.Header["Cookie"])
	if !found {
		return ""
	}
	r.Header = maps.Clone(r.Header)
	if kept == nil {
		delete(r.Header, "Cookie")
	} else {
		r.Header["Cookie"] = kept
	}
	return value
}
