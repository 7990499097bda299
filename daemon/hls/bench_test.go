package hls

import (
	"bytes"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"openfront.dev/daemon/hls/hlstest"
)

// BenchmarkPackage measures the packager's CPU per second of stream, fed
// as fast as it goes: cpu-ms/stream-s is user+system time (GC included)
// over the media's duration.
func BenchmarkPackage(b *testing.B) {
	for _, bc := range []struct {
		name string
		m    hlstest.Media
	}{
		{"320x180", hlstest.Media{Seconds: 10, GOP: 60}},
		{"640x360-2Mbps", hlstest.Media{Seconds: 10, GOP: 60, Size: "640x360", Extra: []string{"-b:v", "2M", "-maxrate", "2M", "-bufsize", "1M"}}},
	} {
		m := bc.m
		b.Run(bc.name, func(b *testing.B) {
			tags := hlstest.Tags(b, hlstest.FLV(b, m))
			var bytesIn int
			for _, tg := range tags {
				bytesIn += len(tg.Body)
			}
			r := quietRegistry(Options{})
			b.SetBytes(int64(bytesIn))
			b.ReportAllocs()
			before := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				tr := r.Publish("tv", "bench")
				hlstest.Feed(tr, tags, false)
				tr.End()
			}
			b.StopTimer()
			streamSeconds := float64(b.N * m.Seconds)
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/streamSeconds, "cpu-ms/stream-s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// keyTimes records when each video keyframe was fed.
type keyTimes struct {
	LiveTrack
	mu    sync.Mutex
	times []time.Time
}

func (k *keyTimes) Media(typeID uint8, ts uint32, body []byte) {
	if typeID == typeVideo && len(body) > 1 && body[0]>>4 == frameKey && body[1] == packetData {
		k.mu.Lock()
		k.times = append(k.times, time.Now())
		k.mu.Unlock()
	}
	k.LiveTrack.Media(typeID, ts, body)
}

// BenchmarkListingLatency publishes 10 s of 2 s GOPs in real time (run it
// with -benchtime=1x) while a reader polls the playlist every millisecond.
// keyframe-to-listed-s is the time from feeding a segment's first keyframe
// to the segment being listed, the packager's share of end-to-end latency
// (a segment is listed when the keyframe after it arrives);
// close-to-listed-ms is the time from that next keyframe to the listing.
func BenchmarkListingLatency(b *testing.B) {
	tags := hlstest.Tags(b, hlstest.FLV(b, hlstest.Media{Seconds: 10, GOP: 60}))
	var sumOpen, maxOpen, sumClose, maxClose time.Duration
	var n int
	for b.Loop() {
		r := quietRegistry(Options{})
		tr := &keyTimes{LiveTrack: r.Publish("tv", "bench")}
		done := make(chan struct{})
		var listedAt []time.Time
		var wg sync.WaitGroup
		wg.Go(func() {
			seen := 0
			for {
				if pl, ok := r.Playlist("tv", "bench"); ok {
					p, _, err := m3u8.DecodeFrom(bytes.NewReader(pl), true)
					if err != nil {
						b.Error(err)
						return
					}
					for range len(hlstest.Listed(p.(*m3u8.MediaPlaylist))) - seen {
						listedAt = append(listedAt, time.Now())
						seen++
					}
				}
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
				}
			}
		})
		hlstest.Feed(tr, tags, true)
		// Only segments closed by a keyframe: the last one ends with End.
		time.Sleep(50 * time.Millisecond)
		close(done)
		wg.Wait()
		tr.End()
		tr.mu.Lock()
		for i, at := range listedAt {
			if i+1 >= len(tr.times) {
				break
			}
			open, closed := at.Sub(tr.times[i]), at.Sub(tr.times[i+1])
			sumOpen, sumClose, n = sumOpen+open, sumClose+closed, n+1
			maxOpen, maxClose = max(maxOpen, open), max(maxClose, closed)
		}
		tr.mu.Unlock()
	}
	if n == 0 {
		b.Fatal("no segment was listed")
	}
	b.ReportMetric((sumOpen / time.Duration(n)).Seconds(), "keyframe-to-listed-s")
	b.ReportMetric(maxOpen.Seconds(), "max-keyframe-to-listed-s")
	b.ReportMetric(float64((sumClose/time.Duration(n)).Microseconds())/1000, "close-to-listed-ms")
	b.ReportMetric(float64(maxClose.Microseconds())/1000, "max-close-to-listed-ms")
}
