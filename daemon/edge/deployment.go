package edge

import (
	"maps"
	"net/http"
	"strings"
	"time"

	"openfront.dev/compiler/table"
)

// Continuous deployment (understanding-continuous-deployment): a request
// to a primary distribution with a policy may be served by its staging
// distribution, which has its own behaviors, origins, cache entries (the
// cache key starts with the distribution id), access log and metrics.
// Distributions without a policy pay one lookup in a nil map.

// staging reports whether the staging distribution of dep serves r, and
// the Set-Cookie value that keeps a sticky viewer's session, or ends it
// ("" for none). The sticky cookie is taken out of r's header: it is the
// node's, not the origin's, and would split the cache where cookies are
// keyed. While dep keeps no sessions (disabled, or not sticky) a session
// the viewer still holds ends, as CloudFront resets sessions then.
func (h *Handler) staging(r *http.Request, dep *table.Deployment, now time.Time) (staging bool, setCookie string) {
	if !dep.KeepsSessions() {
		if hasStickyCookie(r) && takeStickyCookie(r) != "" {
			setCookie = table.EndedSession
		}
		if !dep.Active() {
			return false, setCookie
		}
	}
	if dep.Header != "" {
		return dep.HeaderMatches(r.Header), setCookie
	}
	if !dep.Sticky() {
		return h.random() < dep.Weight, setCookie
	}
	s, ok := dep.ParseSession(takeStickyCookie(r), now)
	if !ok {
		s = table.Session{Staging: h.random() < dep.Weight, Start: now}
	}
	return s.Staging, dep.Cookie(s, now)
}

// hasStickyCookie reports whether r's Cookie lines may hold
// table.StickyCookie: a scan without allocation, for the requests of a
// policy that keeps no sessions, nearly all of which have none.
func hasStickyCookie(r *http.Request) bool {
	for _, line := range r.Header["Cookie"] {
		if strings.Contains(line, table.StickyCookie) {
			return true
		}
	}
	return false
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
