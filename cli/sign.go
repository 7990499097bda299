package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"openfront.dev/internal/signedurl"
)

func init() {
	register("sign", command{
		summary: "make a CloudFront signed URL or signed cookies with a key group's private key",
		usage:   signUsage,
		examples: []string{
			"sign --key-pair-id K2JCJMDEHXQW5F --private-key private.pem --url https://www.example.com/video.mp4 --expires 1h",
			"sign --key-pair-id K2JCJMDEHXQW5F --private-key private.pem --url https://www.example.com/videos/intro.mp4 --resource 'https://www.example.com/videos/*' --expires 2026-12-31T00:00:00Z --cookies",
		},
		run: runSign,
	})
}

const signUsage = "sign --key-pair-id ID --private-key FILE --url URL (--expires DURATION|TIME) [--not-before TIME] [--ip CIDR] [--resource PATTERN] [--cookies [--cookie-domain DOMAIN] [--cookie-path /]] [--sha256]"

// signNow is the clock relative durations start from; tests set it.
var signNow = time.Now

func runSign(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sign", signUsage, stderr)
	keyID := fs.String("key-pair-id", "", "`ID` of the public key in the key group (the Key-Pair-Id)")
	keyFile := fs.String("private-key", "", "PEM RSA or ECDSA P-256 private key `FILE` (PKCS #1, SEC 1 or PKCS #8)")
	rawURL := fs.String("url", "", "the `URL` to sign, as viewers will request it")
	expires := fs.String("expires", "", "when the signature expires: a `DURATION` from now (90m, 12h, 7d), an RFC 3339 TIME or Unix seconds")
	notBefore := fs.String("not-before", "", "`TIME` before which it is not valid (custom policy)")
	ip := fs.String("ip", "", "viewer address `CIDR` allowed (custom policy)")
	resource := fs.String("resource", "", "resource `PATTERN` with * and ? wildcards, e.g. https://host/live/* (custom policy)")
	cookies := fs.Bool("cookies", false, "print Set-Cookie lines instead of a URL")
	sha256 := fs.Bool("sha256", false, "sign with SHA-256 (Hash-Algorithm=SHA256) instead of SHA-1")
	domain := fs.String("cookie-domain", "", "Domain attribute `DOMAIN` of the cookies (default: none, the host that sets them)")
	path := fs.String("cookie-path", "/", "Path attribute `PATH` of the cookies")
	pos, err := parseFlags(fs, args)
	if p := required(fs, "key-pair-id", "private-key", "url", "expires"); err != nil || p != "" || len(pos) != 0 {
		return badUsage(fs, err, p, positional(pos))
	}
	p, err := signPolicy(*rawURL, *expires, *notBefore, *ip, *resource, signNow())
	if err != nil {
		fmt.Fprintf(stderr, "openfront sign: %v\n", err)
		return exitUsage
	}
	pemBytes, err := os.ReadFile(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "openfront sign: %v\n", err)
		return exitFail
	}
	key, err := signedurl.ParsePrivateKey(pemBytes)
	if err != nil {
		fmt.Fprintf(stderr, "openfront sign: %s: %v\n", *keyFile, err)
		return exitFail
	}
	s := signedurl.Signer{KeyPairID: *keyID, Key: key, SHA256: *sha256}
	if !*cookies {
		u, err := s.SignURL(*rawURL, p)
		if err != nil {
			fmt.Fprintf(stderr, "openfront sign: %v\n", err)
			return exitUsage
		}
		fmt.Fprintln(stdout, u)
		return exitOK
	}
	cs, err := s.SignCookies(*rawURL, p)
	if err != nil {
		fmt.Fprintf(stderr, "openfront sign: %v\n", err)
		return exitUsage
	}
	for _, c := range cs {
		// Session cookies (no Expires), as CloudFront advises: the browser
		// drops them when it closes.
		c.Domain, c.Path = *domain, *path
		c.Secure = strings.HasPrefix(*rawURL, "https://")
		c.HttpOnly = true
		line := c.String()
		if line == "" {
			fmt.Fprintf(stderr, "openfront sign: invalid cookie attributes (--cookie-domain %q, --cookie-path %q)\n", *domain, *path)
			return exitUsage
		}
		fmt.Fprintln(stdout, "Set-Cookie: "+line)
	}
	return exitOK
}

// signPolicy builds the policy from the flags, refusing one whose URL
// would be denied anyway.
func signPolicy(rawURL, expires, notBefore, ip, resource string, now time.Time) (signedurl.Policy, error) {
	var p signedurl.Policy
	var err error
	if p.Expires, err = parseWhen(expires, now); err != nil {
		return p, fmt.Errorf("--expires: %w", err)
	}
	if !p.Expires.After(now) {
		hint := ""
		if _, err := strconv.Atoi(expires); err == nil {
			hint = "; a bare number is Unix seconds, write " + expires + "s for a duration"
		}
		return p, fmt.Errorf("--expires %s is in the past (%s)%s", expires, p.Expires.UTC().Format(time.RFC3339), hint)
	}
	if notBefore != "" {
		if p.NotBefore, err = parseWhen(notBefore, now); err != nil {
			return p, fmt.Errorf("--not-before: %w", err)
		}
		if !p.NotBefore.Before(p.Expires) {
			return p, errors.New("--not-before is not before --expires")
		}
	}
	if ip != "" {
		if p.IP, err = parseCIDR(ip); err != nil {
			return p, fmt.Errorf("--ip: %w", err)
		}
	}
	if resource == "" && strings.Contains(rawURL, "*") {
		// A canned policy holds the URL itself, so the * matches only a
		// literal *: a pattern needs a custom policy.
		return p, fmt.Errorf("--url %s: a wildcard needs a custom policy: give the pattern with --resource '%s' and a URL it matches with --url", rawURL, rawURL)
	}
	if resource != "" {
		p.Resource = resource
		if !signedurl.MatchResource(resource, rawURL) {
			return p, fmt.Errorf("--url %s does not match --resource %s, so it would be refused", rawURL, resource)
		}
	}
	return p, nil
}

// parseWhen reads a DURATION from now (Go's syntax, plus whole days as
// "7d"), an RFC 3339 time or date, or Unix seconds.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil {
			return now.AddDate(0, 0, days), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a duration (90m, 12h, 7d), an RFC 3339 time (2026-01-02T15:04:05Z) or Unix seconds", s)
}

func parseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 192.0.2.0/24", s)
}
