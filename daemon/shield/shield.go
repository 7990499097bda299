// Package shield is Origin Shield between the nodes of a fleet: which node
// is the shield of a region, and the authenticator a node's origin request
// to a shield carries. A shield trusts a request only with a valid
// authenticator: a viewer's header of the same name gains nothing.
package shield

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Header carries the authenticator: "v1 TIME DIST ORIGIN BEHAVIOR HTTPS SIG".
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
	Region string              // the node's own region label
	URLs   map[string]*url.URL // the shield node of each region
	Secret []byte
}

// URL is where a request for an origin shielded in region goes: nil when
// the node is that region's shield itself, or knows none for it (the
// node then asks the origin).
func (c *Config) URL(region string) *url.URL {
	if c == nil || region == "" || region == c.Region || len(c.Secret) == 0 {
		return nil
	}
	return c.URLs[region]
}

// ParseURLs reads --origin-shield: REGION=URL[,REGION=URL...], each URL
// the http:// or https:// base of another node.
func ParseURLs(s string) (map[string]*url.URL, error) {
	out := map[string]*url.URL{}
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
		if _, dup := out[region]; dup {
			return nil, fmt.Errorf("region %q named twice", region)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		out[region] = u
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
		if !own && c.URL(r) == nil && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// Sign is the authenticator of claim c for a request: the method, the
// Host it is sent with and its target (path and query as sent).
func Sign(secret []byte, c Claim, method, host, target string, now time.Time) string {
	head := fields(c, now.Unix())
	return head + " " + mac(secret, head, method, host, target)
}

func fields(c Claim, unix int64) string {
	https := "0"
	if c.ViewerHTTPS {
		https = "1"
	}
	return "v1 " + strconv.FormatInt(unix, 10) + " " + c.Distribution + " " + c.Origin + " " + strconv.Itoa(c.Behavior) + " " + https
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

// Verify checks the authenticator v for a request and returns its claim.
func Verify(secret []byte, v, method, host, target string, now time.Time) (Claim, error) {
	var c Claim
	if len(secret) == 0 {
		return c, fmt.Errorf("%w: this node has no --origin-shield-secret", ErrInvalid)
	}
	f := strings.Split(v, " ")
	if len(f) != 7 || f[0] != "v1" {
		return c, fmt.Errorf("%w: malformed", ErrInvalid)
	}
	unix, err1 := strconv.ParseInt(f[1], 10, 64)
	b, err2 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil || (f[5] != "0" && f[5] != "1") {
		return c, fmt.Errorf("%w: malformed", ErrInvalid)
	}
	c = Claim{Distribution: f[2], Origin: f[3], Behavior: b, ViewerHTTPS: f[5] == "1"}
	if !hmac.Equal([]byte(f[6]), []byte(mac(secret, strings.Join(f[:6], " "), method, host, target))) {
		return Claim{}, fmt.Errorf("%w: wrong signature", ErrInvalid)
	}
	if age := now.Sub(time.Unix(unix, 0)); age > MaxSkew || age < -MaxSkew {
		return Claim{}, fmt.Errorf("%w: made %v ago, more than %v", ErrInvalid, age.Round(time.Second), MaxSkew)
	}
	return c, nil
}
