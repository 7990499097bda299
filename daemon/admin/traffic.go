package admin

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The status page's charts come from the node's own Prometheus registry:
// a sampler gathers it every few seconds into a bounded ring, and
// /status/traffic turns consecutive samples into rates. The metrics read
// (names and labels as the edge registers them):
//
//	openfront_requests_total{distribution,status_class,result,protocol}
//	openfront_cacheable_requests_total{distribution,result}
//	openfront_response_bytes_total{distribution}
//	openfront_rtmp_sent_bytes_total{distribution} (a streaming distribution's)
//	openfront_origin_errors_total{distribution,origin,kind}
//	openfront_origin_request_duration_seconds{distribution,origin} (histogram)
const (
	defaultSampleEvery = 2 * time.Second
	ringSize           = 300 // 10 minutes at 2s
)

// TrafficStatus is the JSON of /status/traffic.
type TrafficStatus struct {
	SampleSeconds float64               `json:"sampleSeconds"`
	Distributions []DistributionTraffic `json:"distributions"`
}

// DistributionTraffic is one distribution's recent traffic and origins.
type DistributionTraffic struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"` // "web" or "streaming"
	Enabled bool     `json:"enabled"`
	Comment string   `json:"comment,omitempty"`
	Aliases []string `json:"aliases"`
	// Points are per sampling period, oldest first.
	Points []TrafficPoint `json:"points"`
	// Requests and Bytes are totals since the node started.
	Requests float64        `json:"requests"`
	Bytes    float64        `json:"bytes"`
	Origins  []OriginHealth `json:"origins"`
}

// TrafficPoint is one sampling period.
type TrafficPoint struct {
	At                time.Time `json:"at"`
	RequestsPerSecond float64   `json:"requestsPerSecond"`
	// HitRatio is (Hit + RefreshHit) / (Hit + RefreshHit + Miss) of GET,
	// HEAD and OPTIONS requests, like CloudFront's CacheHitRate; null
	// when nothing cacheable was asked.
	HitRatio       *float64 `json:"hitRatio"`
	BytesPerSecond float64  `json:"bytesPerSecond"`
}

// OriginHealth is an origin's requests, errors and latency.
type OriginHealth struct {
	ID           string             `json:"id"`
	Requests     float64            `json:"requests"` // since start
	Errors       float64            `json:"errors"`   // since start
	ErrorKinds   map[string]float64 `json:"errorKinds,omitempty"`
	RecentErrors float64            `json:"recentErrors"` // over the sampled window
	// LastLatencySeconds is the mean origin latency of the latest
	// sampling period that had origin requests.
	LastLatencySeconds *float64 `json:"lastLatencySeconds"`
}

type sample struct {
	at    time.Time
	dists map[string]*distCounters
}

type distCounters struct {
	requests, hits, lookups, bytes float64
	origins                        map[string]*originCounters
}

type originCounters struct {
	errors                   float64
	kinds                    map[string]float64
	latencySum, latencyCount float64
}

type traffic struct {
	src   Source
	reg   prometheus.Gatherer
	every time.Duration

	mu   sync.Mutex
	ring []sample // oldest first
}

func newTraffic(src Source, reg prometheus.Gatherer, opts Options) *traffic {
	tr := &traffic{src: src, reg: reg, every: opts.SampleEvery}
	if tr.every <= 0 {
		tr.every = defaultSampleEvery
	}
	if opts.Context != nil && reg != nil {
		go tr.run(opts)
	}
	return tr
}

func (tr *traffic) run(opts Options) {
	tick := time.NewTicker(tr.every)
	defer tick.Stop()
	for {
		tr.sample(time.Now())
		select {
		case <-opts.Context.Done():
			return
		case <-tick.C:
		}
	}
}

func (tr *traffic) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /status/traffic", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, tr.status())
	})
}

