package signedurl

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	"openfront.dev/compiler/table"
)

// CloudFront's own 403 message for a missing or empty Key-Pair-Id, which
// viewers and their tooling look for (cloudfront-troubleshoot-signed-url-cookies);
// an unknown key's reason likewise starts with its "Unknown Key".
const msgMissingKeyPairID = "Missing Key-Pair-Id query parameter or cookie value"

// Limits on what a viewer may send, far above what signers produce.
const (
	maxPolicy    = 8 << 10 // decoded policy bytes
	maxSignature = 1024    // decoded signature bytes (RSA-8192)
)

func (v *Verifier) verify(req *Request, keys keySource) Decision {
	var c credentials
	via := ViaURL
	if !c.fromQuery(req.RawQuery) {
		// Not a signed URL: the cookies carry everything.
		via = ViaCookie
		if !c.fromCookies(req.Cookies) {
			return deny(CodeMissingKeyPairID, "", "", msgMissingKeyPairID+": this path needs a signed URL or signed cookies.")
		}
	}
	// Reasons name things as the viewer sent them.
	what, has, is := "signed URL", "has", "is"
	names := SignatureParams
	field := func(p param) string { return "The signed URL's " + names[p] }
	if via == ViaCookie {
		what, has, is = "signed cookies", "have", "are"
		names = SignatureCookies
		field = func(p param) string { return "The " + names[p] + " cookie" }
	}
	if c.dup != "" {
		return deny(CodeMalformed, via, "", "The "+what+" "+has+" the parameter "+c.dup+" more than once.")
	}
	keyID, ok := unescape(c.v[pKeyPairID])
	if !c.has[pKeyPairID] || keyID == "" {
		return deny(CodeMissingKeyPairID, via, "", msgMissingKeyPairID+": the "+what+" "+has+" no "+names[pKeyPairID]+"; add the id of the public key that signed it.")
	}
	if !ok {
		return deny(CodeMalformed, via, "", field(pKeyPairID)+" is not validly percent-encoded.")
	}
	d := func(code, reason string) Decision { return deny(code, via, keyID, reason) }
	if !c.has[pSignature] {
		return d(CodeMalformed, "The "+what+" "+has+" no "+names[pSignature]+".")
	}
	custom := c.has[pPolicy]
	if via == ViaURL && custom && c.has[pExpires] {
		return d(CodeMalformed, "The signed URL has both Expires and Policy: a canned policy has Expires, a custom one Policy.")
	}
	if !custom && !c.has[pExpires] {
		return d(CodeMalformed, "The "+what+" "+has+" neither "+names[pExpires]+" (canned policy) nor "+names[pPolicy]+" (custom policy).")
	}
	hash := crypto.SHA1
	if c.has[pHashAlgorithm] {
		switch alg, _ := unescape(c.v[pHashAlgorithm]); {
		case strings.EqualFold(alg, "SHA256"):
			hash = crypto.SHA256
		case strings.EqualFold(alg, "SHA1"):
		default:
			return d(CodeMalformed, field(pHashAlgorithm)+" is "+quote(alg)+"; CloudFront knows SHA1 (the default) and SHA256.")
		}
	}
	pub := keys.key(keyID)
	if pub == nil {
		return d(CodeUnknownKey, "Unknown Key: "+names[pKeyPairID]+" "+quote(keyID)+" is not in a key group this path trusts (the behavior's trustedKeyGroups).")
	}

	// The signed resource: scheme://host, then the raw path and query as sent
	// without the signature parameters.
	var resBuf [1024]byte
	resource := appendResource(resBuf[:0], req)

	now := req.Now.Unix()
	if req.Now.IsZero() { // never let a missing clock make everything valid
		now = time.Now().Unix()
	}
	// A custom policy seen before with the same key and signature was
	// verified and parsed then: only its conditions are checked again.
	raw := rawCredential{pub: pub, hash: hash, policy: c.v[pPolicy], sig: c.v[pSignature]}
	if custom {
		if p, ok := v.cachedPolicy(raw); ok {
			if code, reason := checkPolicy(p, resource, now, req, what, is); code != "" {
				return d(code, reason)
			}
			return Decision{Allowed: true, Via: via, KeyPairID: keyID}
		}
	} else {
		// A canned signature seen before with the same Expires text verified
		// for the resource remembered with it: for that resource only the
		// expiry is checked again (no base64, SHA-1 or digest lookup).
		raw.policy = c.v[pExpires]
		if res, ok := v.cachedCanned(raw); ok && res == string(resource) {
			e, _ := unescape(raw.policy)
			expires, _ := parseEpoch(e) // valid: it verified
			if !req.AnyTime && now >= expires {
				return d(CodeExpired, expiredReason(what, expires, now))
			}
			return Decision{Allowed: true, Via: via, KeyPairID: keyID}
		}
	}

	// Not cached: decode and verify, in pooled buffers (on the stack they
	// would make every cached check grow the goroutine's stack).
	buf := scratchPool.Get().(*scratch)
	defer scratchPool.Put(buf)
	var sig []byte
	err := errBase64
	if len(c.v[pSignature]) <= 3*2*maxSignature { // base64, maybe percent-encoded
		sig, err = decodeBase64(buf.sig[:0], buf.tmp[:0], c.v[pSignature])
	}
	if err != nil || len(sig) > maxSignature {
		return malformedSignature(d(CodeMalformed, field(pSignature)+" is not CloudFront's URL-safe base64 ('-' '_' '~' for '+' '=' '/')."))
	}

	var msg []byte
	var expires int64
	if custom {
		var err error
		if len(c.v[pPolicy]) > maxPolicy*2 {
			return malformedPolicy(d(CodeMalformed, field(pPolicy)+" is too long."))
		}
		msg, err = decodeBase64(buf.msg[:0], buf.tmp[:0], c.v[pPolicy])
		if err != nil || len(msg) > maxPolicy {
			return malformedPolicy(d(CodeMalformed, field(pPolicy)+" is not CloudFront's URL-safe base64 ('-' '_' '~' for '+' '=' '/')."))
		}
	} else {
		e, ok := unescape(c.v[pExpires])
		var valid bool
		if expires, valid = parseEpoch(e); !ok || !valid {
			return d(CodeMalformed, field(pExpires)+" is "+quote(e)+", not a Unix time in seconds.")
		}
		msg = appendCannedPolicy(buf.msg[:0], resource, expires)
	}

	if !v.verified(pub, hash, msg, sig) {
		if custom {
			return d(CodeBadSignature, "Bad signature: the "+names[pSignature]+" does not match the "+names[pPolicy]+" for key "+quote(keyID)+"; the policy was changed after signing, or signed with another key or hash algorithm.")
		}
		if via == ViaCookie {
			return d(CodeBadSignature, "Bad signature: the CloudFront-Signature does not match this URL and CloudFront-Expires for key "+quote(keyID)+"; a canned-policy cookie is valid for the one URL it was signed for (use CloudFront-Policy for many), or it was signed with another key or hash algorithm.")
		}
		return d(CodeBadSignature, "Bad signature: the "+names[pSignature]+" does not match this URL and "+names[pExpires]+" for key "+quote(keyID)+"; the URL was changed after signing (path, query, host or scheme), or signed with another key or hash algorithm.")
	}

	if !custom {
		v.rememberCanned(raw, resource)
		if !req.AnyTime && now >= expires {
			return d(CodeExpired, expiredReason(what, expires, now))
		}
		return Decision{Allowed: true, Via: via, KeyPairID: keyID}
	}
	p, err := parsePolicy(msg)
	if err != nil {
		return malformedPolicy(d(CodeMalformed, "The policy of the "+what+" is malformed: "+err.Error()+"."))
	}
	v.rememberPolicy(raw, p)
	if code, reason := checkPolicy(p, resource, now, req, what, is); code != "" {
		return d(code, reason)
	}
	return Decision{Allowed: true, Via: via, KeyPairID: keyID}
}

