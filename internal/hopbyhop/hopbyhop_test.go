package hopbyhop

import (
	"net/http"
	"slices"
	"testing"
)

func TestIsMatchesFields(t *testing.T) {
	for _, k := range Fields {
		if !Is(k) {
			t.Errorf("Is(%q) = false", k)
		}
	}
	for _, k := range []string{"Content-Length", "Via", "connection", "Te-Extra"} {
		if Is(k) {
			t.Errorf("Is(%q) = true", k)
		}
	}
}

func TestNamed(t *testing.T) {
	h := http.Header{"Connection": {"keep-alive, x-trace", " Upgrade ,,"}}
	if got, want := Named(h), []string{"Keep-Alive", "X-Trace", "Upgrade"}; !slices.Equal(got, want) {
		t.Errorf("Named = %q, want %q", got, want)
	}
	if got := Named(http.Header{}); got != nil {
		t.Errorf("Named of no Connection = %q", got)
	}
}
