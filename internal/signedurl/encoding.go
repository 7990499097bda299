package signedurl

import (
	"encoding/base64"
	"errors"
	"strconv"
)

// CloudFront's URL-safe base64 is standard base64 with '+' '=' '/' replaced
// by '-' '_' '~'. Decoding is strict: only that alphabet (percent-encoded or
// not), correct padding, no line breaks.

var errBase64 = errors.New("not CloudFront's URL-safe base64")

var strictStd = base64.StdEncoding.Strict()

// cfAlphabet maps CloudFront's base64 characters to standard ones; 0 is invalid.
var cfAlphabet = func() (t [256]byte) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") {
		t[c] = c
	}
	t['-'], t['_'], t['~'] = '+', '=', '/'
	return t
}()

// EncodeBase64 encodes b in CloudFront's URL-safe base64.
func EncodeBase64(b []byte) string {
	s := []byte(base64.StdEncoding.EncodeToString(b))
	for i, c := range s {
		switch c {
		case '+':
			s[i] = '-'
		case '=':
			s[i] = '_'
		case '/':
			s[i] = '~'
		}
	}
	return string(s)
}

// decodeBase64 decodes a raw (possibly percent-encoded) value into dst's
// spare capacity, using tmp for the translated text; it allocates only when
// the buffers are too small.
func decodeBase64(dst, tmp []byte, value string) ([]byte, error) {
	tmp = tmp[:0]
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c == '%' {
			if i+2 >= len(value) {
				return nil, errBase64
			}
			h, ok1 := unhex(value[i+1])
			l, ok2 := unhex(value[i+2])
			if !ok1 || !ok2 {
				return nil, errBase64
			}
			c = h<<4 | l
			i += 2
		}
		if c = cfAlphabet[c]; c == 0 {
			return nil, errBase64
		}
		tmp = append(tmp, c)
	}
	if len(tmp) == 0 {
		return nil, errBase64
	}
	n := base64.StdEncoding.DecodedLen(len(tmp))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	m, err := strictStd.Decode(dst, tmp)
	if err != nil {
		return nil, errBase64
	}
	return dst[:m], nil
}

// unescape percent-decodes a short query or cookie value; it returns value
// itself when it has no escapes. '+' stays '+': none of the values it decodes
// can hold a space.
func unescape(value string) (string, bool) {
	i := 0
	for i < len(value) && value[i] != '%' {
		i++
	}
	if i == len(value) {
		return value, true
	}
	b := make([]byte, 0, len(value))
	b = append(b, value[:i]...)
	for ; i < len(value); i++ {
		c := value[i]
		if c == '%' {
			if i+2 >= len(value) {
				return "", false
			}
			h, ok1 := unhex(value[i+1])
			l, ok2 := unhex(value[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			c = h<<4 | l
			i += 2
		}
		b = append(b, c)
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseEpoch parses a Unix time in seconds: decimal digits only.
func parseEpoch(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
