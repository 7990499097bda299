package cache

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type counters struct {
	hits, staleHits, refreshHits, misses, passes, coalesced, originErrors atomic.Int64
}

// Stats is a snapshot of the cache's counters.
type Stats struct {
	// Hits are fresh hits; StaleHits stale entries served
	// (stale-while-revalidate, stale-if-error, origin unreachable);
	// RefreshHits entries revalidated by a 304.
	Hits, StaleHits, RefreshHits int64
	// Misses are answers streamed from an origin response that is being
	// stored; Passes requests sent to the origin without storing.
	Misses, Passes int64
	// Coalesced counts requests that waited for another's origin request.
	Coalesced int64
	// OriginErrors counts origin requests that failed to connect.
	OriginErrors int64
	// Evictions counts entries evicted for space.
	Evictions int64
	// Bytes is the weight the memory tier holds; Entries its entry count.
	Bytes, Entries int64
	// DiskBytes, DiskEntries and DiskEvictions are the disk tier's.
	DiskBytes, DiskEntries, DiskEvictions int64
	// DiskDamaged counts disk tier files removed because they could not
	// be served whole: cut short or emptied (a disk error, a crash), left
	// half written, or with an unreadable description.
	DiskDamaged int64
}

// Stats returns the counters now.
func (c *Cache) Stats() Stats {
	s := Stats{
		Hits:         c.stats.hits.Load(),
		StaleHits:    c.stats.staleHits.Load(),
		RefreshHits:  c.stats.refreshHits.Load(),
		Misses:       c.stats.misses.Load(),
		Passes:       c.stats.passes.Load(),
		Coalesced:    c.stats.coalesced.Load(),
		OriginErrors: c.stats.originErrors.Load(),
		Evictions:    c.mem.evictions.Load(),
		Bytes:        c.mem.bytes.Load(),
		Entries:      int64(c.mem.otter.EstimatedSize()),
	}
	if c.disk != nil {
		s.DiskBytes, s.DiskEntries, s.DiskEvictions = c.disk.stats()
		s.DiskDamaged = c.disk.damaged.Load()
	}
	return s
}

// Register adds the cache's metrics (openfront_cache_*) to reg: request
// outcomes (the hit ratio's inputs), coalesced waits, and per tier
// (tier="memory", and "disk" with a disk tier) the bytes held, the bound,
// the objects and the evictions.
func (c *Cache) Register(reg prometheus.Registerer) error {
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "openfront_cache_" + name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	cols := []prometheus.Collector{
		counter("hits_total", "Requests answered from a fresh stored response.", &c.stats.hits),
		counter("stale_hits_total", "Requests answered from a stale stored response.", &c.stats.staleHits),
		counter("refresh_hits_total", "Requests answered from a stored response revalidated by a 304.", &c.stats.refreshHits),
		counter("misses_total", "Requests answered from an origin response being stored.", &c.stats.misses),
		counter("passes_total", "Requests passed to the origin without storing.", &c.stats.passes),
		counter("coalesced_waits_total", "Requests that waited for another request's origin response instead of asking the origin.", &c.stats.coalesced),
		counter("origin_errors_total", "Origin requests of the cache that failed.", &c.stats.originErrors),
	}
	cols = append(cols, tierCollectors("memory", c.mem.limit, func() (int64, int64, int64) {
		return c.mem.bytes.Load(), int64(c.mem.otter.EstimatedSize()), c.mem.evictions.Load()
	})...)
	if c.disk != nil {
		cols = append(cols, tierCollectors("disk", c.disk.limit, c.disk.stats)...)
		cols = append(cols, counter("disk_damaged_files_total", "Disk tier files removed because they could not be served whole (cut short, emptied, half written, undescribed).", &c.disk.damaged))
	}
	for _, col := range cols {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}

// tierCollectors are one tier's series, read at each scrape from stats
// (bytes, objects, evictions).
func tierCollectors(tier string, limit int64, stats func() (bytes, objects, evictions int64)) []prometheus.Collector {
	l := prometheus.Labels{"tier": tier}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "openfront_cache_" + name, Help: help, ConstLabels: l}, f)
	}
	return []prometheus.Collector{
		gauge("size_bytes", "Bytes the cache tier holds.", func() float64 { b, _, _ := stats(); return float64(b) }),
		gauge("limit_bytes", "The cache tier's bound.", func() float64 { return float64(limit) }),
		gauge("objects", "Entries the cache tier holds.", func() float64 { _, n, _ := stats(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "openfront_cache_evictions_total", Help: "Entries evicted from the cache tier for space.", ConstLabels: l},
			func() float64 { _, _, e := stats(); return float64(e) }),
	}
}
