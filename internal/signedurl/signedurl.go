// Package signedurl checks and makes CloudFront-compatible signed URLs and
// signed cookies. It is pure and does no I/O: the edge (daemon/edge,
// daemon/rtmp) checks served requests with it, and openfront route and
// vet's route tests check the URLs they are given, so all say the same.
//
// On the request path, a behavior with trustedKeyGroups asks
// Verifier.VerifyBehavior with NewRequest(r, ...) and answers a denial with
// 403 and Decision.Reason. For such a behavior the origin request and the
// cache key use StripSignature(query) and drop the cookies
// IsSignatureCookie names.
package signedurl

import (
	"crypto"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"openfront.dev/compiler/table"
)

// Request is what a signature is checked against: the request target exactly
// as the viewer sent it, its cookies, the client's address and the time.
type Request struct {
	Scheme   string // "http" or "https", as the viewer connected
	Host     string // the Host header; lowercased and stripped of the scheme's default port for the signed resource
	RawPath  string // the path of the request target, not decoded
	RawQuery string // the query of the request target, without "?", not decoded
	// Cookies are the Cookie header lines (r.Header["Cookie"]).
	Cookies  []string
	ClientIP netip.Addr
	Now      time.Time
	// AnyTime takes the policy's time conditions (Expires, DateLessThan,
	// DateGreaterThan) as holding, whatever Now: vet's route tests check
	// a test URL's signature, resource and address, not when they run.
	AnyTime bool
}

// NewRequest takes the request target from r.RequestURI, which holds the
// path and query exactly as sent (r.URL is decoded and may be re-encoded).
func NewRequest(r *http.Request, scheme string, client netip.Addr, now time.Time) Request {
	path, query := SplitRequestURI(r.RequestURI)
	if r.RequestURI == "" { // a request made in Go, not read from the wire
		path, query = r.URL.EscapedPath(), r.URL.RawQuery
	}
	return Request{Scheme: scheme, Host: r.Host, RawPath: path, RawQuery: query,
		Cookies: r.Header["Cookie"], ClientIP: client, Now: now}
}

// Check is the edge's signature check of a request given as a URL rather
// than read from the wire, as openfront route gives one: u's scheme, path
// (URLPath) and query, the Host, the Cookie header lines and the viewer's
// address, at now. It is VerifyBehavior, so it says what the edge does.
func Check(t *table.Table, b *table.Behavior, u *url.URL, host string, cookies []string, client netip.Addr, now time.Time) Decision {
	req := urlRequest(u, host, cookies, client)
	req.Now = now
	return checkRequest(t, b, req)
}

// CheckAnyTime is Check with the signature's dates taken as holding, as
// vet's route tests check: a config that vets keeps vetting, on a node
// that loads it later too, after its tests' URLs expire.
func CheckAnyTime(t *table.Table, b *table.Behavior, u *url.URL, host string, cookies []string, client netip.Addr) Decision {
	req := urlRequest(u, host, cookies, client)
	req.AnyTime = true
	return checkRequest(t, b, req)
}

func urlRequest(u *url.URL, host string, cookies []string, client netip.Addr) Request {
	return Request{Scheme: u.Scheme, Host: host, RawPath: URLPath(u), RawQuery: u.RawQuery,
		Cookies: cookies, ClientIP: client}
}

func checkRequest(t *table.Table, b *table.Behavior, req Request) Decision {
	var v Verifier // no cache: one request
	return v.VerifyBehavior(req, t, b)
}

// URLPath is the path a client sends for u, undecoded, which is how the
// edge reads it: u.RawPath as written, where net/url's EscapedPath would
// re-escape "/a|b%2Fc" as "/a%7Cb%2Fc". A path a client cannot send as
// typed (a space, non-ASCII) is escaped as a client does.
func URLPath(u *url.URL) string {
	path := u.RawPath
	if path == "" || strings.ContainsFunc(path, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	return path
}

// SplitRequestURI splits a request target into its raw path and query,
// dropping the scheme and authority of an absolute-form target.
func SplitRequestURI(uri string) (rawPath, rawQuery string) {
	if i := strings.Index(uri, "://"); i > 0 && !strings.HasPrefix(uri, "/") {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			uri = rest[j:]
		} else {
			uri = ""
		}
		if uri == "" || uri[0] == '?' {
			uri = "/" + uri
		}
	}
	// A "#" is kept: no client sends a fragment, and the edge routes a
	// path holding one whole ("/free/x#/../../paid/a" is /paid/a to the
	// behaviors and to an origin), so the policy must see all of it.
	path, query, _ := strings.Cut(uri, "?")
	return path, query
}

