package signedurl

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"openfront.dev/compiler/table"
)

// Signer makes CloudFront signed URLs and cookies, byte for byte as AWS's
// signers do (the AWS SDK for Go writes the same JSON for the same policy),
// plus SHA-256 signatures, which the SDK cannot make. With an ECDSA key the
// signature is ASN.1 DER, as the SDK's crypto.Signer path makes it; ECDSA
// signatures are randomized, so only RSA ones match the SDK's byte for byte.
type Signer struct {
	KeyPairID string
	Key       crypto.Signer // an *rsa.PrivateKey or *ecdsa.PrivateKey, as ParsePrivateKey returns
	SHA256    bool          // sign with SHA-256 and say Hash-Algorithm=SHA256
}

// Policy says what a signature allows. With only Expires set (and Resource
// empty or equal to the URL) it is a canned policy; anything else makes a
// custom policy.
type Policy struct {
	Resource  string // the URL pattern, with * and ? wildcards; empty: the URL signed
	Expires   time.Time
	NotBefore time.Time    // optional DateGreaterThan
	IP        netip.Prefix // optional AWS:SourceIp
}

func (p Policy) canned(rawURL string) bool {
	return (p.Resource == "" || p.Resource == rawURL) && p.NotBefore.IsZero() && !p.IP.IsValid()
}

// JSON is the policy statement for rawURL, as signed.
func (p Policy) JSON(rawURL string) []byte {
	res := p.Resource
	if res == "" {
		res = rawURL
	}
	if p.canned(rawURL) {
		return appendCannedPolicy(nil, []byte(res), p.Expires.Unix())
	}
	// The AWS SDK for Go's field order: IpAddress, DateGreaterThan, DateLessThan.
	b := []byte(`{"Statement":[{"Resource":"`)
	b = appendJSONString(b, []byte(res))
	b = append(b, `","Condition":{`...)
	if p.IP.IsValid() {
		b = append(b, `"IpAddress":{"AWS:SourceIp":"`...)
		b = append(b, p.IP.String()...)
		b = append(b, `"},`...)
	}
	if !p.NotBefore.IsZero() {
		b = append(b, `"DateGreaterThan":{"AWS:EpochTime":`...)
		b = strconv.AppendInt(b, p.NotBefore.Unix(), 10)
		b = append(b, `},`...)
	}
	b = append(b, `"DateLessThan":{"AWS:EpochTime":`...)
	b = strconv.AppendInt(b, p.Expires.Unix(), 10)
	return append(b, `}}}]}`...)
}

func (s Signer) sign(msg []byte) (string, error) {
	if s.Key == nil || s.KeyPairID == "" {
		return "", errors.New("a signer needs a key pair id and a private key")
	}
	if err := checkSigningKey(s.Key.Public()); err != nil {
		return "", err
	}
	var digest []byte
	hash := crypto.SHA1
	if s.SHA256 {
		d := sha256.Sum256(msg)
		digest, hash = d[:], crypto.SHA256
	} else {
		d := sha1.Sum(msg)
		digest = d[:]
	}
	sig, err := s.Key.Sign(rand.Reader, digest, hash)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return EncodeBase64(sig), nil
}

// checkURL accepts what CloudFront can sign: an absolute http(s) URL in
// ASCII, without a fragment or signature parameters.
func checkURL(rawURL string, cookies bool) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want an absolute http:// or https:// URL", rawURL)
	}
	if u.Fragment != "" || strings.Contains(rawURL, "#") {
		return fmt.Errorf("url %q: a fragment is never sent, so it cannot be signed", rawURL)
	}
	for i := 0; i < len(rawURL); i++ {
		if rawURL[i] <= ' ' || rawURL[i] >= 0x7f {
			return fmt.Errorf("url %q: percent-encode spaces and non-ASCII characters", rawURL)
		}
	}
	if !cookies {
		for seg := range strings.SplitSeq(u.RawQuery, "&") {
			name, _, _ := strings.Cut(seg, "=")
			if IsSignatureParam(name) {
				return fmt.Errorf("url %q: %s is a signature parameter and cannot be signed", rawURL, name)
			}
		}
	}
	return nil
}

// SignURL returns rawURL with its signature parameters appended.
func (s Signer) SignURL(rawURL string, p Policy) (string, error) {
	if err := checkURL(rawURL, false); err != nil {
		return "", err
	}
	msg := p.JSON(rawURL)
	sig, err := s.sign(msg)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(rawURL)
	if strings.Contains(rawURL, "?") {
		b.WriteByte('&')
	} else {
		b.WriteByte('?')
	}
	if p.canned(rawURL) {
		b.WriteString("Expires=" + strconv.FormatInt(p.Expires.Unix(), 10))
	} else {
		b.WriteString("Policy=" + EncodeBase64(msg))
	}
	b.WriteString("&Signature=" + sig + "&Key-Pair-Id=" + s.KeyPairID)
	if s.SHA256 {
		b.WriteString("&Hash-Algorithm=SHA256")
	}
	return b.String(), nil
}

// SignCookies returns the signed cookies for rawURL (the only URL a canned
// policy allows) or for p.Resource: CloudFront-Expires for a canned policy,
// CloudFront-Policy for a custom one, then CloudFront-Signature,
// CloudFront-Key-Pair-Id and, for SHA-256, CloudFront-Hash-Algorithm. The
// caller sets Domain, Path, Secure and the like.
func (s Signer) SignCookies(rawURL string, p Policy) ([]*http.Cookie, error) {
	if err := checkURL(rawURL, true); err != nil {
		return nil, err
	}
	msg := p.JSON(rawURL)
	sig, err := s.sign(msg)
	if err != nil {
		return nil, err
	}
	var cs []*http.Cookie
	if p.canned(rawURL) {
		cs = append(cs, &http.Cookie{Name: CookieExpires, Value: strconv.FormatInt(p.Expires.Unix(), 10)})
	} else {
		cs = append(cs, &http.Cookie{Name: CookiePolicy, Value: EncodeBase64(msg)})
	}
	cs = append(cs, &http.Cookie{Name: CookieSignature, Value: sig}, &http.Cookie{Name: CookieKeyPairID, Value: s.KeyPairID})
	if s.SHA256 {
		cs = append(cs, &http.Cookie{Name: CookieHashAlgorithm, Value: "SHA256"})
	}
	return cs, nil
}

// checkSigningKey refuses a key whose signatures CloudFront cannot verify.
func checkSigningKey(pub crypto.PublicKey) error {
	if err := table.SignatureKey(pub); err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	return nil
}

// ParsePrivateKey parses a PEM RSA or ECDSA P-256 private key: "RSA PRIVATE
// KEY" (PKCS #1, as openssl genrsa makes), "EC PRIVATE KEY" (SEC 1, as
// openssl ecparam -genkey makes) or "PRIVATE KEY" (PKCS #8).
func ParsePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("private key: not PEM-encoded")
	}
	var key crypto.Signer
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		key = k
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key: a %T, but CloudFront signs with RSA or ECDSA P-256", k)
		}
		key = s
	default:
		return nil, fmt.Errorf("private key: PEM block %q, want RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY", block.Type)
	}
	if err := checkSigningKey(key.Public()); err != nil {
		return nil, err
	}
	return key, nil
}
