package cffunc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// tokenFunction checks an HMAC-signed token in the query string, as a
// migrating user's function does: 403 on a bad signature.
const tokenFunction = `import crypto from 'crypto';
import qs from 'querystring';
function handler(event) {
    var request = event.request;
    var q = qs.parse(request.querystring.token ? 'token=' + request.querystring.token.value : '');
    var parts = (q.token || '').split('.');
    var want = crypto.createHmac('sha256', 'secret').update(parts[0] + request.uri).digest('base64url');
    if (parts.length !== 2 || parts[1] !== want) {
        return {statusCode: 403, statusDescription: 'Forbidden'};
    }
    return request;
}`

func signToken(expires, uri string) string {
	m := hmac.New(sha256.New, []byte("secret"))
	m.Write([]byte(expires + uri))
	return expires + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestTokenFunction: the request passes with a good signature, a 403 is
// generated with a bad or missing one, in both runtimes.
func TestTokenFunction(t *testing.T) {
	for _, r := range []string{rt10, rt20} {
		f, err := Compile("token", r, tokenFunction)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			query  string
			status int // 0: the request goes on
		}{
			{"token=" + signToken("1700000000", "/video.mp4"), 0},
			{"token=" + signToken("1700000000", "/other.mp4"), 403},
			{"token=1700000000.AAAA", 403},
			{"", 403},
		} {
			resp, err := f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/video.mp4", RawQuery: c.query, Host: "h"})
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