// Decision is the outcome of Verify. A denial is a 403 with ErrorCode and
// ErrorMessage in CloudFront's XML body, and Reason beside it for the developer.
type Decision struct {
	Allowed bool
	// Code is short and stable, for metrics labels: one of the Code* constants.
	Code string
	// Reason is a sentence a developer can act on.
	Reason string
	// Via says what carried the signature: ViaURL, ViaCookie, or "" (none needed).
	Via string
	// KeyPairID is the key that signed, when one was named.
	KeyPairID string
	// ErrorCode and ErrorMessage are what CloudFront puts in its XML 403
	// for this denial: viewers' tooling matches on them, and they say less
	// than Reason (a signature that does not verify and an expired one are
	// both AccessDenied).
	ErrorCode, ErrorMessage string
}

// CloudFront's <Code> and <Message> for the signature denials, as its 403s
// give them (cloudfront-troubleshoot-signed-url-cookies, and bodies quoted
// in aws-sdk-js#2236 and commitdev/zero#287).
const (
	errMissingKey         = "MissingKey"
	errInvalidKey         = "InvalidKey"
	errMalformedPolicy    = "MalformedPolicy"
	errMalformedSignature = "MalformedSignature"
	errAccessDenied       = "AccessDenied"
)

// Decision codes.
const (
	CodeMissingKeyPairID = "missing-key-pair-id"
	CodeUnknownKey       = "unknown-key"
	CodeExpired          = "expired"
	CodeNotYetValid      = "not-yet-valid"
	CodeBadSignature     = "bad-signature"
	CodeResourceMismatch = "resource-mismatch"
	CodeIPMismatch       = "ip-mismatch"
	CodeMalformed        = "malformed"
)

// Codes lists every denial code, for registering metrics up front.
var Codes = []string{CodeMissingKeyPairID, CodeUnknownKey, CodeExpired, CodeNotYetValid,
	CodeBadSignature, CodeResourceMismatch, CodeIPMismatch, CodeMalformed}

// What carried a signature.
const (
	ViaURL    = "signed-url"
	ViaCookie = "signed-cookie"
)

// Verifier checks signatures, remembering recently verified ones so a popular
// signed URL costs one RSA or ECDSA verification, not one per request. The cache holds
// only (key, digest, signature) triples that verified: the policy's dates,
// resource and address are checked on every request, so it cannot extend a
// signature's life. The zero value verifies without a cache.
type Verifier struct {
	cache    *genCache[sigKey, []byte] // verified signatures
	policies *genCache[rawCredential, policy]
	canned   *genCache[rawCredential, string] // the resource each verified for
}

// NewVerifier returns a verifier caching up to about 2*size verified signatures.
func NewVerifier(size int) *Verifier {
	if size <= 0 {
		return &Verifier{}
	}
	return &Verifier{cache: newGenCache[sigKey, []byte](size), policies: newGenCache[rawCredential, policy](size),
		canned: newGenCache[rawCredential, string](size)}
}

// Verify checks req against a behavior's trusted key groups. With no groups
// the behavior is public and signature parameters mean nothing.
func Verify(req Request, trusted []*table.KeyGroup) Decision {
	var v Verifier
	return v.Verify(req, trusted)
}

// Verify checks req against a behavior's trusted key groups.
func (v *Verifier) Verify(req Request, trusted []*table.KeyGroup) Decision {
	if len(trusted) == 0 {
		return Decision{Allowed: true}
	}
	return v.verify(&req, keySource{groups: trusted})
}

// VerifyBehavior checks req against b's trustedKeyGroups, looked up in t,
// without building a slice of groups per request.
func (v *Verifier) VerifyBehavior(req Request, t *table.Table, b *table.Behavior) Decision {
	if len(b.Spec.TrustedKeyGroups) == 0 {
		return Decision{Allowed: true}
	}
	return v.verify(&req, keySource{table: t, ids: b.Spec.TrustedKeyGroups})
}

// keySource finds a public key by Key-Pair-Id in a behavior's trusted groups:
// one map lookup per group, never a trial of every key.
type keySource struct {
	groups []*table.KeyGroup
	table  *table.Table
	ids    []string
}

func (s keySource) key(id string) crypto.PublicKey {
	for _, g := range s.groups {
		if k := g.Keys[id]; k != nil {
			return k
		}
	}
	for _, gid := range s.ids {
		if g := s.table.KeyGroup(gid); g != nil {
			if k := g.Keys[id]; k != nil {
				return k
			}
		}
	}
	return nil
}
