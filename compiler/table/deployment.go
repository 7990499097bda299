package table

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"openfront.dev/schema"
)

// Deployment is a primary distribution's continuous deployment policy:
// which of its requests its staging distribution serves instead
// (understanding-continuous-deployment). It lives in the table, not in
// the primary's Distribution, so a primary reused by a rebuild never
// points at a staging distribution of an older table.
type Deployment struct {
	// Policy is the policy's name, Spec the policy.
	Policy string
	Spec   *schema.ContinuousDeploymentPolicy
	// Primary and Staging are the two distributions.
	Primary, Staging *Distribution
	// Header (canonical) and Value: a SingleHeader policy sends the
	// requests that carry them to staging. Header is "" otherwise.
	Header, Value string
	// Weight is a SingleWeight policy's share of requests for staging.
	Weight float64
	// IdleTTL and MaximumTTL bound a sticky session (zero: not sticky).
	IdleTTL, MaximumTTL time.Duration
	// Session tells one policy's sessions from another's: a cookie of
	// another policy, or of other stickiness settings, starts a new
	// session.
	Session string
}

// StickyCookie is the cookie that keeps a viewer on one side of a sticky
// weight-based policy. CloudFront sets a cookie too but does not document
// its name or form (understanding-continuous-deployment): this one is
// openfront's, "SIDE.START.SESSION" with SIDE "s" (staging) or "p"
// (primary) and START the session's start in Unix seconds.
const StickyCookie = "openfront-cd"

// newDeployment compiles the policy named by primary's
// continuousDeploymentPolicyId; nil when it names none.
func newDeployment(primary *Distribution, cfg *schema.Config, dists map[string]*Distribution) *Deployment {
	name := primary.Spec.ContinuousDeploymentPolicyID
	p := cfg.ContinuousDeploymentPolicies[name]
	if name == "" || primary.Spec.Staging || p == nil || dists[p.StagingDistributionID] == nil {
		return nil
	}
	dep := &Deployment{Policy: name, Spec: p, Primary: primary, Staging: dists[p.StagingDistributionID]}
	tc := p.TrafficConfig
	if h := tc.SingleHeaderConfig; tc.Type == "SingleHeader" && h != nil {
		dep.Header, dep.Value = textproto.CanonicalMIMEHeaderKey(h.Header), h.Value
	}
	if w := tc.SingleWeightConfig; tc.Type == "SingleWeight" && w != nil {
		dep.Weight = w.Weight
		if s := w.SessionStickinessConfig; s != nil {
			dep.IdleTTL, dep.MaximumTTL = time.Duration(s.IdleTTL)*time.Second, time.Duration(s.MaximumTTL)*time.Second
			dep.Session = hashJSON([]any{name, p.StagingDistributionID, s})[:8]
		}
	}
	return dep
}

// Deployment is the continuous deployment policy of the primary
// distribution id, nil when it has none. Tables without policies pay a
// nil map's lookup.
func (t *Table) Deployment(id string) *Deployment { return t.deployments[id] }

// Active reports an enabled policy of an enabled primary to an enabled
// staging distribution: a disabled primary refuses its requests, whatever
// its staging distribution is, and a disabled staging distribution serves
// nothing, so the primary keeps its share rather than refuse it.
func (dep *Deployment) Active() bool {
	return dep.Spec.Enabled && dep.Primary.Spec.Enabled && dep.Staging.Spec.Enabled
}

// Sticky reports a weight-based policy with session stickiness.
func (dep *Deployment) Sticky() bool { return dep.MaximumTTL > 0 }

// HeaderMatches reports a SingleHeader policy's header with its value
// among h's values.
func (dep *Deployment) HeaderMatches(h http.Header) bool {
	if dep.Header == "" {
		return false
	}
	for _, v := range h[dep.Header] {
		if v == dep.Value {
			return true
		}
	}
	return false
}

// Session is a sticky session read from the cookie: which side, and since
// when.
type Session struct {
	Staging bool
	Start   time.Time
}

// ParseSession reads StickyCookie's value; ok is false for a value of
// another policy's session, a malformed one, or one past MaximumTTL at
// now (the cookie's Max-Age ends it once idle).
func (dep *Deployment) ParseSession(v string, now time.Time) (s Session, ok bool) {
	s, ok = dep.ReadSession(v)
	return s, ok && dep.Live(s, now)
}

