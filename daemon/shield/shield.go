// Package shield is Origin Shield between the nodes of a fleet: which node
// is the shield of a region, and the authenticator a node's origin request
// to a shield carries. A shield trusts a request only with a valid
// authenticator: a viewer's header of the same name gains nothing.
package shield

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header carries the authenticator: "v2 TIME NONCE DIST ORIGIN BEHAVIOR
// HTTPS SIG".
const Header = "X-Openfront-Shield"

// MaxSkew is how old (or how far ahead) an authenticator may be: long
// enough for clocks a little apart, short enough that a captured one is
// soon useless.
const MaxSkew = time.Minute

// Claim is what a fleet node asks of a shield: the origin request of a
// distribution's origin, under one of its behaviors.
type Claim struct {
	Distribution, Origin string
	// Behavior is the behavior's position in the distribution's
	// behaviors (table.Behavior.Position).
	Behavior    int
	ViewerHTTPS bool
}

// Config is a node's part in a fleet with shields (serve --region,
// --origin-shield, --origin-shield-secret).
type Config struct {
	Region string // the node's own region label
	// URLs are the shield nodes of each region, in the order they are
	// tried: the primary, then its secondaries.
	URLs   map[string][]*url.URL
	Secret []byte
}

// Shields are where a request for an origin shielded in region goes, in
// order: the next is asked when one cannot be reached. None when the node
// is that region's shield itself, or knows none for it (the node then
// asks the origin).
func (c *Config) Shields(region string) []*url.URL {
	if c == nil || region == "" || region == c.Region || len(c.Secret) == 0 {
		return nil
	}
	return c.URLs[region]
}

// ParseURLs reads --origin-shield: REGION=URL[,REGION=URL...], each URL
// the http:// or https:// base of another node. A region named again
// lists a secondary shield node, asked when those before it cannot be
// reached, as CloudFront routes a request "to a secondary Origin Shield
// location if the primary Origin Shield location is unavailable"
// (origin-shield.html, Origin Shield high availability).
func ParseURLs(s string) (map[string][]*url.URL, error) {
	out := map[string][]*url.URL{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		region, raw, ok := strings.Cut(item, "=")
		if !ok || region == "" {
			return nil, fmt.Errorf("%q: want REGION=URL", item)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%q: want an http:// or https:// base URL such as https://shield.example.net:8443", item)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		if slices.ContainsFunc(out[region], func(v *url.URL) bool { return v.String() == u.String() }) {
			return nil, fmt.Errorf("%q: region %s lists this shield URL already", item, region)
		}
		out[region] = append(out[region], u)
	}
	return out, nil
}

// ReadSecret reads a shared secret file: its content, spaces trimmed, of
// at least 16 bytes.
func ReadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the origin shield secret: %w", err)
	}
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) < 16 {
		return nil, fmt.Errorf("the origin shield secret in %s is %d bytes: use at least 16", path, len(b))
	}
	return b, nil
}

