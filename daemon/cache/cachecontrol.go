package cache

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// directives are the Cache-Control directives a shared cache acts on
// (RFC 9111 5.2). Durations are -1 when the directive is absent.
type directives struct {
	noStore, noCache, private, public  bool
	mustRevalidate, proxyRevalidate    bool
	noTransform, mustUnderstand        bool
	maxAge, sMaxAge                    time.Duration
	staleWhileRevalidate, staleIfError time.Duration
	// noCacheFields and privateFields are the qualified forms'
	// field names: those fields are not stored.
	noCacheFields, privateFields []string
	// surrogate holds the Surrogate-Control lines when some of their
	// directives are for this cache; surrogateMaxAge is their max-age.
	surrogate       []string
	surrogateMaxAge time.Duration
}

// maxDelta is what RFC 9111 1.2.2 says an overflowing delta-seconds becomes.
const maxDelta = 2147483648 * time.Second

// parseCacheControl reads a response's Cache-Control, and its
// Surrogate-Control, which wins for this cache (see surrogateControl).
func parseCacheControl(h http.Header) directives {
	d := directives{maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1, surrogateMaxAge: -1}
	for _, line := range h["Cache-Control"] {
		for len(line) > 0 {
			var part string
			part, line = nextDirective(line)
			name, value, hasValue := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			switch name {
			case "no-store":
				d.noStore = true
			case "no-cache":
				if hasValue && value != "" {
					d.noCacheFields = append(d.noCacheFields, fieldList(value)...)
				} else {
					d.noCache = true
				}
			case "private":
				if hasValue && value != "" {
					d.privateFields = append(d.privateFields, fieldList(value)...)
				} else {
					d.private = true
				}
			case "public":
				d.public = true
			case "must-revalidate":
				d.mustRevalidate = true
			case "proxy-revalidate":
				d.proxyRevalidate = true
			case "no-transform":
				d.noTransform = true
			case "must-understand":
				d.mustUnderstand = true
			case "max-age":
				setDelta(&d.maxAge, value)
			case "s-maxage":
				setDelta(&d.sMaxAge, value)
			case "stale-while-revalidate":
				setDelta(&d.staleWhileRevalidate, value)
			case "stale-if-error":
				setDelta(&d.staleIfError, value)
			}
		}
	}
	d.surrogateControl(h)
	return d
}

// SurrogateToken is the device token the cache announces to origins in
// Surrogate-Capability (W3C Edge Architecture Specification 1.0), and
// answers to in Surrogate-Control's targeted directives.
const SurrogateToken = "openfront"

// SurrogateCapability is this cache's Surrogate-Capability entry.
const SurrogateCapability = SurrogateToken + `="Surrogate/1.0"`

// surrogateControl applies Surrogate-Control, the header origins address
// to CDNs: its directives without a target or targeted ";openfront" are
// for this cache, and when there are any, its max-age and no-store replace
// Cache-Control's freshness and storage directives (max-age, s-maxage,
// no-store, no-cache, private) and Expires. Cache-Control's other
// directives (must-revalidate, stale-*) still apply. The field is not
// passed on to viewers.
func (d *directives) surrogateControl(h http.Header) {
	lines, ok := h["Surrogate-Control"]
	if !ok {
		return
	}
	ours, noStore, maxAge := false, false, time.Duration(-1)
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line = nextDirective(line)
			dir, target, targeted := strings.Cut(part, ";")
			if targeted && !strings.EqualFold(strings.TrimSpace(target), SurrogateToken) {
				continue
			}
			name, value, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-store-remote":
				ours, noStore = true, true
			case "max-age":
				// max-age=freshness[+extension]; malformed: ignored.
				value, _, _ = strings.Cut(value, "+")
				if value != "" && strings.Trim(value, "0123456789") == "" && maxAge < 0 {
					ours, maxAge = true, parseDelta(value)
				}
			}
		}
	}
	if !ours {
		return
	}
	d.surrogate = lines
	d.noStore, d.noCache, d.private = noStore, false, false
	d.maxAge, d.sMaxAge, d.surrogateMaxAge = -1, -1, maxAge
}

// nextDirective splits at the first comma outside a quoted string.
func nextDirective(s string) (part, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ',':
			if !quoted {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

func fieldList(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, http.CanonicalHeaderKey(f))
		}
	}
	return out
}

// setDelta keeps the first occurrence (RFC 9111 4.2.1); an invalid value
// counts as 0, which makes the response stale at once.
func setDelta(dst *time.Duration, v string) {
	if *dst >= 0 {
		return
	}
	*dst = parseDelta(v)
}

func parseDelta(v string) time.Duration {
	if v == "" {
		return 0
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > math.MaxInt32 {
		return maxDelta
	}
	return time.Duration(n) * time.Second
}
