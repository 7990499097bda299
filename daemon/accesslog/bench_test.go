package accesslog

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// typical is a cache hit as browsers send it.
func typical() Record {
	r := Record{
		Time: t0, ClientIP: netip.MustParseAddr("192.0.2.100"), ClientPort: 51234, Method: "GET", Host: "www.example.com",
		Path: "/assets/app.3f9a1c.js", Status: 200, Referer: "https://www.example.com/",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		Query:     "v=12", RequestID: "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC", Protocol: "https", BytesIn: 512, BytesOut: 20480,
		TimeTaken: 180 * time.Microsecond, TimeToFirstByte: 120 * time.Microsecond, TLSProtocol: "TLSv1.3",
		TLSCipher: "TLS_AES_128_GCM_SHA256", ProtocolVersion: "HTTP/2.0", ContentType: "application/javascript",
		ContentLength: 20000, RangeStart: -1, RangeEnd: -1,
	}
	r.SetResult("Hit from openfront", false, "")
	return r
}

// loadGenerator is a hit as wrk asks for it in scripts/bench-edge.sh:
// no agent, no referer, HTTP/1.1 in the clear.
func loadGenerator() Record {
	r := Record{
		Time: t0, ClientIP: netip.MustParseAddr("127.0.0.1"), ClientPort: 39698, Method: "GET", Host: "logged.test",
		Path: "/obj/1k/bench", Status: 200, RequestID: "7VV6QQ2JPF1DAQB1Vc5W4s7D", Protocol: "http", BytesIn: 91,
		BytesOut: 1344, TimeTaken: 80 * time.Microsecond, TimeToFirstByte: 60 * time.Microsecond,
		ProtocolVersion: "HTTP/1.1", ContentType: "application/octet-stream", ContentLength: 1024, RangeStart: -1, RangeEnd: -1,
	}
	r.SetResult("Hit from openfront", false, "")
	return r
}

