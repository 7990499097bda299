package codings

import "testing"

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
