package shield

import (
	"errors"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	secret := []byte("the fleet's secret, 16+ bytes")
	now := time.Unix(1_800_000_000, 0)
	c := Claim{Distribution: "site", Origin: "app", Behavior: 2, ViewerHTTPS: true}
	good := Sign(secret, c, "GET", "site.test", "/a?b=1", now)
	for _, tc := range []struct {
		name, v, method, host, target string
		secret                        []byte
		at                            time.Time
		ok                            bool
	}{
		{"valid", good, "GET", "site.test", "/a?b=1", secret, now, true},
		{"clock a little ahead", good, "GET", "site.test", "/a?b=1", secret, now.Add(-50 * time.Second), true},
		{"another method", good, "POST", "site.test", "/a?b=1", secret, now, false},
		{"another host", good, "GET", "other.test", "/a?b=1", secret, now, false},
		{"another target", good, "GET", "site.test", "/a?b=2", secret, now, false},
		{"another secret", good, "GET", "site.test", "/a?b=1", []byte("someone else's secret"), now, false},
		{"no secret", good, "GET", "site.test", "/a?b=1", nil, now, false},
		{"too old", good, "GET", "site.test", "/a?b=1", secret, now.Add(2 * time.Minute), false},
		{"claim changed", "v1 1800000000 site app 0 1 " + good[len(good)-43:], "GET", "site.test", "/a?b=1", secret, now, false},
		{"malformed", "v1 trust me", "GET", "site.test", "/a?b=1", secret, now, false},
	} {
		got, err := Verify(tc.secret, tc.v, tc.method, tc.host, tc.target, tc.at)
		if tc.ok && (err != nil || got != c) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, c)
		}
		if !tc.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %+v, %v; want ErrInvalid", tc.name, got, err)
		}
	}
}

func TestParseURLs(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"eu-west-1=https://shield.example.net:8443,us-east-1=http://10.0.0.5:8080/", true},
		{"", true},
		{"eu-west-1", false},
		{"eu-west-1=ftp://x", false},
		{"eu-west-1=https://", false},
		{"eu-west-1=https://a,eu-west-1=https://b", false},
	} {
		if _, err := ParseURLs(tc.in); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}
