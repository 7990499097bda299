package cffunc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

// tokenFunction checks an HMAC-signed token in the query string, as a
// migrating user's function does: 403 on a bad signature. The edge's
// tests serve the same function.
var tokenFunction = filepath.Join("..", "..", "daemon", "edge", "testdata", "functions", "hmac-token.js")

func signToken(expires, uri string) string {
	m := hmac.New(sha256.New, []byte("secret"))
	m.Write([]byte(expires + uri))
	return expires + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestTokenFunction: the request passes with a good signature, a 403 is
// generated with a bad or missing one, in both runtimes.
func TestTokenFunction(t *testing.T) {
	code, err := os.ReadFile(tokenFunction)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{rt10, rt20} {
		f, err := Compile("token", r, string(code))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			query  string
			status int // 0: the request goes on
		}{
			{"token=" + signToken("1700000000", "/hmac-token/a"), 0},
			{"token=" + signToken("1700000000", "/hmac-token/b"), 403},
			{"token=1700000000.AAAA", 403},
			{"", 403},
		} {
			resp, err := f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/hmac-token/a", RawQuery: c.query, Host: "h"})
			if err != nil {
				t.Fatalf("%s %q: %v", r, c.query, err)
			}
			got := 0
			if resp != nil {
				got = resp.Status
			}
			if got != c.status {
				t.Errorf("%s %q: status %d, want %d", r, c.query, got, c.status)
			}
		}
	}
}
