package shield

import (
	"errors"
	"strings"
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
		{"claim changed", strings.Replace(good, " site app 2 1 ", " site app 0 1 ", 1), "GET", "site.test", "/a?b=1", secret, now, false},
		{"nonce changed", good[:14] + "AAAAAAAAAAAAAAAAAAAAAA" + good[36:], "GET", "site.test", "/a?b=1", secret, now, false},
		{"the previous version's", "v1 1800000000 site app 2 1 " + good[len(good)-43:], "GET", "site.test", "/a?b=1", secret, now, false},
		{"malformed", "v1 trust me", "GET", "site.test", "/a?b=1", secret, now, false},
	} {
		got, err := NewVerifier(tc.secret, 0).Verify(tc.v, tc.method, tc.host, tc.target, tc.at)
		if tc.ok && (err != nil || got != c) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, c)
		}
		if !tc.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %+v, %v; want ErrInvalid", tc.name, got, err)
		}
	}
}

// The same authenticator twice: the second is a replay. The same request
// signed again is not.
func TestVerifierReplay(t *testing.T) {
	secret := []byte("the fleet's secret, 16+ bytes")
	now := time.Unix(1_800_000_000, 0)
	c := Claim{Distribution: "site", Origin: "app"}
	vf := NewVerifier(secret, 0)
	v := Sign(secret, c, "GET", "site.test", "/a", now)
	if _, err := vf.Verify(v, "GET", "site.test", "/a", now); err != nil {
		t.Fatal(err)
	}
	if _, err := vf.Verify(v, "GET", "site.test", "/a", now.Add(30*time.Second)); !errors.Is(err, ErrReplayed) || !errors.Is(err, ErrInvalid) {
		t.Errorf("replayed: %v, want ErrReplayed", err)
	}
	if _, err := vf.Verify(Sign(secret, c, "GET", "site.test", "/a", now), "GET", "site.test", "/a", now); err != nil {
		t.Errorf("signed again: %v", err)
	}
	var none *Verifier
	if _, err := none.Verify(v, "GET", "site.test", "/a", now); !errors.Is(err, ErrInvalid) {
		t.Errorf("no verifier: %v, want ErrInvalid", err)
	}
}

// Past its bound a Verifier forgets its oldest second and refuses what was
// made in it, never the current second's; expired seconds are forgotten.
func TestVerifierBound(t *testing.T) {
	f := newFleet(2)
	vf, now, verify := f.vf, f.now, f.verify
	sign := func(ago int) string { return f.sign(now.Add(-time.Duration(ago) * time.Second)) }
	old, older := sign(5), sign(10)
	for _, v := range []string{older, old, sign(0)} {
		if err := verify(v, now); err != nil {
			t.Fatal(err)
		}
	}
	// Three nonces: the one made 10 s ago is forgotten, and its second refused.
	for name, v := range map[string]string{"forgotten replay": older, "new in the forgotten second": sign(10)} {
		if err := verify(v, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	if err := verify(old, now); !errors.Is(err, ErrReplayed) {
		t.Errorf("replay of a remembered one: %v, want ErrReplayed", err)
	}
	// The current second is never forgotten, however many.
	var current []string
	for range 5 {
		current = append(current, sign(0))
		if err := verify(current[len(current)-1], now); err != nil {
			t.Fatalf("current second past the bound: %v", err)
		}
	}
	for _, v := range current {
		if err := verify(v, now); !errors.Is(err, ErrReplayed) {
			t.Errorf("replay in the current second: %v, want ErrReplayed", err)
		}
	}
	// Two minutes on, all that is left is the new one's.
	later := now.Add(2 * MaxSkew)
	if err := verify(f.sign(later), later); err != nil {
		t.Fatal(err)
	}
	if vf.n != 1 || len(vf.seen) != 1 {
		t.Errorf("%d nonces in %d seconds remembered, want 1 in 1", vf.n, len(vf.seen))
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
		{"eu-west-1=https://a,eu-west-1=https://b", true}, // b is a's secondary
		{"eu-west-1=https://a,eu-west-1=https://a/", false},
	} {
		if _, err := ParseURLs(tc.in); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

// A shield whose clock steps back does not take again an authenticator
// whose nonce it forgot as expired.
func TestVerifierClockStepsBack(t *testing.T) {
	f := newFleet(0)
	v := f.sign(f.now)
	if err := f.verify(v, f.now); err != nil {
		t.Fatal(err)
	}
	// A minute and a second on, v's second is forgotten (v too old).
	later := f.now.Add(MaxSkew + time.Second)
	if err := f.verify(f.sign(later), later); err != nil {
		t.Fatal(err)
	}
	// The clock steps back: v would be young enough again.
	back := f.now.Add(30 * time.Second)
	if err := f.verify(v, back); !errors.Is(err, ErrInvalid) {
		t.Errorf("replayed after the clock stepped back: %v, want refused", err)
	}
	if err := f.verify(f.sign(back), back); err != nil {
		t.Errorf("a new authenticator after the step: %v", err)
	}
}

// fleet signs and verifies one request of a fleet node.
type fleet struct {
	secret []byte
	now    time.Time
	vf     *Verifier
}

func newFleet(limit int) fleet {
	secret := []byte("the fleet's secret, 16+ bytes")
	return fleet{secret, time.Unix(1_800_000_000, 0), NewVerifier(secret, limit)}
}

func (f fleet) sign(at time.Time) string {
	return Sign(f.secret, Claim{Distribution: "site", Origin: "app"}, "GET", "site.test", "/a", at)
}

func (f fleet) verify(v string, at time.Time) error {
	_, err := f.vf.Verify(v, "GET", "site.test", "/a", at)
	return err
}

// A shield's error mark holds only for the request it answers, under the
// fleet's secret; a request's authenticator is none.
func TestVerifyError(t *testing.T) {
	secret := []byte("the fleet's secret, 16+ bytes")
	good := MarkError(secret, "connect", "OriginConnectError", "GET", "site.test", "/a?b=1")
	auth := Sign(secret, Claim{Distribution: "site", Origin: "app"}, "GET", "site.test", "/a?b=1", time.Now())
	for _, tc := range []struct {
		name, v, method, host, target string
		secret                        []byte
		ok                            bool
	}{
		{"valid", good, "GET", "site.test", "/a?b=1", secret, true},
		{"another method", good, "HEAD", "site.test", "/a?b=1", secret, false},
		{"another host", good, "GET", "other.test", "/a?b=1", secret, false},
		{"another target", good, "GET", "site.test", "/a?b=2", secret, false},
		{"another secret", good, "GET", "site.test", "/a?b=1", []byte("someone else's secret"), false},
		{"no secret", good, "GET", "site.test", "/a?b=1", nil, false},
		{"kind changed", strings.Replace(good, " connect ", " timeout ", 1), "GET", "site.test", "/a?b=1", secret, false},
		{"a request's authenticator", auth, "GET", "site.test", "/a?b=1", secret, false},
		{"malformed", "error connect", "GET", "site.test", "/a?b=1", secret, false},
	} {
		kind, detail, ok := VerifyError(tc.secret, tc.v, tc.method, tc.host, tc.target)
		if ok != tc.ok || ok && (kind != "connect" || detail != "OriginConnectError") {
			t.Errorf("%s: %q %q %v, want ok %v", tc.name, kind, detail, ok, tc.ok)
		}
	}
}