// scratch holds what verifying a signature decodes: the signature, the
// policy or canned statement, and the base64 text translated. Nothing
// derived from it outlives verify (verified and parsePolicy copy).
type scratch struct {
	sig [512]byte
	msg [2048]byte
	tmp [2048]byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// checkPolicy applies a verified custom policy's conditions to the request:
// the denial's code and reason, or "" when they hold. With req.AnyTime the
// dates hold and the address is still checked.
func checkPolicy(p policy, resource []byte, now int64, req *Request, what, is string) (code, reason string) {
	if p.hasResource && !match(p.resource, resource) {
		return CodeResourceMismatch, "Resource mismatch: the policy is for " + quote(string(p.resource)) + ", not " + quote(string(resource)) + "."
	}
	// The edge picks the behavior, and the origin the object, by the path
	// with its dot segments resolved (table.MatchPath): matched as sent
	// alone, "https://h/free/*" would let in /free/../paid/a. A wildcard
	// must hold for that path too. Only then: a Resource keeps the escapes
	// and slashes its signer wrote (%7E for ~), which MatchPath would not.
	if p.hasResource && req.Scheme != "rtmp" && table.HasDotSegment(req.RawPath) {
		if norm := table.MatchPath(req.RawPath); norm != req.RawPath {
			r := *req
			r.RawPath = norm
			if normalized := appendResource(nil, &r); !match(p.resource, normalized) {
				return CodeResourceMismatch, "Resource mismatch: the policy is for " + quote(string(p.resource)) + ", not " + quote(string(normalized)) + ", the path " + quote(req.RawPath) + " resolves to."
			}
		}
	}
	if p.hasGreater && !req.AnyTime && now < p.greaterThan {
		return CodeNotYetValid, "The " + what + " " + is + " not valid before " + epoch(p.greaterThan) + " (now " + epoch(now) + ")."
	}
	if !req.AnyTime && now >= p.lessThan {
		return CodeExpired, expiredReason(what, p.lessThan, now)
	}
	if p.ip.IsValid() && (!req.ClientIP.IsValid() || !p.ip.Contains(req.ClientIP.Unmap())) {
		return CodeIPMismatch, "IP mismatch: the policy allows " + p.ip.String() + ", and the viewer's address is " + addrString(req) + "."
	}
	return "", ""
}

func deny(code, via, keyID, reason string) Decision {
	d := Decision{Code: code, Reason: reason, Via: via, KeyPairID: keyID,
		ErrorCode: errAccessDenied, ErrorMessage: "Access denied"}
	switch code {
	case CodeMissingKeyPairID:
		d.ErrorCode, d.ErrorMessage = errMissingKey, msgMissingKeyPairID
	case CodeUnknownKey:
		d.ErrorCode, d.ErrorMessage = errInvalidKey, "Unknown Key"
	}
	return d
}

// malformedPolicy and malformedSignature are denials CloudFront answers with
// codes of their own, where the rest of CodeMalformed is AccessDenied.
func malformedPolicy(d Decision) Decision {
	d.ErrorCode, d.ErrorMessage = errMalformedPolicy, "Malformed Policy"
	return d
}

func malformedSignature(d Decision) Decision {
	d.ErrorCode, d.ErrorMessage = errMalformedSignature, "Could not unencode Signature"
	return d
}

// appendResource appends scheme://host + raw path + "?" + the query without
// signature parameters (no "?" when nothing is left). For RTMP, CloudFront
// signs the stream name alone: the path without its leading "/" and the query.
func appendResource(buf []byte, req *Request) []byte {
	if req.Scheme == "rtmp" {
		buf = append(buf, strings.TrimLeft(req.RawPath, "/")...)
		n := len(buf)
		buf = append(buf, '?')
		buf, kept := appendStripped(buf, req.RawQuery)
		if !kept {
			buf = buf[:n]
		}
		return buf
	}
	buf = append(buf, req.Scheme...)
	buf = append(buf, "://"...)
	buf = appendHost(buf, req.Scheme, req.Host)
	buf = append(buf, req.RawPath...)
	n := len(buf)
	buf = append(buf, '?')
	buf, kept := appendStripped(buf, req.RawQuery)
	if !kept {
		buf = buf[:n]
	}
	return buf
}

// appendHost appends host in lower case, without the scheme's default port:
// a signer writes https://example.com/, whatever Host header the client sends.
func appendHost(buf []byte, scheme, host string) []byte {
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = host[:len(host)-4]
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = host[:len(host)-3]
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// verified checks a signature of msg by pub, through the cache.
func (v *Verifier) verified(pub crypto.PublicKey, hash crypto.Hash, msg, sig []byte) bool {
	var digest [32]byte
	var sum []byte
	if hash == crypto.SHA256 {
		digest = sha256.Sum256(msg)
		sum = digest[:]
	} else {
		d := sha1.Sum(msg)
		copy(digest[:], d[:])
		sum = digest[:sha1.Size]
	}
	k := sigKey{pub: pub, hash: hash, digest: digest}
	if v != nil && v.cache != nil {
		if s, ok := v.cache.get(k); ok && bytes.Equal(s, sig) {
			return true
		}
	}
	if !verifySignature(pub, hash, sum, sig) {
		return false
	}
	if v != nil && v.cache != nil {
		v.cache.add(k, bytes.Clone(sig))
	}
	return true
}

// verifySignature checks sig over the digest sum with pub: RSA PKCS #1
// v1.5, or ECDSA P-256 with the signature in ASN.1 DER. CloudFront hashes
// with SHA-1 unless Hash-Algorithm=SHA256 for ECDSA keys as for RSA ones
// (aws/aws-sdk-java-v2#6627 signs SHA1withECDSA; aws/aws-lc-rs#1214 added
// ECDSA_P256_SHA1_ASN1 to verify CloudFront's signed URLs), and the
// signature is DER, what Go's crypto.Signer and the AWS SDKs produce.
func verifySignature(pub crypto.PublicKey, hash crypto.Hash, sum, sig []byte) bool {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, hash, sum, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, sum, sig)
	}
	return false
}

