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
	}
	for _, tt := range tests {
		if got := Normalize(tt.accept, tt.gzip, tt.brotli); got != tt.want {
			t.Errorf("Normalize(%q, gzip %v, brotli %v) = %q, want %q", tt.accept, tt.gzip, tt.brotli, got, tt.want)
		}
	}
}
