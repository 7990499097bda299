package cffunc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestByteStrings: cloudfront-js-1.0 has njs's nonstandard byte string
// methods ("The following nonstandard methods on strings are supported":
// bytesFrom, fromBytes, fromUTF8, toBytes, toUTF8,
// functions-javascript-runtime-10.md), which 1.0 functions use to decode
// base64url (a JWT's parts, AWS's samples) as 1.0 has no Buffer or atob;
// 2.0 has none of them ("The following non-standard string prototype
// methods are not available", functions-javascript-runtime-features.md).
func TestByteStrings(t *testing.T) {
	mac := hmac.New(sha256.New, []byte{0, 1, 0xff})
	mac.Write([]byte("a"))
	runCases(t, []string{rt10}, []jsCase{
		{"base64url", `return String.bytesFrom('aGVsbG8', 'base64url');`, "hello"},
		{"a JWT's payload", `return JSON.parse(String.bytesFrom('eyJzdWIiOiJ4IiwiZXhwIjoxfQ', 'base64url')).sub;`, "x"},
		{"base64 with padding", `return String.bytesFrom('aGk=', 'base64') + String.bytesFrom('aGk', 'base64');`, "hihi"},
		{"hex", `return encodeURIComponent(String.bytesFrom('68690a', 'hex'));`, "hi%0A"},
		{"octets", `return String.bytesFrom([0x62, 0x75, 0x66, 0x66, 0x65, 0x72]);`, "buffer"},
		{"a typed array", `return String.bytesFrom(new Uint8Array([0x68, 0x69]));`, "hi"},
		{"as the prototype's", `return ''.bytesFrom('aGk', 'base64');`, "hi"},
		{"unknown encoding", `return String.bytesFrom('aGk', 'utf8');`, "throws"},
		{"no encoding", `return String.bytesFrom('aGk');`, "throws"},
		{"neither string nor array", `return String.bytesFrom(7, 'hex');`, "throws"},
		{"an array-like past the memory", `try { String.bytesFrom({length: 1e18}); } catch (e) { return e instanceof RangeError; }`, "true"},
		{"a key made after 4,200 byte strings", `for (var i = 0; i < 4200; i++) { String.bytesFrom([0x80 + (i & 127), i >> 7]); }
			return require('crypto').createHmac('sha256', String.bytesFrom('0001ff', 'hex')).update('a').digest('hex');`, hex.EncodeToString(mac.Sum(nil))},
		{"UTF-8 and back", `var b = 'é€'.toUTF8(); return b.length + '-' + b.charCodeAt(0).toString(16) + '-' + b.fromUTF8();`, "5-c3-é€"},
		{"decoded UTF-8", `return String.bytesFrom('w6k', 'base64url').fromUTF8();`, "é"},
		{"not UTF-8", `return String.bytesFrom([0xff, 0x61]).fromUTF8();`, "null"},
		{"a text string's fromUTF8", `return 'é'.fromUTF8();`, "é"},
		{"toBytes", `return 'é'.toBytes().length + String('€'.toBytes());`, "1null"},
		{"fromBytes", `return String.bytesFrom([0xe9]).fromBytes() === 'é';`, "true"},
		{"a byte string's toUTF8", `return String.bytesFrom([0xe9]).toUTF8().length;`, "1"},
		{"slices", `return 'abcdef'.toUTF8(1, 3) + 'abcdef'.toBytes(-2) + String.bytesFrom('YWJj', 'base64').fromUTF8(1);`, "bcefbc"},
		{"an HMAC key of bytes", `return require('crypto').createHmac('sha256', String.bytesFrom('0001ff', 'hex')).update('a').digest('hex');`, hex.EncodeToString(mac.Sum(nil))},
	})
	t.Run("a key decoded before the handler", func(t *testing.T) {
		// Top-level code runs once per runtime: its byte strings stay
		// bytes for all the runtime's runs, however many a run makes.
		f, err := Compile("f", rt10, `var crypto = require('crypto'); var key = String.bytesFrom('0001ff', 'hex');
function handler(e) {
	for (var i = 0; i < 3000; i++) { String.bytesFrom([i & 255, i >> 8]); }
	return {statusCode: 200, body: crypto.createHmac('sha256', key).update('a').digest('hex')};
}`)
		if err != nil {
			t.Fatal(err)
		}
		want := hex.EncodeToString(mac.Sum(nil))
		for i := range 3 {
			resp, err := f.ViewerRequest(Context{Budget: OfflineBudget}, &Request{Method: "GET", URI: "/", Host: "h"})
			if err != nil || string(resp.Body) != want {
				t.Fatalf("run %d: %v, %v; want %s", i, resp, err, want)
			}
		}
	})
	runCases(t, []string{rt20}, []jsCase{
		{"not in 2.0", `return typeof String.bytesFrom + typeof ''.bytesFrom + typeof ''.fromBytes + typeof ''.fromUTF8 + typeof ''.toBytes + typeof ''.toUTF8;`, "undefinedundefinedundefinedundefinedundefinedundefined"},
	})
}

// TestJWTFunction runs testdata/jwt-1.0.js, a 1.0 function checking an
// HS256 token as 1.0 functions do, with String.bytesFrom and a key in
// hex: a good token is admitted with its subject, any other refused.
func TestJWTFunction(t *testing.T) {
	code, err := os.ReadFile("testdata/jwt-1.0.js")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Compile("jwt", rt10, string(code))
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte("openfront"), 0xff, 0)
	enc := base64.RawURLEncoding.EncodeToString
	sign := func(header, claims string, key []byte) string {
		signed := enc([]byte(header)) + "." + enc([]byte(claims))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(signed))
		return signed + "." + enc(mac.Sum(nil))
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	hs256 := `{"alg":"HS256","typ":"JWT"}`
	good := fmt.Sprintf(`{"sub":"zoë","exp":%d}`, now.Unix()+60)
	for _, c := range []struct {
		name, token, user, refusal string
	}{
		{"good", sign(hs256, good, key), "zoë", ""},
		{"another key", sign(hs256, good, []byte("openfront")), "", "signature"},
		{"expired", sign(hs256, fmt.Sprintf(`{"sub":"a","exp":%d}`, now.Unix()-1), key), "", "expired"},
		{"another alg", sign(`{"alg":"none"}`, good, key), "", "alg"},
		{"malformed", "abc", "", "malformed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := &Request{Method: "GET", URI: "/a", RawQuery: "token=" + c.token + "&x=1", Host: "h", Header: http.Header{}}
			resp, err := f.ViewerRequest(Context{Now: now, Budget: OfflineBudget}, req)
			switch {
			case err != nil:
				t.Fatal(err)
			case c.refusal != "":
				if resp == nil || resp.Status != 401 || string(resp.Body) != c.refusal {
					t.Fatalf("response %+v; want a 401 saying %s", resp, c.refusal)
				}
			case resp != nil || req.Header.Get("X-User") != c.user || req.RawQuery != "x=1":
				t.Fatalf("response %+v, x-user %q, query %q; want the request, user %q, query x=1", resp, req.Header.Get("X-User"), req.RawQuery, c.user)
			}
		})
	}
}
