package rtmp

import "testing"

// TestStreamKeyParam: the key of "NAME?key=SECRET" as the encoder sent it:
// base64's "+" and "/" kept, percent escapes decoded.
func TestStreamKeyParam(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"key=s3cret", "s3cret"},
		{"key=ab+c/d==", "ab+c/d=="},
		{"x=1&key=K%2B1&y=2", "K+1"},
		{"key=100%", "100%"}, // not an escape: as typed
		{"keys=no", ""},
		{"", ""},
		{"key=", ""},
	} {
		if got := streamKeyParam(tc.query); got != tc.want {
			t.Errorf("streamKeyParam(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
}
