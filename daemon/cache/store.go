package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// memory is the memory tier: otter's W-TinyLFU with byte weights.
//
// otter evicts after a write, in its maintenance, so on its own it may hold
// a little more than its maximum for a moment. To never exceed the
// configured bytes, inserts are serialized and each is followed by a
// synchronous clean-up, and otter's maximum is the limit less the largest
// entry: at any instant at most one entry is above otter's maximum.
type memory struct {
	otter    *otter.Cache[string, *entry]
	insertMu sync.Mutex
	// bytes is the weight of what otter holds, kept from the writes and
	// deletions it reports, so a test can check the bound exactly.
	bytes     atomic.Int64
	limit     int64
	maxEntry  int64
	evictions atomic.Int64
}

// entryOverhead is added to each entry's weight for the key, the header
// map and the entry itself.
const entryOverhead = 512

func newMemory(limit, maxEntry int64, now func() time.Time) (*memory, error) {
	m := &memory{limit: limit, maxEntry: maxEntry}
	opts := &otter.Options[string, *entry]{
		MaximumWeight: uint64(limit - maxEntry),
		Weigher:       func(_ string, e *entry) uint32 { return e.weight },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *entry]) time.Duration {
			return e.Value.retain
		}),
		OnAtomicDeletion: func(ev otter.DeletionEvent[string, *entry]) {
			m.bytes.Add(-int64(ev.Value.weight))
			if ev.Value.blob != nil {
				ev.Value.blob.drop() // answers under way hold it still
			}
			if ev.Cause == otter.CauseOverflow {
				m.evictions.Add(1)
			}
		},
		// Maintenance runs on the goroutine that needs it: no goroutine
		// per write, and the clean-up after an insert is complete when
		// the insert returns.
		Executor: func(fn func()) { fn() },
	}
	if now != nil {
		opts.Clock = clock{now}
	}
	c, err := otter.New(opts)
	if err != nil {
		return nil, err
	}
	m.otter = c
	return m, nil
}

func (m *memory) get(key string) *entry {
	e, _ := m.otter.GetIfPresent(key)
	return e
}

// put stores e under key, unless it is heavier than the largest entry.
func (m *memory) put(key string, e *entry) bool {
	if int64(e.weight) > m.maxEntry {
		return false
	}
	m.insertMu.Lock()
	defer m.insertMu.Unlock()
	m.bytes.Add(int64(e.weight))
	m.otter.Set(key, e)
	m.otter.CleanUp()
	return true
}

// replace stores e only if key still holds old, so a background refresh
// never overwrites a newer response.
func (m *memory) replace(key string, old, e *entry) bool {
	if int64(e.weight) > m.maxEntry {
		return false
	}
	m.insertMu.Lock()
	defer m.insertMu.Unlock()
	if cur, _ := m.otter.GetIfPresent(key); cur != old {
		return false
	}
	m.bytes.Add(int64(e.weight))
	m.otter.Set(key, e)
	m.otter.CleanUp()
	return true
}

func (m *memory) del(key string) {
	m.otter.Invalidate(key)
}

func (m *memory) close() {
	m.otter.InvalidateAll()
	m.otter.StopAllGoroutines()
}

// clock lets otter's expiration follow an injected clock.
type clock struct{ now func() time.Time }

func (c clock) NowNano() int64                      { return c.now().UnixNano() }
func (c clock) Tick(time.Duration) <-chan time.Time { return nil }