// Missing are the regions of origins a node fetches from itself for want
// of a shield URL (not its own region), sorted.
func (c *Config) Missing(regions []string) []string {
	var out []string
	for _, r := range regions {
		own := c != nil && r == c.Region
		if !own && len(c.Shields(r)) == 0 && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// Sign is the authenticator of claim c for a request: the method, the
// Host it is sent with and its target (path and query as sent), with a
// fresh random nonce so that a shield takes it once (Verifier).
func Sign(secret []byte, c Claim, method, host, target string, now time.Time) string {
	var n nonce
	rand.Read(n[:])
	head := fields(c, now.Unix(), base64.RawURLEncoding.EncodeToString(n[:]))
	return head + " " + mac(secret, head, method, host, target)
}

func fields(c Claim, unix int64, nonce string) string {
	https := "0"
	if c.ViewerHTTPS {
		https = "1"
	}
	return "v2 " + strconv.FormatInt(unix, 10) + " " + nonce + " " + c.Distribution + " " + c.Origin + " " + strconv.Itoa(c.Behavior) + " " + https
}

func mac(secret []byte, head, method, host, target string) string {
	m := hmac.New(sha256.New, secret)
	for _, s := range []string{head, method, host, target} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ErrInvalid is an authenticator that does not verify.
var ErrInvalid = errors.New("invalid origin shield authenticator")

// ErrReplayed is a valid authenticator this shield has taken before: a
// copy of a fleet node's request, worth no more than a forged one.
var ErrReplayed = fmt.Errorf("%w: replayed", ErrInvalid)

// nonce makes each authenticator unique.
type nonce [16]byte

// verify checks the signature and age of authenticator v for a request
// and returns its claim, time and nonce.
func verify(secret []byte, v, method, host, target string, now time.Time) (Claim, int64, nonce, error) {
	var c Claim
	var n nonce
	if len(secret) == 0 {
		return c, 0, n, fmt.Errorf("%w: this node has no --origin-shield-secret", ErrInvalid)
	}
	f := strings.Split(v, " ")
	if len(f) != 8 || f[0] != "v2" {
		return c, 0, n, fmt.Errorf("%w: malformed (a node of another version?)", ErrInvalid)
	}
	unix, err1 := strconv.ParseInt(f[1], 10, 64)
	b, err2 := strconv.Atoi(f[5])
	nb, err3 := base64.RawURLEncoding.DecodeString(f[2])
	if err1 != nil || err2 != nil || err3 != nil || len(nb) != len(n) || (f[6] != "0" && f[6] != "1") {
		return c, 0, n, fmt.Errorf("%w: malformed", ErrInvalid)
	}
	copy(n[:], nb)
	c = Claim{Distribution: f[3], Origin: f[4], Behavior: b, ViewerHTTPS: f[6] == "1"}
	if !hmac.Equal([]byte(f[7]), []byte(mac(secret, strings.Join(f[:7], " "), method, host, target))) {
		return Claim{}, 0, n, fmt.Errorf("%w: wrong signature", ErrInvalid)
	}
	if age := now.Sub(time.Unix(unix, 0)); age > MaxSkew || age < -MaxSkew {
		return Claim{}, 0, n, fmt.Errorf("%w: made %v ago, more than %v", ErrInvalid, age.Round(time.Second), MaxSkew)
	}
	return c, unix, n, nil
}

// MaxNonces bounds the nonces a Verifier remembers: 16 bytes each in a
// map, 34 MiB of heap when full (measured). It is 2^20, a minute of
// 17,000 fleet requests a second.
const MaxNonces = 1 << 20

// Verifier is a shield's check of the authenticators it gets: each is
// taken once. It remembers the nonce of every one it took while its time
// is within MaxSkew (an older one is refused anyway). Only authenticators
// whose signature verifies are remembered, so only the fleet's own
// requests fill it.
//
// Past its bound it forgets the nonces of its oldest second and from then
// on refuses authenticators made in or before that second: the window it
// accepts shortens (a shield that gets 10 times the bound's rate takes
// authenticators some 6 s old), rather than refusing the fleet's new
// requests or forgetting nonces it would still accept. The nonces of the
// current second (and ahead, from clocks a little ahead) are never
// forgotten: only more requests than the bound made in those seconds go
// past it. A second forgotten as expired is refused too, so that a clock
// stepped back does not make its authenticators young again.
type Verifier struct {
	secret []byte
	limit  int

	mu    sync.Mutex
	seen  map[int64]map[nonce]struct{} // by the authenticator's time
	n     int                          // nonces in seen
	floor int64                        // refuse times up to this one: their nonces are forgotten (expired, or past the bound)
	swept int64                        // the second of the last sweep of expired seconds
}

// NewVerifier checks authenticators signed with secret, remembering up to
// limit nonces (MaxNonces when 0).
func NewVerifier(secret []byte, limit int) *Verifier {
	if limit <= 0 {
		limit = MaxNonces
	}
	return &Verifier{secret: secret, limit: limit, seen: map[int64]map[nonce]struct{}{}, floor: math.MinInt64}
}

// Verify checks the authenticator v for a request and returns its claim;
// an authenticator it took before is ErrReplayed, with its claim (for the
// log: it grants nothing). A nil Verifier (a node
// without a secret) verifies nothing.
func (vf *Verifier) Verify(v, method, host, target string, now time.Time) (Claim, error) {
	if vf == nil {
		return Claim{}, fmt.Errorf("%w: this node has no --origin-shield-secret", ErrInvalid)
	}
	c, unix, n, err := verify(vf.secret, v, method, host, target, now)
	if err != nil {
		return c, err
	}
	vf.mu.Lock()
	defer vf.mu.Unlock()
	if unix <= vf.floor {
		return Claim{}, fmt.Errorf("%w: made %d s ago, before the authenticators this shield remembers (under its load, or its clock stepped back)", ErrInvalid, now.Unix()-unix)
	}
	bucket := vf.seen[unix]
	if _, ok := bucket[n]; ok {
		return c, ErrReplayed
	}
	if bucket == nil {
		bucket = map[nonce]struct{}{}
		vf.seen[unix] = bucket
	}
	bucket[n] = struct{}{}
	vf.n++
	vf.forget(now.Unix())
	return c, nil
}

// forget drops, once a second, the seconds too old to be accepted anyway
// and, past the bound, the oldest ones before the current second. Called
// with vf.mu held; about 2*MaxSkew seconds are kept, so a walk over them
// is short.
func (vf *Verifier) forget(now int64) {
	expired := now - int64(MaxSkew/time.Second)
	for (vf.n > vf.limit || vf.swept != now) && len(vf.seen) > 0 {
		oldest := int64(math.MaxInt64)
		for s := range vf.seen {
			oldest = min(oldest, s)
		}
		switch {
		case oldest < expired, vf.n > vf.limit && oldest < now:
			// Refused from now on, as too old already, but also should
			// the clock step back, which would make it young again.
			vf.floor = max(vf.floor, oldest)
		default:
			vf.swept = now
			return
		}
		vf.n -= len(vf.seen[oldest])
		delete(vf.seen, oldest)
	}
}

// ErrorHeader marks an answer a shield made itself because the origin
// gave none (it could not be reached, timed out or broke off): "error
// KIND DETAIL SIG", the kind of failure (openfront_origin_errors_total's
// kind label) and the access log's detailed result type, signed with the
// secret over the fleet request it answers. The asking node takes the
// answer for that failure, as if it had asked the origin itself. A shield
// drops the header from an origin's answer, and the signature binds it to
// one request of a node with the secret: no origin can pass one off.
const ErrorHeader = "X-Openfront-Shield-Error"

// MarkError is the ErrorHeader value of a failure of kind, with the log's
// detailed result type detail, for the fleet request with method, host
// and target (as Sign has them). Neither kind nor detail holds a space.
func MarkError(secret []byte, kind, detail, method, host, target string) string {
	head := "error " + kind + " " + detail
	return head + " " + mac(secret, head, method, host, target)
}

// VerifyError returns the kind and detail of mark v, an ErrorHeader value
// on the answer to the request with method, host and target; ok is false
// when it does not verify.
func VerifyError(secret []byte, v, method, host, target string) (kind, detail string, ok bool) {
	f := strings.Split(v, " ")
	if len(secret) == 0 || len(f) != 4 || f[0] != "error" {
		return "", "", false
	}
	head := f[0] + " " + f[1] + " " + f[2]
	if !hmac.Equal([]byte(f[3]), []byte(mac(secret, head, method, host, target))) {
		return "", "", false
	}
	return f[1], f[2], true
}
