package edge

import (
	"errors"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
)

// After a request of a distribution is served, its access log line is
// written (when the distribution logs) and its request metrics counted
// (when metrics are registered). Both read the response through an
// accesslog.Capture; requests of neither kind are served unwrapped.
// Requests that match no distribution are neither logged nor counted, as
// CloudFront logs only a distribution's requests.

// SetAccessLogs makes the handler log the requests of distributions with
// logging.enabled into m's writers; call it before SetTable. The caller
// gives m each table (m.SetTable) before the handler, so a new
// distribution's first request finds its writer.
func (h *Handler) SetAccessLogs(m *accesslog.Manager) { h.logs = m }

// distState is what a request of one distribution needs to be logged and
// counted, resolved when the table is set so that a request does no label
// lookup.
type distState struct {
	log     *accesslog.Writer // nil: the distribution does not log
	m       *distMetrics      // nil: metrics are off
	origins map[string]*originStats
	fns     map[fnKey]*fnStats
}

// distMetrics are a distribution's request series. They outlive a table
// (a swap keeps them), so a child made once is made for good.
type distMetrics struct {
	id       string
	requests *prometheus.CounterVec
	children [len(results)][len(statusClasses)][len(protocols)]atomic.Pointer[prometheus.Counter]
	in, out  prometheus.Counter
	// cacheable counts GET, HEAD and OPTIONS requests by results' first
	// three (Hit, RefreshHit, Miss), made with the distribution so that
	// a hit ratio has its zeros from the start.
	cacheable [3]prometheus.Counter
	originIDs map[string]bool // the origins with series, for deleting them
	fnKeys    map[fnKey]bool  // the functions with series, likewise
	// mu orders making a child with deleting the series: a request that
	// outlives its distribution's removal (gone) makes none.
	mu   sync.Mutex
	gone bool
}

// discarded takes the counts of a removed distribution's last requests;
// it is never registered, so they go nowhere.
var discarded = prometheus.NewCounter(prometheus.CounterOpts{Name: "openfront_discarded"})

var (
	// results are x-edge-result-type's values.
	results = [...]string{accesslog.Hit, accesslog.RefreshHit, accesslog.Miss, accesslog.Error, accesslog.Redirect, accesslog.LimitExceeded, accesslog.CapacityExceeded, accesslog.FunctionGeneratedResponse}
	// statusClasses: 000 is a viewer that went away before a status was sent.
	statusClasses = [...]string{"000", "1xx", "2xx", "3xx", "4xx", "5xx"}
	protocols     = [...]string{"http1.1", "http2", "http3", "http1.0"}
)

func resultIndex(rt string) int {
	for i, r := range results {
		if r == rt {
			return i
		}
	}
	return 3 // Error
}