// sample gathers the registry once into the ring.
func (tr *traffic) sample(at time.Time) {
	mfs, err := tr.reg.Gather()
	if err != nil && len(mfs) == 0 {
		return
	}
	s := sample{at: at, dists: map[string]*distCounters{}}
	dist := func(m *dto.Metric) *distCounters {
		id := label(m, "distribution")
		d := s.dists[id]
		if d == nil {
			d = &distCounters{origins: map[string]*originCounters{}}
			s.dists[id] = d
		}
		return d
	}
	orig := func(m *dto.Metric) *originCounters {
		d, id := dist(m), label(m, "origin")
		o := d.origins[id]
		if o == nil {
			o = &originCounters{kinds: map[string]float64{}}
			d.origins[id] = o
		}
		return o
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "openfront_requests_total":
				dist(m).requests += m.GetCounter().GetValue()
			case "openfront_cacheable_requests_total":
				d, v := dist(m), m.GetCounter().GetValue()
				d.lookups += v
				if r := label(m, "result"); r == "Hit" || r == "RefreshHit" {
					d.hits += v
				}
			case "openfront_response_bytes_total", "openfront_rtmp_sent_bytes_total":
				// A streaming distribution's bytes are its RTMP
				// clients'; ids are unique across both kinds.
				dist(m).bytes += m.GetCounter().GetValue()
			case "openfront_origin_errors_total":
				o, v := orig(m), m.GetCounter().GetValue()
				o.errors += v
				if v > 0 { // every kind shows at 0 on /metrics
					o.kinds[label(m, "kind")] += v
				}
			case "openfront_origin_request_duration_seconds":
				o := orig(m)
				o.latencySum += m.GetHistogram().GetSampleSum()
				o.latencyCount += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.ring) == ringSize {
		tr.ring = slices.Delete(tr.ring, 0, 1)
	}
	tr.ring = append(tr.ring, s)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// status lists the table's distributions with what the ring says of them.
func (tr *traffic) status() TrafficStatus {
	tr.mu.Lock()
	ring := slices.Clone(tr.ring)
	tr.mu.Unlock()
	out := TrafficStatus{SampleSeconds: tr.every.Seconds(), Distributions: []DistributionTraffic{}}
	t := tr.src.Table()
	if t == nil {
		return out
	}
	for d := range t.Distributions() {
		dt := DistributionTraffic{ID: d.ID, Kind: "web", Enabled: d.Spec.Enabled, Comment: d.Spec.Comment, Aliases: nonNil(d.Spec.Aliases)}
		fill(&dt, ring, slices.Collect(maps.Keys(d.Origins)))
		out.Distributions = append(out.Distributions, dt)
	}
	for d := range t.StreamingDistributions() {
		dt := DistributionTraffic{ID: d.ID, Kind: "streaming", Enabled: d.Spec.Enabled, Comment: d.Spec.Comment, Aliases: nonNil(d.Spec.Aliases)}
		fill(&dt, ring, nil)
		out.Distributions = append(out.Distributions, dt)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// fill computes a distribution's points and origins from the ring.
func fill(dt *DistributionTraffic, ring []sample, origins []string) {
	dt.Points = []TrafficPoint{}
	zero := &distCounters{origins: map[string]*originCounters{}}
	at := func(i int) *distCounters {
		if d := ring[i].dists[dt.ID]; d != nil {
			return d
		}
		return zero
	}
	for i := 1; i < len(ring); i++ {
		prev, cur := at(i-1), at(i)
		secs := ring[i].at.Sub(ring[i-1].at).Seconds()
		if secs <= 0 {
			continue
		}
		p := TrafficPoint{At: ring[i].at, RequestsPerSecond: delta(cur.requests, prev.requests) / secs, BytesPerSecond: delta(cur.bytes, prev.bytes) / secs}
		if n := delta(cur.lookups, prev.lookups); n > 0 {
			r := delta(cur.hits, prev.hits) / n
			p.HitRatio = &r
		}
		dt.Points = append(dt.Points, p)
	}
	dt.Origins = []OriginHealth{}
	if len(ring) == 0 {
		return
	}
	last, first := at(len(ring)-1), at(0)
	dt.Requests, dt.Bytes = last.requests, last.bytes
	for id := range last.origins {
		if !slices.Contains(origins, id) {
			origins = append(origins, id) // known to the metrics, gone from the table
		}
	}
	slices.Sort(origins)
	for _, id := range origins {
		oh := OriginHealth{ID: id}
		if o := last.origins[id]; o != nil {
			oh.Requests, oh.Errors = o.latencyCount, o.errors
			if len(o.kinds) > 0 {
				oh.ErrorKinds = o.kinds
			}
			if f := first.origins[id]; f != nil {
				oh.RecentErrors = delta(o.errors, f.errors)
			} else {
				oh.RecentErrors = o.errors
			}
		}
		oh.LastLatencySeconds = lastLatency(ring, dt.ID, id)
		dt.Origins = append(dt.Origins, oh)
	}
}

// lastLatency is the mean latency of the newest period with requests.
func lastLatency(ring []sample, dist, origin string) *float64 {
	get := func(i int) *originCounters {
		if d := ring[i].dists[dist]; d != nil {
			return d.origins[origin]
		}
		return nil
	}
	for i := len(ring) - 1; i >= 0; i-- {
		cur := get(i)
		if cur == nil {
			return nil
		}
		prev := &originCounters{}
		if i > 0 && get(i-1) != nil {
			prev = get(i - 1)
		}
		if n := delta(cur.latencyCount, prev.latencyCount); n > 0 {
			v := delta(cur.latencySum, prev.latencySum) / n
			return &v
		}
	}
	return nil
}

// delta is a counter's increase; a counter that went down (a series
// removed and made again) counts from zero.
func delta(cur, prev float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}
