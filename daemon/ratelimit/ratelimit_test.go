package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// clock is a time the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestOverLimitThenBackAfterTheWindow(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb := New(1000, c.now)
	k := Key{Rule: "r", Addr: netip.MustParseAddr("192.0.2.1")}
	other := Key{Rule: "r", Addr: netip.MustParseAddr("192.0.2.2")}
	for i := range 10 {
		if tb.Over(k, 10, time.Minute) {
			t.Fatalf("request %d of 10 is over the limit", i+1)
		}
		c.t = c.t.Add(time.Second)
	}
	if !tb.Over(k, 10, time.Minute) {
		t.Fatal("the 11th request in the window is not over the limit")
	}
	if tb.Over(other, 10, time.Minute) {
		t.Fatal("another address shares the count")
	}
	if tb.Over(Key{Rule: "s", Addr: k.Addr}, 10, time.Minute) {
		t.Fatal("another rule shares the count")
	}
	// Still within the sliding window: over.
	c.t = c.t.Add(30 * time.Second)
	if !tb.Over(k, 10, time.Minute) {
		t.Fatal("over the limit 41 s after the first request, within the window")
	}
	c.t = c.t.Add(2 * time.Minute)
	if tb.Over(k, 10, time.Minute) {
		t.Fatal("still over the limit two windows later")
	}
}

func TestSlidingWindowWeighsThePreviousOne(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb := New(1000, c.now)
	k := Key{Rule: "r"}
	for range 10 {
		tb.Over(k, 10, time.Minute)
	}
	// Just into the next fixed window, the previous one's 10 requests
	// still count almost whole: a burst at a window's edge is no way
	// around the limit.
	c.t = c.t.Add(61 * time.Second)
	if !tb.Over(k, 10, time.Minute) {
		t.Fatal("a request just after the window's edge is not over the limit")
	}
	// Near the end of that window the previous one barely counts.
	c.t = c.t.Add(55 * time.Second)
	if tb.Over(k, 10, time.Minute) {
		t.Fatal("over the limit with the previous window nearly past")
	}
}

func TestMemoryBoundedUnderAFloodOfAddresses(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const max = 1024
	tb := New(max, c.now)
	hot := Key{Rule: "r", Addr: netip.MustParseAddr("198.51.100.1")}
	for i := range 100_000 {
		b := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		tb.Over(Key{Rule: "r", Addr: netip.AddrFrom4(b)}, 10, time.Minute)
		if i%50 == 0 {
			tb.Over(hot, 1_000_000, time.Minute) // recently counted: kept
		}
	}
	if n := tb.Len(); n > max {
		t.Fatalf("%d keys counted, want at most %d", n, max)
	}
	s := &tb.shards[tb.shard(hot)]
	if s.items[hot] == nil {
		t.Fatal("the recently counted key was evicted")
	}
}

// A flood of new addresses does not unblock one over its limit: the
// table forgets the quietest under-limit keys first.
func TestFloodDoesNotForgetABlockedKey(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb := New(shards*4, c.now)
	blocked := Key{Rule: "r", Addr: netip.MustParseAddr("198.51.100.1")}
	for range 11 {
		tb.Over(blocked, 10, time.Minute)
	}
	for i := range 10_000 {
		b := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		tb.Over(Key{Rule: "r", Addr: netip.AddrFrom4(b)}, 10, time.Minute)
	}
	if n := tb.Len(); n > shards*4 {
		t.Fatalf("%d keys counted, want at most %d", n, shards*4)
	}
	c.t = c.t.Add(time.Second)
	if !tb.Over(blocked, 10, time.Minute) {
		t.Fatal("a flood of 10,000 other addresses unblocked an address over its limit")
	}
}

// Custom keys (a rule's header, cookie, ... values) are counted apart
// from each other and from the addresses, and a flood of new ones (a
// viewer writes its API key) does not forget one over its limit.
func TestCustomKeys(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb := New(shards*4, c.now)
	for _, k := range []struct {
		key  Key
		over bool // after the 11 requests of the first key
	}{
		{Key{Rule: "r", Custom: "2:k1"}, true},
		{Key{Rule: "r", Custom: "2:k2"}, false},
		{Key{Rule: "r"}, false},
		{Key{Rule: "other", Custom: "2:k1"}, false},
	} {
		n := 1
		if k.over {
			n = 11
		}
		var over bool
		for range n {
			over = tb.Over(k.key, 10, time.Minute)
		}
		if over != k.over {
			t.Errorf("%+v: over %v, want %v", k.key, over, k.over)
		}
	}
	for i := range 10_000 {
		tb.Over(Key{Rule: "r", Custom: "k" + string(rune('a'+i%26)) + string(rune(i))}, 10, time.Minute)
	}
	if !tb.Over(Key{Rule: "r", Custom: "2:k1"}, 10, time.Minute) {
		t.Fatal("a flood of other custom keys unblocked one over its limit")
	}
}
