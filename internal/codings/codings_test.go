package codings

import (
	"strings"
	"testing"
)

// TestNormalize: CloudFront's normalized Accept-Encoding keeps only the
// codings the cache policy enables and the viewer accepts
// (controlling-the-cache-key.md, "Cache compressed objects").
func TestNormalize(t *testing.T) {
	tests := []struct {
		accept       []string
		gzip, brotli bool
		want         string
	}{
		{[]string{"gzip, deflate, br"}, true, true, "br,gzip"},
		{[]string{"br", "gzip"}, true, true, "br,gzip"},
		{[]string{"gzip, deflate, br"}, true, false, "gzip"},
		{[]string{"gzip, deflate, br"}, false, true, "br"},
		{[]string{"gzip;q=0, br"}, true, true, "br"},
		{[]string{"*"}, true, true, "br,gzip"},
		{[]string{"*, br;q=0"}, true, true, "gzip"},
		{[]string{"GZIP"}, true, true, "gzip"},
		{[]string{"deflate, zstd"}, true, true, "identity"},
		{[]string{"gzip"}, false, true, "identity"},
		{[]string{""}, true, true, "identity"},
		{[]string{"br;q=0, *"}, true, true, "gzip"},                    // the named entry beats *
		{[]string{"gzip, gzip;q=0"}, true, true, "gzip"},               // the first entry counts
		{[]string{"*;q=0, *"}, true, true, "br,gzip"},                  // the last * counts
		{[]string{" Br ; q=0.5 ,gzip;q=0.001"}, true, true, "br,gzip"}, // spaces, case, small q
		{[]string{"br,gzip"}, true, false, "gzip"},                     // normalized for another policy
		{[]string{"br"}, false, true, "br"},
		{[]string{"identity"}, true, true, "identity"},
		{[]string{"gzip,"}, true, true, "gzip"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.accept, tt.gzip, tt.brotli); got != tt.want {
			t.Errorf("Normalize(%q, gzip %v, brotli %v) = %q, want %q", tt.accept, tt.gzip, tt.brotli, got, tt.want)
		}
	}
}

// Normalize and Field allocate nothing: they run on every request of a
// behavior whose cache policy keys the Accept-Encoding.
func TestNormalizeAllocations(t *testing.T) {
	browser := []string{"gzip, deflate, br, zstd"}
	if n := testing.AllocsPerRun(100, func() { Field(Normalize(Field(Normalize(browser, true, true)), true, true)) }); n != 0 {
		t.Errorf("%v allocations a call, want 0", n)
	}
}

// FuzzNormalize compares Normalize and Accepts with refAccepts, RFC 9110
// 12.5.3 read literally, on every Accept-Encoding that is valid by its
// grammar: the normalized value is the cache key, so a wrong one serves
// a viewer a coding it cannot decode. Any input must give one of the
// four normalized values, the same whichever path computes it.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"gzip, deflate, br", "br;q=0, *", "*;q=0, *", " Br ; q=0.5 ,gzip;q=0.001",
		"gzip;Q=0.000", "br;q=1.000, gzip;q=0", "identity", "br,gzip", "gzip,", "",
		"*;q=0.1", "x-gzip, zstd", "gzip\t;\tq=0.5", "gzip;q=1.0001", "br;q=1e-9",
	} {
		f.Add(s, "", true, true)
	}
	f.Add("br", "gzip;q=0", true, false)
	f.Fuzz(func(t *testing.T, v1, v2 string, gzip, brotli bool) {
		vs := []string{v1}
		if v2 != "" {
			vs = append(vs, v2)
		}
		got := Normalize(vs, gzip, brotli)
		switch got {
		case "br,gzip", "br", "gzip", "identity":
		default:
			t.Fatalf("Normalize(%q) = %q, not a normalized value", vs, got)
		}
		// A second, empty line takes Normalize off its fast path.
		if slow := Normalize(append(vs, ""), gzip, brotli); slow != got {
			t.Fatalf("Normalize(%q) = %q, but %q with an empty line added", vs, got, slow)
		}
		if Normalize([]string{got}, gzip, brotli) != got {
			t.Fatalf("Normalize(%q) = %q, which does not normalize to itself", vs, got)
		}
		ref, ok := refAccepts(vs)
		if !ok {
			return
		}
		want := normalized(brotli && ref("br"), gzip && ref("gzip"))
		if got != want {
			t.Fatalf("Normalize(%q, gzip %v, brotli %v) = %q, want %q", vs, gzip, brotli, got, want)
		}
		for _, c := range []string{"br", "gzip", "deflate", "zstd"} {
			if got, want := Accepts(vs, c), ref(c); got != want {
				t.Fatalf("Accepts(%q, %q) = %v, want %v", vs, c, got, want)
			}
		}
	})
}

// refAccepts parses vs strictly by RFC 9110's grammar (12.5.3, 12.4.2,
// 5.6.1), false when it is not valid. A coding is accepted when its
// first entry has a non-zero q, else when the last "*" does (the RFC
// leaves repeated entries open; the package documents this choice).
func refAccepts(vs []string) (accepts func(coding string) bool, ok bool) {
	first := map[string]bool{}
	var star, starSet bool
	for _, v := range vs {
		for elem := range strings.SplitSeq(v, ",") {
			elem = strings.Trim(elem, " \t")
			if elem == "" {
				continue // #rule allows empty elements
			}
			name, weight, hasWeight := strings.Cut(elem, ";")
			name = strings.TrimRight(name, " \t")
			if !isToken(name) {
				return nil, false
			}
			q := 1000 // thousandths
			if hasWeight {
				w := strings.TrimLeft(weight, " \t")
				if len(w) < 2 || (w[0] != 'q' && w[0] != 'Q') || w[1] != '=' {
					return nil, false
				}
				var valid bool
				if q, valid = qvalue(w[2:]); !valid {
					return nil, false
				}
			}
			name = strings.ToLower(name)
			if name == "*" {
				star, starSet = q > 0, true
				continue
			}
			if _, seen := first[name]; !seen {
				first[name] = q > 0
			}
		}
	}
	return func(coding string) bool {
		if a, ok := first[coding]; ok {
			return a
		}
		return starSet && star
	}, true
}

// qvalue is RFC 9110's ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
// in thousandths.
func qvalue(s string) (int, bool) {
	if s == "" || s[0] != '0' && s[0] != '1' {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return q, true
	}
	if s[1] != '.' || len(s) > 5 {
		return 0, false
	}
	scale := 100
	for _, c := range []byte(s[2:]) {
		if c < '0' || c > '9' || q == 1000 && c != '0' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	return q, true
}

// isToken is RFC 9110's token (5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
