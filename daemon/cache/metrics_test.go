package cache

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=1, stale-while-revalidate=60", "ETag", `"1"`))
	reg := prometheus.NewRegistry()
	if err := hs.c.Register(reg); err != nil {
		t.Fatal(err)
	}
	hs.get("/a")
	hs.get("/a")
	hs.clock.Advance(2 * time.Second)
	hs.get("/a")
	hs.waitBackground()
	s := hs.c.Stats()
	if s.Misses != 1 || s.Hits != 1 || s.StaleHits != 1 || s.Bytes <= 0 || s.Entries != 1 {
		t.Errorf("stats %+v", s)
	}
	for name, want := range map[string]float64{
		"openfront_cache_hits_total":       1,
		"openfront_cache_misses_total":     1,
		"openfront_cache_stale_hits_total": 1,
	} {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() == name {
				found = true
				if got := mf.GetMetric()[0].GetCounter().GetValue(); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		}
		if !found {
			t.Errorf("%s not registered", name)
		}
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 11 {
		t.Errorf("%d metrics (%v), want 11", n, err)
	}
}
