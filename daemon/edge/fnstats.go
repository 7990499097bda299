package edge

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/cffunc"
)

// Function events, the event_type label; a behavior's function runs on one.
const (
	eventViewerRequest = iota
	eventViewerResponse
	numEvents
)

var eventTypes = [numEvents]string{"viewer-request", "viewer-response"}

// Function results, the result label of openfront_function_invocations_total:
// CloudFront's FunctionInvocations split as its FunctionValidationErrors,
// FunctionExecutionErrors and FunctionThrottles are.
const (
	fnOK = iota
	fnGenerated
	fnValidationError
	fnExecutionError
	fnThrottled
	numFnResults
)

var fnResults = [numFnResults]string{"ok", "generated_response", "validation_error", "execution_error", "throttled"}

// fnFailure is the result of a run that failed with err.
func fnFailure(err error) int {
	var ee *cffunc.ExecutionError
	var ve *cffunc.ValidationError
	switch {
	case errors.As(err, &ve):
		return fnValidationError
	case errors.As(err, &ee) && ee.Throttled:
		return fnThrottled
	}
	return fnExecutionError
}

// fnKey is a function on one event.
type fnKey struct {
	name  string
	event int
}

// fnStats are the series of one function on one event of a distribution,
// resolved when the table is set: a run does no label lookup.
type fnStats struct {
	runs     [numFnResults]prometheus.Counter // nil: a result the event cannot have
	duration prometheus.Observer
}

// functionStats resolves the function series of d, and deletes those of
// functions d no longer runs; used collects the functions whose duration
// series are to stay.
func (h *Handler) functionStats(d *table.Distribution, m *distMetrics, used map[fnKey]bool) map[fnKey]*fnStats {
	out := map[fnKey]*fnStats{}
	for _, b := range d.Behaviors {
		for ev, f := range [numEvents]*cffunc.Function{b.ViewerRequest, b.ViewerResponse} {
			if f == nil || out[fnKey{f.Name, ev}] != nil {
				continue
			}
			k := fnKey{f.Name, ev}
			s := &fnStats{duration: h.metrics.functionDuration.WithLabelValues(f.Name, eventTypes[ev])}
			for res := range s.runs {
				// Only a viewer-request function answers in place of the origin.
				if res != fnGenerated || ev == eventViewerRequest {
					s.runs[res] = h.metrics.functionRuns.WithLabelValues(d.ID, f.Name, eventTypes[ev], fnResults[res])
				}
			}
			out[k], used[k] = s, true
		}
	}
	for k := range m.fnKeys {
		if out[k] == nil {
			h.metrics.functionRuns.DeletePartialMatch(prometheus.Labels{"distribution": d.ID, "function": k.name, "event_type": eventTypes[k.event]})
			delete(m.fnKeys, k)
		}
	}
	for k := range out {
		m.fnKeys[k] = true
	}
	return out
}

// forgetFunctions deletes the duration series of the functions no
// distribution runs any longer.
func (h *Handler) forgetFunctions(used map[fnKey]bool) {
	for k := range h.fnKeys {
		if !used[k] {
			h.metrics.functionDuration.DeleteLabelValues(k.name, eventTypes[k.event])
		}
	}
	h.fnKeys = used
}

// functionRun is the series of a run of function f of distribution d on
// event, and when it started; s is nil when metrics are off.
type functionRun struct {
	s     *fnStats
	start time.Time
}

func (h *Handler) startFunction(d *table.Distribution, f *cffunc.Function, event int) functionRun {
	st := h.state(d.ID)
	if st == nil || st.m == nil {
		return functionRun{}
	}
	s := st.fns[fnKey{f.Name, event}]
	if s == nil { // a function the newer table no longer runs
		return functionRun{}
	}
	return functionRun{s, time.Now()}
}

// done counts the run, which generated a response or failed with err.
func (r functionRun) done(generated bool, err error) {
	if r.s == nil {
		return
	}
	r.s.duration.Observe(time.Since(r.start).Seconds())
	res := fnOK
	switch {
	case err != nil:
		res = fnFailure(err)
	case generated:
		res = fnGenerated
	}
	if c := r.s.runs[res]; c != nil {
		c.Inc()
	}
}
