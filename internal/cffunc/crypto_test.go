package cffunc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

const (
	rt10 = "cloudfront-js-1.0"
	rt20 = "cloudfront-js-2.0"
)

// run evaluates code (statements ending in a return) in a function of the
// runtime, and gives what it returned as a string.
func run(t *testing.T, runtime, code string) (string, error) {
	t.Helper()
	f, err := Compile("f", runtime, "function handler(e) { var v = (function() { "+code+" })(); return {statusCode: 200, body: String(v)}; }")
	if err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	// These cases check results, not the budget: parsing 1,200 query
	// keys uses 6 ms of the 20 ms of CPU time, 28 ms under the race
	// detector.
	f.SetBudget(time.Minute)
	resp, err := f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/", Host: "h"})
	if err != nil {
		return "", err
	}
	return string(resp.Body), nil
}

type jsCase struct{ name, code, want string }

// runCases runs each case in each runtime; want "throws" is an error.
func runCases(t *testing.T, runtimes []string, cases []jsCase) {
	t.Helper()
	for _, r := range runtimes {
		for _, c := range cases {
			t.Run(r+"/"+c.name, func(t *testing.T) {
				got, err := run(t, r, c.code)
				if c.want == "throws" {
					if err == nil {
						t.Fatalf("%s: %q, want an error", c.code, got)
					}
					return
				}
				if err != nil || got != c.want {
					t.Fatalf("%s: %q, %v; want %q", c.code, got, err, c.want)
				}
			})
		}
	}
}

// TestCrypto: published vectors (FIPS 180 / RFC 1321 for the hashes, RFC
// 4231 for HMAC-SHA256, RFC 2202 for HMAC-MD5 and HMAC-SHA1) in both
// runtimes and every digest encoding CloudFront lists.
func TestCrypto(t *testing.T) {
	const c = "var crypto = require('crypto'); "
	runCases(t, []string{rt10, rt20}, []jsCase{
		{"sha256 abc", c + "return crypto.createHash('sha256').update('abc').digest('hex')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha256 two blocks, chained updates", c + "return crypto.createHash('sha256').update('abcdbcdecdefdefgefghfghighijhij').update('kijkljklmklmnlmnomnopnopq').digest('hex')", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"sha1 abc", c + "return crypto.createHash('sha1').update('abc').digest('hex')", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"md5 abc", c + "return crypto.createHash('md5').update('abc').digest('hex')", "900150983cd24fb0d6963f7d28e17f72"},
		{"md5 empty", c + "return crypto.createHash('md5').digest('hex')", "d41d8cd98f00b204e9800998ecf8427e"},
		{"base64", c + "return crypto.createHash('sha256').update('abc').digest('base64')", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
		{"base64url", c + "return crypto.createHash('sha256').update('abc').digest('base64url')", "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"},
		{"CloudFront's example", c + "return crypto.createHash('sha1').update('A').update('B').digest('base64url')", "BtlFlCqiamG-GMPiK_GbvKjdK10"},
		{"UTF-8 input", c + "return crypto.createHash('md5').update('\\u00e9').digest('hex')", "66ddcd97cfdeabb2f6fb8a999b4bc76f"},
		{"RFC 4231 case 2", c + "return crypto.createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex')", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"RFC 4231 case 1", c + "return crypto.createHmac('sha256', '\\x0b'.repeat(20)).update('Hi There').digest('hex')", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"RFC 2202 HMAC-MD5", c + "return crypto.createHmac('md5', 'Jefe').update('what do ya want for nothing?').digest('hex')", "750c783e6ab0b503eaa86e310a5db738"},
		{"RFC 2202 HMAC-SHA1", c + "return crypto.createHmac('sha1', 'Jefe').update('what do ya want for nothing?').digest('hex')", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		{"import", "return require('crypto').createHash('SHA256').update('abc').digest('hex').length", "64"},
		{"unknown algorithm", c + "return crypto.createHash('sha512')", "throws"},
		{"unknown hmac algorithm", c + "return crypto.createHmac('sha384', 'k')", "throws"},
		{"unknown encoding", c + "return crypto.createHash('sha1').update('a').digest('latin1')", "throws"},
		{"update after digest", c + "var h = crypto.createHash('sha1'); h.digest('hex'); return h.update('a')", "throws"},
		{"non-string data", c + "return crypto.createHash('sha1').update(42).digest('hex')", "throws"},
	})
}

// TestCryptoDigestRuntimes: with no encoding, digest() is a Buffer in 2.0
// and a byte string in 1.0; either is a key or data of its bytes.
func TestCryptoDigestRuntimes(t *testing.T) {
	inner := sha256.Sum256([]byte("k"))
	m := hmac.New(sha256.New, inner[:])
	m.Write([]byte("x"))
	chained := hex.EncodeToString(m.Sum(nil))
	const c = "var crypto = require('crypto'); var d = crypto.createHash('sha256').update('k').digest(); "
	runCases(t, []string{rt20}, []jsCase{
		{"a Buffer", c + "return Buffer.isBuffer(d) + ' ' + d.length + ' ' + d.toString('hex')", "true 32 " + hex.EncodeToString(inner[:])},
		{"a Buffer as key", c + "return crypto.createHmac('sha256', d).update('x').digest('hex')", chained},
		{"a Buffer as data", c + "return crypto.createHash('sha256').update(Buffer.from('6b', 'hex')).digest('hex')", hex.EncodeToString(inner[:])},
	})
	var bytes strings.Builder
	for _, b := range inner {
		bytes.WriteRune(rune(b))
	}
	runCases(t, []string{rt10}, []jsCase{
		{"a byte string", c + "return typeof d + ' ' + d.length + ' ' + (d === " + quoteJSString(bytes.String()) + ")", "string 32 true"},
		{"a byte string as key", c + "return crypto.createHmac('sha256', d).update('x').digest('hex')", chained},
	})
}

func quoteJSString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		b.WriteString("\\u" + hex.EncodeToString([]byte{byte(r >> 8), byte(r)}))
	}
	b.WriteByte('\'')
	return b.String()
}
