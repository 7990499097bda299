package access

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"peer only", "203.0.113.5:4711", nil, trusted, "203.0.113.5"},
		{"xff ignored by default", "10.1.1.1:4711", []string{"198.51.100.7"}, nil, "10.1.1.1"},
		{"xff from an untrusted peer ignored", "203.0.113.5:1", []string{"198.51.100.7"}, trusted, "203.0.113.5"},
		{"one trusted proxy", "10.1.1.1:4711", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"spoofed left entries skipped", "10.1.1.1:4711", []string{"6.6.6.6, 198.51.100.7"}, trusted, "198.51.100.7"},
		{"chain of trusted proxies", "10.1.1.1:4711", []string{"6.6.6.6, 198.51.100.7, 192.0.2.1, 10.2.2.2"}, trusted, "198.51.100.7"},
		{"several header lines", "10.1.1.1:4711", []string{"6.6.6.6, 198.51.100.7", "10.3.3.3"}, trusted, "198.51.100.7"},
		{"all trusted: the leftmost", "10.1.1.1:4711", []string{"10.9.9.9, 10.3.3.3"}, trusted, "10.9.9.9"},
		{"garbage stops at the last trusted hop", "10.1.1.1:4711", []string{"198.51.100.7, garbage, 10.3.3.3"}, trusted, "10.3.3.3"},
		{"entry with a port", "10.1.1.1:4711", []string{"198.51.100.7:5555"}, trusted, "198.51.100.7"},
		{"ipv6 peer and entry", "[2001:db8::1]:443", []string{"[2001:db9::7]:1"}, trusted, "2001:db9::7"},
		{"mapped ipv4 peer", "[::ffff:203.0.113.5]:80", nil, trusted, "203.0.113.5"},
		{"empty header", "10.1.1.1:1", []string{""}, trusted, "10.1.1.1"},
		{"bad remote", "pipe", nil, trusted, "invalid IP"},
	}
	for _, c := range cases {
		if got := ClientIP(c.remote, c.xff, c.trusted).String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("bad CIDR: %v", err)
	}
}

func TestViewerHTTPS(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	overTLS := &tls.ConnectionState{}
	for _, c := range []struct {
		name    string
		remote  string
		tls     *tls.ConnectionState
		xfp     []string
		trusted []netip.Prefix
		want    bool
	}{
		{"plain", "10.1.1.1:1", nil, nil, trusted, false},
		{"tls", "203.0.113.5:1", overTLS, nil, trusted, true},
		{"header ignored without trusted proxies", "10.1.1.1:1", nil, []string{"https"}, nil, false},
		{"header from an untrusted peer ignored", "203.0.113.5:1", nil, []string{"https"}, trusted, false},
		{"untrusted peer cannot downgrade tls", "203.0.113.5:1", overTLS, []string{"http"}, trusted, true},
		{"trusted proxy ended tls", "10.1.1.1:1", nil, []string{"https"}, trusted, true},
		{"any case", "10.1.1.1:1", nil, []string{"HTTPS"}, trusted, true},
		{"trusted proxy took plain http", "10.1.1.1:1", overTLS, []string{"http"}, trusted, false},
		{"the nearest proxy's value counts", "10.1.1.1:1", nil, []string{"https, http"}, trusted, false},
		{"over several lines", "10.1.1.1:1", nil, []string{"http", " https "}, trusted, true},
	} {
		r := &http.Request{RemoteAddr: c.remote, TLS: c.tls, Header: http.Header{}}
		if c.xfp != nil {
			r.Header["X-Forwarded-Proto"] = c.xfp
		}
		if got := ViewerHTTPS(r, c.trusted); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