// BenchmarkFormat is formatting a line; "cached" takes the browser's
// escaped agent and referer from the writer's escapeCache.
func BenchmarkFormat(b *testing.B) {
	for _, c := range []struct {
		name string
		rec  Record
		esc  *escapeCache
	}{{"browser", typical(), nil}, {"browser-cached", typical(), newEscapeCache()}, {"wrk", loadGenerator(), nil}} {
		b.Run(c.name, func(b *testing.B) {
			f := newLineFormat("FRA50-openfront", "www.example.com", false)
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				buf = f.appendLineWith(buf[:0], &c.rec, c.esc)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// requestPathWriter is a Writer whose queue is emptied by a goroutine
// that throws the records away: what Log costs a request, without the
// background formatting and compression competing for the CPU.
func requestPathWriter(b *testing.B) *Writer {
	m, _ := NewMetrics(nil)
	w := &Writer{queue: lineQueue{maxBytes: 4 << 20, wake: make(chan struct{}, 1)}, m: m.forDistribution("bench")}
	w.format.Store(newLineFormat("FRA50-openfront", "www.example.com", false))
	done := make(chan struct{})
	go func() {
		poll := time.NewTicker(pollInterval)
		defer poll.Stop()
		var spare []byte
		var recs []Record
		for {
			select {
			case <-w.queue.wake:
			case <-poll.C:
			case <-done:
				return
			}
			spare, _, recs = w.queue.take(spare, recs)
			clear(recs)
		}
	}()
	b.Cleanup(func() { close(done) })
	return w
}

// BenchmarkLog is the request path's cost: the record copied into the
// writer's queue (the goroutine formats it).
func BenchmarkLog(b *testing.B) {
	w := requestPathWriter(b)
	r := typical()
	b.ReportAllocs()
	for b.Loop() {
		w.Log(&r)
	}
	if d := metric(w.m.dropFull); d > 0 {
		b.Logf("%d of %d dropped", d, b.N)
	}
}

func BenchmarkLogParallel(b *testing.B) {
	w := requestPathWriter(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := typical()
		for pb.Next() {
			w.Log(&r)
		}
	})
}

// cpuTime is the CPU this process used, user and system, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

type nopResponseWriter struct{ h http.Header }

func (w *nopResponseWriter) Header() http.Header         { return w.h }
func (w *nopResponseWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopResponseWriter) WriteHeader(int)             {}

// BenchmarkPerRequest is everything the edge adds to a request: the
// Capture wrapper, building the record, and Log.
func BenchmarkPerRequest(b *testing.B) {
	w := requestPathWriter(b)
	req, _ := http.NewRequest("GET", "https://www.example.com/assets/app.3f9a1c.js?v=12", nil)
	req.RemoteAddr, req.RequestURI, req.Host = "192.0.2.100:51234", "/assets/app.3f9a1c.js?v=12", "www.example.com"
	req.Header.Set("User-Agent", typical().UserAgent)
	req.Header.Set("Referer", "https://www.example.com/")
	req.Header.Set("Accept-Encoding", "gzip, br")
	rw := &nopResponseWriter{h: http.Header{"Content-Type": {"application/javascript"}, "Content-Length": {"20000"}, "X-Cache": {"Hit from openfront"}}}
	body := make([]byte, 20000)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		c := NewCapture(rw, req, start)
		c.WriteHeader(200)
		c.Write(body)
		r := c.Record(time.Now())
		r.RequestID = "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC"
		r.SetResult("Hit from openfront", c.Aborted(), "")
		w.Log(&r)
	}
}

// BenchmarkEndToEnd is the whole cost of a line, background included:
// formatting, queueing, gzip, write and an fsync per 4096 lines (the
// daemon syncs once a second, so fewer). "same" logs one line over and
// over; "varied" lines differ as a busy edge's do (viewers, objects,
// agents, sizes, timings, request ids), which is what gzip pays for.
func BenchmarkEndToEnd(b *testing.B) {
	for _, c := range []struct {
		name string
		recs []Record
	}{{"same", []Record{typical()}}, {"varied", variedRecords(4096)}, {"wrk", wrkRecords(4096)}} {
		b.Run(c.name, func(b *testing.B) {
			opts := Options{Dir: b.TempDir(), NodeName: "FRA50-openfront", Now: atT0, Logger: quietLogger(), FlushInterval: time.Hour}
			w, err := New(opts, webConfig("bench", ""))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				w.Log(&c.recs[i%len(c.recs)])
				if i++; i%4096 == 0 {
					w.Flush(context.Background())
				}
			}
			w.Close(context.Background())
			// CPU, not wall time: an fsync waits without using the processor.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			if d := metric(w.m.dropFull); d > 0 {
				b.Logf("%d of %d dropped", d, b.N)
			}
		})
	}
}

// variedRecords are n requests of a busy edge: a few hundred viewers with
// a handful of agents, a few dozen objects, random request ids.
func variedRecords(n int) []Record {
	rnd := rand.New(rand.NewPCG(1, 2))
	agents := []string{typical().UserAgent, "curl/8.5.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"}
	recs := make([]Record, n)
	for i := range recs {
		r := typical()
		r.Time = t0.Add(time.Duration(i) * 50 * time.Microsecond)
		r.ClientIP = netip.AddrFrom4([4]byte{192, 0, byte(rnd.IntN(4)), byte(rnd.IntN(200))})
		r.ClientPort = 30000 + rnd.IntN(30000)
		r.UserAgent = agents[rnd.IntN(len(agents))]
		r.Path = fmt.Sprintf("/assets/%d/app.%x.js", rnd.IntN(8), rnd.IntN(6))
		r.RequestID = edgeID(i)
		r.BytesOut = int64(rnd.IntN(50000))
		r.TimeTaken = time.Duration(rnd.IntN(5000)) * time.Microsecond
		r.TimeToFirstByte = r.TimeTaken / 2
		recs[i] = r
	}
	return recs
}

