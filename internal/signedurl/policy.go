package signedurl

import (
	"fmt"
	"net/netip"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// policy is a parsed custom policy: CloudFront's single statement.
type policy struct {
	resource    []byte // unescaped; nil when the statement has none (any resource)
	hasResource bool
	lessThan    int64 // DateLessThan, required
	greaterThan int64 // DateGreaterThan, when hasGreater
	hasGreater  bool
	ip          netip.Prefix // AWS:SourceIp, when valid
}

// parsePolicy reads a custom policy strictly: exactly one statement, the
// fields CloudFront defines with their exact names, no duplicates, nothing
// unknown. An unknown condition is refused rather than ignored, so a typo
// can never widen access. It allocates the resource (the policy may be kept)
// and an address condition.
func parsePolicy(b []byte) (policy, error) {
	var p policy
	d := jsonReader{b: b}
	var sawStatement bool
	err := d.object(func(key string) error {
		if key != "Statement" {
			return fmt.Errorf("unknown field %q (a policy has only \"Statement\")", key)
		}
		if sawStatement {
			return fmt.Errorf("\"Statement\" given twice")
		}
		sawStatement = true
		n := 0
		err := d.array(func() error {
			if n++; n > 1 {
				return fmt.Errorf("more than one statement (CloudFront allows exactly one)")
			}
			var err error
			p, err = statement(&d)
			return err
		})
		if err == nil && n == 0 {
			err = fmt.Errorf("\"Statement\" is empty")
		}
		return err
	})
	if err == nil {
		d.space()
		if d.i != len(d.b) {
			err = fmt.Errorf("data after the policy object")
		}
	}
	if err == nil && !sawStatement {
		err = fmt.Errorf("no \"Statement\"")
	}
	if err != nil {
		return policy{}, err
	}
	return p, nil
}

func statement(d *jsonReader) (policy, error) {
	var p policy
	var sawCondition bool
	var sawLess bool
	err := d.object(func(key string) error {
		switch key {
		case "Resource":
			if p.hasResource {
				return fmt.Errorf("\"Resource\" given twice")
			}
			s, err := d.str()
			if err != nil {
				return fmt.Errorf("\"Resource\": %w", err)
			}
			// A copy: a verified policy is kept by the Verifier, and
			// the caller's decode buffer must not go with it.
			p.resource, p.hasResource = append([]byte{}, s...), true
			return nil
		case "Condition":
			if sawCondition {
				return fmt.Errorf("\"Condition\" given twice")
			}
			sawCondition = true
			var sawGreater, sawIP bool
			return d.object(func(key string) error {
				switch key {
				case "DateLessThan":
					if sawLess {
						return fmt.Errorf("\"DateLessThan\" given twice")
					}
					sawLess = true
					t, err := d.epoch()
					if err != nil {
						return fmt.Errorf("\"DateLessThan\": %w", err)
					}
					p.lessThan = t
					return nil
				case "DateGreaterThan":
					if sawGreater {
						return fmt.Errorf("\"DateGreaterThan\" given twice")
					}
					sawGreater = true
					t, err := d.epoch()
					if err != nil {
						return fmt.Errorf("\"DateGreaterThan\": %w", err)
					}
					p.greaterThan, p.hasGreater = t, true
					return nil
				case "IpAddress":
					if sawIP {
						return fmt.Errorf("\"IpAddress\" given twice")
					}
					sawIP = true
					ip, err := d.sourceIP()
					if err != nil {
						return fmt.Errorf("\"IpAddress\": %w", err)
					}
					p.ip = ip
					return nil
				}
				return fmt.Errorf("unknown condition %q (CloudFront knows DateLessThan, DateGreaterThan and IpAddress)", key)
			})
		}
		return fmt.Errorf("unknown statement field %q (a statement has \"Resource\" and \"Condition\")", key)
	})
	if err != nil {
		return policy{}, err
	}
	if !sawCondition || !sawLess {
		return policy{}, fmt.Errorf("no \"DateLessThan\" condition (CloudFront requires one)")
	}
	return p, nil
}

// epoch reads {"AWS:EpochTime": N}.
func (d *jsonReader) epoch() (int64, error) {
	var t int64
	seen := false
	err := d.object(func(key string) error {
		if key != "AWS:EpochTime" || seen {
			return fmt.Errorf("want exactly {\"AWS:EpochTime\": seconds}")
		}
		seen = true
		var err error
		t, err = d.integer()
		return err
	})
	if err == nil && !seen {
		err = fmt.Errorf("want {\"AWS:EpochTime\": seconds}")
	}
	return t, err
}

// sourceIP reads {"AWS:SourceIp": "CIDR"}; a bare address is one host.
func (d *jsonReader) sourceIP() (netip.Prefix, error) {
	var p netip.Prefix
	seen := false
	err := d.object(func(key string) error {
		if key != "AWS:SourceIp" || seen {
			return fmt.Errorf("want exactly {\"AWS:SourceIp\": \"CIDR\"}")
		}
		seen = true
		s, err := d.str()
		if err != nil {
			return err
		}
		p, err = ParsePrefix(string(s))
		return err
	})
	if err == nil && !seen {
		err = fmt.Errorf("want {\"AWS:SourceIp\": \"CIDR\"}")
	}
	return p, err
}

// ParsePrefix parses a CIDR, or a bare address as a single host, as a
// policy's AWS:SourceIp is read; IPv4-mapped prefixes are unmapped, since
// client addresses are. daemon/access reads --trusted-proxies with it.
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return unmapPrefix(p).Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 192.0.2.0/24 or 2001:db8::/32", s)
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n >= 96) into a.b.c.d/(n-96), since
// client addresses are unmapped.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// jsonReader is a small strict JSON reader for policies: it reads exactly
// RFC 8259 JSON, matches keys byte for byte (encoding/json folds case, which
// CloudFront does not) and hands back slices of its input.
type jsonReader struct {
	b []byte
	i int
}