// ReadSession reads StickyCookie's value without the clock: ok is false
// for a malformed value or another policy's session.
func (dep *Deployment) ReadSession(v string) (s Session, ok bool) {
	if len(v) < 4 || v[1] != '.' || (v[0] != 's' && v[0] != 'p') {
		return s, false
	}
	rest := v[2:]
	dot := len(rest) - len(dep.Session) - 1
	if dot < 1 || rest[dot] != '.' || rest[dot+1:] != dep.Session {
		return s, false
	}
	sec, err := strconv.ParseInt(rest[:dot], 10, 64)
	if err != nil {
		return s, false
	}
	return Session{Staging: v[0] == 's', Start: time.Unix(sec, 0)}, true
}

// Live reports session s within MaximumTTL at now.
func (dep *Deployment) Live(s Session, now time.Time) bool {
	age := now.Sub(s.Start)
	return age >= 0 && age < dep.MaximumTTL
}

// TakeStickyCookie splits Cookie lines into StickyCookie's value (the
// last one's, "" and found false when there is none) and the lines
// without it, nil when nothing is left. The edge takes the cookie out of
// a request: it is the node's, not the origin's, and would split the
// cache where cookies are keyed.
func TakeStickyCookie(lines []string) (value string, found bool, kept []string) {
	for _, line := range lines {
		var rest []string
		for c := range strings.SplitSeq(line, ";") {
			c = strings.TrimSpace(c)
			name, v, _ := strings.Cut(c, "=")
			if name == StickyCookie {
				value, found = v, true
				continue
			}
			if c != "" {
				rest = append(rest, c)
			}
		}
		if len(rest) > 0 {
			kept = append(kept, strings.Join(rest, "; "))
		}
	}
	return value, found, kept
}

// KeepsSessions reports an active policy with session stickiness: its
// sticky cookie keeps a viewer on one side. While a policy is disabled or
// not sticky, the edge ends the sessions it sees (EndedSession), as
// CloudFront "resets all sessions (even active ones)" when a policy or
// its session stickiness is disabled or enabled
// (understanding-continuous-deployment).
func (dep *Deployment) KeepsSessions() bool { return dep.Active() && dep.Sticky() }

// EndedSession is the Set-Cookie value that ends a viewer's session.
const EndedSession = StickyCookie + "=; Path=/; Max-Age=0"

// SessionCookie is TakeStickyCookie of Cookie lines for a request to
// dep's primary, as the edge reads them: the edge takes the cookie out of
// every request to a primary with a policy. Its value is a session only
// when dep KeepsSessions; otherwise the edge ends it.
func (dep *Deployment) SessionCookie(lines []string) (value string, found bool, kept []string) {
	return TakeStickyCookie(lines)
}

// Cookie is the Set-Cookie value that keeps session s going at now: its
// Max-Age is the idle TTL, cut to what is left of the maximum TTL.
func (dep *Deployment) Cookie(s Session, now time.Time) string {
	side := "p"
	if s.Staging {
		side = "s"
	}
	age := min(dep.IdleTTL, dep.MaximumTTL-now.Sub(s.Start))
	return StickyCookie + "=" + side + "." + strconv.FormatInt(s.Start.Unix(), 10) + "." + dep.Session +
		"; Path=/; Max-Age=" + strconv.Itoa(int(age/time.Second)) + "; HttpOnly; SameSite=Lax"
}

// ServedBy is the distribution that serves a request with header h to
// dep's primary, a weight's draw aside (taken as the primary's share):
// the staging distribution when the policy is enabled and h has its
// header, else the primary. openfront route and vet's route tests use it.
func (dep *Deployment) ServedBy(h http.Header) *Distribution { return dep.ServedWith(h, nil) }

// ServedWith is ServedBy for a request in sticky session s (nil: none,
// or none live): an active sticky policy keeps a staging session on
// staging and a primary one on the primary.
func (dep *Deployment) ServedWith(h http.Header, s *Session) *Distribution {
	if dep.Active() && (dep.HeaderMatches(h) || s != nil && s.Staging && dep.Sticky()) {
		return dep.Staging
	}
	return dep.Primary
}