// edgeID is the i-th request id of a process as daemon/edge makes them:
// a random part drawn at start, then a count.
func edgeID(i int) string {
	b := []byte("\x5e\x91\x0c\xd2\x33\xa7\x48\xe0\x1f\x6b\xc4\x95\x00\x00")
	b = binary.BigEndian.AppendUint32(b, uint32(1000000+i))
	return base64.RawURLEncoding.EncodeToString(b)
}

// BenchmarkLoopbackHit compares a cache-hit-like response over loopback
// HTTP/1.1 (1 KiB from memory, keep-alive) without and with access
// logging through a real writer: the throughput logging costs.
func BenchmarkLoopbackHit(b *testing.B) {
	body := make([]byte, 1024)
	serve := func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{"1024"}
		h["X-Cache"] = []string{"Hit from openfront"}
		w.Write(body)
	}
	for _, logging := range []bool{false, true} {
		name := "off"
		if logging {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			var lw *Writer
			if logging {
				var err error
				lw, err = New(Options{Dir: b.TempDir(), NodeName: "bench", Logger: quietLogger()}, webConfig("bench", ""))
				if err != nil {
					b.Fatal(err)
				}
				defer lw.Close(context.Background())
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if lw == nil {
					serve(w, r)
					return
				}
				c := NewCapture(w, r, time.Now())
				serve(c, r)
				rec := c.Record(time.Now())
				rec.RequestID = "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC"
				rec.SetResult("Hit from openfront", c.Aborted(), "")
				lw.Log(&rec)
			}))
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(srv.URL + "/assets/app.js?v=1")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.StopTimer()
			if lw != nil {
				if d := metric(lw.m.dropFull); d > 0 {
					b.Logf("%d dropped", d)
				}
			}
		})
	}
}

// wrkRecords are n hits of scripts/bench-edge.sh's load: one object, a
// few dozen connections, random request ids, time advancing.
func wrkRecords(n int) []Record {
	rnd := rand.New(rand.NewPCG(3, 4))
	recs := make([]Record, n)
	for i := range recs {
		r := loadGenerator()
		r.Time = t0.Add(time.Duration(i) * 12 * time.Microsecond)
		r.ClientPort = 39650 + rnd.IntN(50)
		r.RequestID = edgeID(i)
		recs[i] = r
	}
	return recs
}

// BenchmarkCapture is the Capture of an HTTP/2 or HTTP/3 request (a
// writer that does not size its bytes) with a browser's header: wrapping
// it, the answer, and building the record.
func BenchmarkCapture(b *testing.B) {
	req, _ := http.NewRequest("GET", "https://www.example.com/assets/app.3f9a1c.js?v=12", nil)
	req.RemoteAddr, req.RequestURI, req.Host = "192.0.2.100:51234", "/assets/app.3f9a1c.js?v=12", "www.example.com"
	req.ProtoMajor = 2
	for k, v := range map[string]string{
		"User-Agent":      typical().UserAgent,
		"Referer":         "https://www.example.com/",
		"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Encoding": "gzip, deflate, br, zstd",
		"Accept-Language": "en-GB,en;q=0.5",
		"Cookie":          "session=0123456789abcdef; theme=dark",
		"Sec-Fetch-Dest":  "script",
		"Sec-Fetch-Mode":  "no-cors",
		"Sec-Fetch-Site":  "same-origin",
		"Priority":        "u=2",
		"If-None-Match":   `"3f9a1c"`,
	} {
		req.Header.Set(k, v)
	}
	rw := &nopResponseWriter{h: http.Header{"Content-Type": {"application/javascript"}, "Content-Length": {"20000"}, "X-Cache": {"Hit from openfront"}}}
	body := make([]byte, 20000)
	var c Capture
	b.ReportAllocs()
	for b.Loop() {
		c.Reset(rw, req, time.Now())
		c.WriteHeader(200)
		c.Write(body)
		r := c.Record(time.Now())
		if r.UserAgent == "" {
			b.Fatal("no user agent")
		}
	}
}