// rawCredential is a credential as the viewer sent it (still encoded): its
// Policy (custom) or Expires (canned) and its Signature. With the key and
// hash it decides a custom policy's verification entirely, and a canned
// one's together with the signed resource.
type rawCredential struct {
	pub         crypto.PublicKey
	hash        crypto.Hash
	policy, sig string
}

// cachedCanned returns the resource a canned credential verified for.
func (v *Verifier) cachedCanned(raw rawCredential) (string, bool) {
	if v == nil || v.canned == nil {
		return "", false
	}
	return v.canned.get(raw)
}

// rememberCanned keeps a verified canned credential with its resource, in
// strings of its own.
func (v *Verifier) rememberCanned(raw rawCredential, resource []byte) {
	if v == nil || v.canned == nil {
		return
	}
	raw.policy, raw.sig = strings.Clone(raw.policy), strings.Clone(raw.sig)
	v.canned.add(raw, string(resource))
}

// cachedPolicy returns the parsed policy of a credential that verified before.
func (v *Verifier) cachedPolicy(raw rawCredential) (policy, bool) {
	if v == nil || v.policies == nil {
		return policy{}, false
	}
	return v.policies.get(raw)
}

// rememberPolicy keeps a verified credential's parsed policy (parsePolicy
// gives it its own resource), owning its strings: the request's memory is
// not retained.
func (v *Verifier) rememberPolicy(raw rawCredential, p policy) {
	if v == nil || v.policies == nil {
		return
	}
	raw.policy, raw.sig = strings.Clone(raw.policy), strings.Clone(raw.sig)
	v.policies.add(raw, p)
}