func statusIndex(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// protocolIndex is r's protocol in protocols; HTTP/0.9 never gets here.
func protocolIndex(r *http.Request) int {
	switch {
	case r.ProtoMajor == 2:
		return 1
	case r.ProtoMajor == 3:
		return 2
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return 3
	}
	return 0
}

// counter is the requests child for one combination, made on first use.
func (m *distMetrics) counter(result, class, proto int) prometheus.Counter {
	p := &m.children[result][class][proto]
	if c := p.Load(); c != nil {
		return *c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return discarded
	}
	c := m.requests.WithLabelValues(m.id, statusClasses[class], results[result], protocols[proto])
	p.Store(&c)
	return c
}

// SetTable swaps the table atomically: requests in flight finish on the
// old one. The per-distribution state is built first.
func (h *Handler) SetTable(t *table.Table) {
	h.setMu.Lock()
	defer h.setMu.Unlock()
	states := make(map[string]*distState)
	counting := h.counting.Load()
	keep := make(map[string]bool)
	fns := make(map[fnKey]bool)
	for d := range t.Distributions() {
		st := &distState{}
		if h.logs != nil && d.Spec.Logging.Enabled {
			st.log = h.logs.Writer(d.ID)
		}
		if counting {
			st.m = h.distMetrics(d)
			st.origins = h.originStats(d, st.m)
			st.fns = h.functionStats(d, st.m, fns)
		}
		if st.log != nil || st.m != nil {
			states[d.ID] = st
		}
		keep[d.ID] = true
		h.forgetWAFRules(d)
	}
	for id := range h.wafRules {
		if !keep[id] {
			delete(h.wafRules, id)
			h.metrics.waf.DeletePartialMatch(prometheus.Labels{"distribution": id})
		}
	}
	for id, m := range h.series {
		if !keep[id] {
			delete(h.series, id)
			m.mu.Lock()
			m.gone = true
			h.metrics.forget(id)
			m.mu.Unlock()
		}
	}
	if counting {
		h.forgetFunctions(fns)
	}
	h.states.Store(&states)
	h.table.Store(t)
}

// distMetrics returns d's series, made the first time d is seen.
func (h *Handler) distMetrics(d *table.Distribution) *distMetrics {
	if m := h.series[d.ID]; m != nil {
		return m
	}
	if h.series == nil {
		h.series = map[string]*distMetrics{}
	}
	m := &distMetrics{id: d.ID, requests: h.metrics.requests, in: h.metrics.requestBytes.WithLabelValues(d.ID),
		out: h.metrics.responseBytes.WithLabelValues(d.ID), originIDs: map[string]bool{}, fnKeys: map[fnKey]bool{}}
	for i := range m.cacheable {
		m.cacheable[i] = h.metrics.cacheable.WithLabelValues(d.ID, results[i])
	}
	h.series[d.ID] = m
	return m
}

// state is the logging and metrics state of distribution id, nil when
// neither is on.
func (h *Handler) state(id string) *distState {
	if s := h.states.Load(); s != nil {
		return (*s)[id]
	}
	return nil
}

// observed is the viewer's writer wrapped for the log and the metrics,
// with what the handler learnt on the way (the detailed result type, and
// that the stream is to be reset once logged).
type observed struct {
	accesslog.Capture
	detail string
	abort  bool
}

var observedPool = sync.Pool{New: func() any { return new(observed) }}

// observe wraps w for a request of a distribution that logs or counts.
func observe(w http.ResponseWriter, r *http.Request, start time.Time) *observed {
	o := observedPool.Get().(*observed)
	o.Reset(w, r, start)
	return o
}

// finish logs and counts the request o served, and puts o back.
func (st *distState) finish(o *observed, r *http.Request, id string) {
	var xcache string
	if v := o.Header()["X-Cache"]; len(v) > 0 {
		xcache = v[0]
	}
	detail := o.detail
	if o.HungUp() { // whatever the origin request that read the body made of it
		detail = accesslog.ClientHungUpRequest
	}
	if st.log != nil {
		rec := o.Record(o.Now())
		rec.RequestID = id
		rec.SetResult(xcache, o.Aborted(), detail)
		st.log.Log(&rec)
		// The metrics take the record's values rather than work them
		// out again.
		st.m.count(r, rec.ResultType, rec.Status, rec.BytesIn, rec.BytesOut)
	} else if st.m != nil {
		status := o.StatusSent()
		rt, _, _ := accesslog.Results(xcache, status, o.Aborted(), detail)
		st.m.count(r, rt, status, o.BytesIn(), o.BytesOut())
	}
	if forwardsBody(r) {
		// An origin request may still read the body after the handler
		// returned (the transport sends it in the background): o, whose
		// wrapper it reads through, is left to the garbage collector
		// rather than reused. Only such a body counts: HTTP/3 gives
		// every request one, a GET's too.
		return
	}
	o.Release()
	o.detail, o.abort = "", false
	observedPool.Put(o)
}

// count counts request r with its final result type; m may be nil
// (metrics are off).
func (m *distMetrics) count(r *http.Request, result string, status int, in, out int64) {
	if m == nil {
		return
	}
	ri := resultIndex(result)
	m.counter(ri, statusIndex(status), protocolIndex(r)).Inc()
	if ri < len(m.cacheable) && cacheableMethod(r.Method) {
		m.cacheable[ri].Inc()
	}
	m.in.Add(float64(in))
	m.out.Add(float64(out))
}

// cacheableMethod: CloudFront's CacheHitRate leaves out POST and PUT
// ("HTTP POST and PUT requests, and errors, are not considered cacheable
// requests"); PATCH and DELETE, which no cache answers either, too.
func cacheableMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// observedOf returns the observed writer w is or wraps (a response
// headers policy's writer does), if any.
func observedOf(w http.ResponseWriter) (*observed, bool) { return writerOf[*observed](w) }

// writerOf returns the writer of type T that w is or wraps, if any.
func writerOf[T http.ResponseWriter](w http.ResponseWriter) (T, bool) {
	for {
		if t, ok := w.(T); ok {
			return t, true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			var zero T
			return zero, false
		}
		w = u.Unwrap()
	}
}

// setDetail notes the x-edge-detailed-result-type of an Error response,
// or a Miss's OriginShieldHit.
func setDetail(w http.ResponseWriter, detail string) {
	if o, ok := observedOf(w); ok {
		o.detail = detail
	}
}

// grpcCalled tells the log that the request is served as a gRPC call.
func grpcCalled(w http.ResponseWriter) {
	if o, ok := observedOf(w); ok {
		o.GRPC()
	}
}

// switchProtocols tells the log of the 101 written on a hijacked
// connection, and upgraded what the joined connections then carried.
func switchProtocols(w http.ResponseWriter) {
	if o, ok := observedOf(w); ok {
		o.SwitchProtocols()
	}
}

func upgraded(w http.ResponseWriter, in, out int64) {
	if o, ok := observedOf(w); ok {
		o.Upgraded(in, out)
	}
}

// abortStream resets the viewer's stream (HTTP/2 RST_STREAM, an HTTP/3
// stream reset, an HTTP/1 connection closed without the last chunk)
// rather than ending a response that broke off as if it were whole; call
// it once the status went out. What was written is flushed first: the
// viewer gets the bytes the log counts as sent, for a Range to resume
// from (over HTTP/3 only what it read before the reset came: QUIC drops
// the rest). A request being logged is aborted by ServeHTTP once its
// line is written: a panic here would unwind past the log and the
// metrics. It returns only if the reset is left to the HTTP/3 server
// (resetStream), once the handler returns.
func abortStream(w http.ResponseWriter, r *http.Request) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if o, ok := observedOf(w); ok {
		o.abort = true
		return
	}
	resetStream(w, r)
}

// resetStream aborts the response on w by panicking with
// http.ErrAbortHandler, except over HTTP/3: quic-go resets a panicking
// handler's stream with H3_INTERNAL_ERROR, a failure of the HTTP stack
// (RFC 9114 8.1), where a server that abandons a response after partial
// processing SHOULD send H3_REQUEST_CANCELLED (4.1.1). quic-go sends
// that once the handler returns with a DATA frame left unfinished: a
// write past an expired deadline leaves one, sending none of it.
func resetStream(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 3 && http.NewResponseController(w).SetWriteDeadline(time.Unix(1, 0)) == nil {
		if _, err := w.Write(abortByte); errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// abortByte is what resetStream fails to write.
var abortByte = []byte{0}