func (d *jsonReader) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonReader) peek() byte {
	d.space()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *jsonReader) want(c byte) error {
	if d.peek() != c {
		return d.errorf("want %q", c)
	}
	d.i++
	return nil
}

func (d *jsonReader) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", d.i, fmt.Sprintf(format, args...))
}

// object reads an object, calling field with each key positioned at its value,
// which field must consume.
func (d *jsonReader) object(field func(key string) error) error {
	if err := d.want('{'); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		if err := d.want(':'); err != nil {
			return err
		}
		if err := field(internKey(key)); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.errorf("want ',' or '}'")
		}
	}
}

func (d *jsonReader) array(elem func() error) error {
	if err := d.want('['); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.errorf("want ',' or ']'")
		}
	}
}

// internKey turns a policy's known keys into constants without allocating.
func internKey(b []byte) string {
	for _, k := range [...]string{"Statement", "Resource", "Condition", "DateLessThan", "DateGreaterThan", "IpAddress", "AWS:EpochTime", "AWS:SourceIp"} {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// str reads a string, returning a slice of the input when it has no escapes.
func (d *jsonReader) str() ([]byte, error) {
	if err := d.want('"'); err != nil {
		return nil, err
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !utf8.Valid(s) {
				return nil, d.errorf("string is not UTF-8")
			}
			return s, nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return nil, d.errorf("control character in string")
		}
		d.i++
	}
	return nil, d.errorf("unterminated string")
}

func (d *jsonReader) escapedStr(start int) ([]byte, error) {
	out := append([]byte(nil), d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return nil, d.errorf("string is not UTF-8")
			}
			return out, nil
		case c < 0x20:
			return nil, d.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			break
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					d.i += 2
					if r2, ok = d.hex4(); !ok {
						return nil, d.errorf("bad \\u escape")
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, d.errorf("unpaired surrogate in \\u escape")
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, d.errorf("bad escape \\%c", e)
		}
	}
	return nil, d.errorf("unterminated string")
}

func (d *jsonReader) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		v, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	d.i += 4
	return r, true
}

// integer reads a JSON number that is a non-negative integer: no fraction,
// no exponent, no leading zeros.
func (d *jsonReader) integer() (int64, error) {
	d.space()
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	digits := d.b[start:d.i]
	if len(digits) == 0 {
		return 0, d.errorf("want seconds since 1970 as an integer")
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, d.errorf("want whole seconds, not a fraction or exponent")
	}
	if len(digits) > 1 && digits[0] == '0' {
		return 0, d.errorf("leading zero in a number")
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return 0, d.errorf("time out of range")
	}
	return n, nil
}

// appendCannedPolicy appends the policy CloudFront rebuilds for a canned
// signature, byte for byte as AWS's signers write it: no spaces, and only
// the escapes JSON requires (no HTML escaping of '&', '<', '>').
func appendCannedPolicy(buf, resource []byte, expires int64) []byte {
	buf = append(buf, `{"Statement":[{"Resource":"`...)
	buf = appendJSONString(buf, resource)
	buf = append(buf, `","Condition":{"DateLessThan":{"AWS:EpochTime":`...)
	buf = strconv.AppendInt(buf, expires, 10)
	return append(buf, `}}}]}`...)
}

// appendJSONString appends s's escaped content (without quotes) as Go's
// encoder with SetEscapeHTML(false) and JavaScript's JSON.stringify do for
// ASCII: \" \\ \b \f \n \r \t and \u00XX for other control characters.
func appendJSONString(buf, s []byte) []byte {
	const hex = "0123456789abcdef"
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c >= 0x20:
			buf = append(buf, c)
		case c == '\b':
			buf = append(buf, '\\', 'b')
		case c == '\f':
			buf = append(buf, '\\', 'f')
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	return buf
}

// MatchResource reports whether url matches a policy's Resource pattern,
// with '*' and '?' wildcards.
func MatchResource(pattern, url string) bool { return match([]byte(pattern), []byte(url)) }

// match reports whether s matches pattern, where '*' matches any run of
// characters (also none) and '?' exactly one, as in a policy's Resource.
// It runs in O(len(pattern)*len(s)) at worst, with no backtracking blow-up.
func match(pattern, s []byte) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