// sigKey identifies a verification: the key, the hash and the message's digest.
type sigKey struct {
	pub    crypto.PublicKey
	hash   crypto.Hash
	digest [32]byte
}

// genCache is a map in two generations: when the current one fills, it
// becomes the old one and the oldest is dropped. Bounded at 2*size.
type genCache[K comparable, V any] struct {
	mu       sync.RWMutex
	size     int
	cur, old map[K]V
}

func newGenCache[K comparable, V any](size int) *genCache[K, V] {
	return &genCache[K, V]{size: size, cur: make(map[K]V, size)}
}

func (c *genCache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.cur[k]
	if !ok {
		v, ok = c.old[k]
	}
	c.mu.RUnlock()
	return v, ok
}

func (c *genCache[K, V]) add(k K, v V) {
	c.mu.Lock()
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, make(map[K]V, c.size)
	}
	c.cur[k] = v
	c.mu.Unlock()
}

func expiredReason(what string, at, now int64) string {
	return "The " + what + " expired at " + epoch(at) + " (now " + epoch(now) + ")."
}

func epoch(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

func addrString(req *Request) string {
	if !req.ClientIP.IsValid() {
		return "unknown"
	}
	return req.ClientIP.Unmap().String()
}

// quote quotes a viewer-supplied value for a reason, bounded and printable.
func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return `"` + strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s), "?") + `"`
}
