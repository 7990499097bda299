package admin

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
)

// The invalidation API, after CloudFront's CreateInvalidation,
// GetInvalidation and ListInvalidations, in JSON:
//
//	POST /distributions/ID/invalidations     {"paths": [...], "callerReference": "..."}
//	GET  /distributions/ID/invalidations/INV
//	GET  /distributions/ID/invalidations[?MaxItems=N&Marker=ID]
//
// Paths are matched against the request path the viewer sent, in its
// percent-encoded form, as CloudFront does: "/caf%C3%A9.jpg" names what
// viewers request as /caf%C3%A9.jpg. Both are compared in one canonical
// spelling (cache.CanonicalPath): what a browser always encodes (controls,
// space, " < > ` { } and non-ASCII) encoded, hex in upper case. So
// "/café.jpg" and "/caf%c3%a9.jpg" name it too, and it goes whether a
// viewer sent /caf%c3%a9.jpg or raw UTF-8; a "%" is taken as already
// encoding something. A path without a query removes every query, header
// and cookie variant of its objects (broader than CloudFront, which keeps
// the variants with a query string unless the path ends in "*"). A path
// with a query, "/a.jpg?w=100", removes the one object viewers get with
// that query: the query is reduced to what the serving behavior keys
// (its queryStringCacheKeys, or nothing when it keys no query), so
// "/a.jpg?w=100&utm=x" names the same object as "/a.jpg?w=100" when only
// w is keyed. Its header and cookie variants go with it, as in CloudFront,
// and, whatever their query, the path's entries that a config since
// changed cached (in cache scopes no behavior has now), which a rollback
// would serve again.
// "/" also removes the default root object, which viewers get at "/" and
// the edge caches under "/index.html" (so "/index.html" goes with it).

const (
	maxPaths      = 3000 // CloudFront's limit per invalidation
	maxPathLen    = 4000 // CloudFront's limit per path
	keptCompleted = 1000 // completed invalidations remembered, node-wide
	// keptBytes bounds what they hold: 1,000 of 3,000 paths of 4,000
	// bytes would be 12 GB.
	keptBytes = 64 << 20
	// An invalidation in progress is never forgotten (its caller polls
	// it), so a new one is refused past these, as CloudFront refuses
	// with TooManyInvalidationsInProgress: they bound the goroutines and
	// paths of invalidations queued for the cache. Half of keptBytes is
	// two full batches.
	maxRunning      = 100
	maxRunningBytes = keptBytes / 2
	maxBatchBytes   = 16 << 20
)

// Statuses, as CloudFront spells them.
const (
	StatusInProgress = "InProgress"
	StatusCompleted  = "Completed"
)

// Invalidator removes cached objects; *cache.Cache is one.
type Invalidator interface {
	InvalidatePaths(distribution string, p cache.Paths) int
}

// InvalidationBatch is the body of POST /distributions/ID/invalidations.
type InvalidationBatch struct {
	Paths           []string `json:"paths"`
	CallerReference string   `json:"callerReference"`
}

// Invalidation is one invalidation and its progress.
type Invalidation struct {
	ID              string    `json:"id"`
	DistributionID  string    `json:"distributionId"`
	Status          string    `json:"status"`
	CreateTime      time.Time `json:"createTime"`
	Paths           []string  `json:"paths"`
	CallerReference string    `json:"callerReference"`
	// Removed is how many cached entries it removed (variants count
	// one each), once Completed.
	Removed int `json:"removed"`
}

// InvalidationList is GET /distributions/ID/invalidations: newest first,
// all of them, or pages as ListInvalidations gives them: ?MaxItems=N
// (at most N) and ?Marker=ID (those after that invalidation); NextMarker
// is the Marker of the next page while IsTruncated.
type InvalidationList struct {
	Marker      string                `json:"marker,omitempty"`
	NextMarker  string                `json:"nextMarker,omitempty"`
	MaxItems    int                   `json:"maxItems,omitempty"`
	IsTruncated bool                  `json:"isTruncated"`
	Quantity    int                   `json:"quantity"`
	Items       []InvalidationSummary `json:"items"`
}

// InvalidationSummary is an invalidation in a list.
type InvalidationSummary struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	CreateTime time.Time `json:"createTime"`
}

// APIError is the body of every error the API answers, with CloudFront's
// error codes (InvalidArgument, NoSuchDistribution, ...).
type APIError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	var e APIError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// invalidations keeps the recent invalidations in memory, bounded.
type invalidations struct {
	src   Source
	cache Invalidator
	auth  bearer

	mu           sync.Mutex
	all          []*Invalidation // oldest first
	bytes        int             // their paths' and callerReferences' bytes
	running      int             // how many are InProgress
	runningBytes int             // and their bytes
	byID         map[string]*Invalidation
	byRef        map[string]*Invalidation // distribution NUL callerReference
}

func newInvalidations(src Source, opts Options) *invalidations {
	return &invalidations{src: src, cache: opts.Cache, auth: bearer{opts.TokenFile},
		byID: map[string]*Invalidation{}, byRef: map[string]*Invalidation{}}
}

func (s *invalidations) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /distributions/{dist}/invalidations", s.guard(s.create))
	mux.HandleFunc("GET /distributions/{dist}/invalidations", s.guard(s.list))
	mux.HandleFunc("GET /distributions/{dist}/invalidations/{id}", s.guard(s.get))
}

// guard checks the token, then that the distribution is served.
func (s *invalidations) guard(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.check(w, r) {
			return
		}
		dist := r.PathValue("dist")
		if t := s.src.Table(); t == nil || t.Distribution(dist) == nil {
			apiError(w, http.StatusNotFound, "NoSuchDistribution", fmt.Sprintf("no web distribution %q in the table this node serves", dist))
			return
		}
		h(w, r, dist)
	}
}

func (s *invalidations) create(w http.ResponseWriter, r *http.Request, dist string) {
	batch, err := decodeBatch(http.MaxBytesReader(w, r.Body, maxBatchBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			apiError(w, http.StatusRequestEntityTooLarge, "BatchTooLarge", fmt.Sprintf("the body is over %d bytes", maxBatchBytes))
			return
		}
		if errors.Is(err, errNoBody) {
			// CloudFront's MissingBody: "This operation requires a body".
			apiError(w, http.StatusBadRequest, "MissingBody", `the request has no body: send {"paths": [...], "callerReference": "..."}`)
			return
		}
		apiError(w, http.StatusBadRequest, "MalformedInput", fmt.Sprintf(`the body is not {"paths": [...], "callerReference": "..."}: %v`, err))
		return
	}
	if len(batch.Paths) > maxPaths {
		// CloudFront's BatchTooLarge (413), which a script splits on,
		// not InvalidArgument.
		apiError(w, http.StatusRequestEntityTooLarge, "BatchTooLarge", fmt.Sprintf("an invalidation has at most %d paths, not %d: split it", maxPaths, len(batch.Paths)))
		return
	}
	encoded, err := checkBatch(batch)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidArgument", err.Error())
		return
	}
	inv, existed, err := s.add(dist, batch)
	if e, ok := errors.AsType[*refusal](err); ok {
		apiError(w, e.status, e.code, e.msg)
		return
	}
	if !existed {
		go s.run(inv, s.compile(dist, encoded))
	}
	// A relative reference (RFC 9110 §10.2.2): the listener cannot know
	// the scheme a viewer used, through a TLS-terminating proxy say.
	w.Header().Set("Location", "/distributions/"+dist+"/invalidations/"+inv.ID)
	writeJSON(w, http.StatusCreated, s.snapshot(inv))
}

// decodeBatch reads a batch: one object whose fields are named exactly
// and once each. encoding/json alone would take "PATHS" for "paths" and
// the last of two "paths", so that a batch a proxy, a log or a reviewer
// reads one way would run another.
func decodeBatch(r io.Reader) (InvalidationBatch, error) {
	var batch InvalidationBatch
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); errors.Is(err, io.EOF) {
		return batch, errNoBody
	} else if err != nil {
		return batch, err
	} else if tok != json.Delim('{') {
		return batch, fmt.Errorf("%v is not an object", tok)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return batch, err
		}
		name, _ := tok.(string) // the decoder takes nothing else in a key's place
		var field any
		switch name {
		case "paths":
			field = &batch.Paths
		case "callerReference":
			field = &batch.CallerReference
		default:
			return batch, fmt.Errorf("unknown field %q", name)
		}
		if seen[name] {
			return batch, fmt.Errorf("field %q is given twice", name)
		}
		seen[name] = true
		if err := dec.Decode(field); err != nil {
			return batch, fmt.Errorf("%s: %w", name, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return batch, err
	}
	// One object and nothing more: a second batch glued on would be
	// silently lost.
	if _, err := dec.Token(); err == nil {
		return batch, errors.New("there is more after the object")
	} else if !errors.Is(err, io.EOF) {
		return batch, err
	}
	return batch, nil
}

// errNoBody is decodeBatch's error for a body of nothing but white space.
var errNoBody = errors.New("no body")

// refusal is an error add answers with, in CloudFront's terms.
type refusal struct {
	status    int
	code, msg string
}

func (e *refusal) Error() string { return e.code + ": " + e.msg }

// add stores a new invalidation, or returns the one made with the same
// callerReference: the same paths make the request a repeat, other paths
// a conflict, as in CloudFront.
func (s *invalidations) add(dist string, batch InvalidationBatch) (*Invalidation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := dist + "\x00" + batch.CallerReference
	if old := s.byRef[ref]; old != nil {
		if !samePaths(old.Paths, batch.Paths) {
			return nil, false, &refusal{http.StatusConflict, "InvalidationBatchAlreadyExists",
				fmt.Sprintf("callerReference %q was used by invalidation %s with other paths", batch.CallerReference, old.ID)}
		}
		return old, true, nil
	}
	inv := &Invalidation{ID: newID(), DistributionID: dist, Status: StatusInProgress, CreateTime: time.Now().UTC(),
		Paths: slices.Clone(batch.Paths), CallerReference: batch.CallerReference}
	if s.running >= maxRunning || s.runningBytes+inv.size() > maxRunningBytes {
		return nil, false, &refusal{http.StatusBadRequest, "TooManyInvalidationsInProgress",
			fmt.Sprintf("this node has %d invalidations in progress (%d bytes of paths): retry once some have completed", s.running, s.runningBytes)}
	}
	s.all = append(s.all, inv)
	s.byID[inv.ID], s.byRef[ref] = inv, inv
	s.bytes += inv.size()
	s.running++
	s.runningBytes += inv.size()
	s.forget()
	return inv, false, nil
}

// forget drops the oldest completed invalidations past keptCompleted and
// keptBytes; s.mu is held.
func (s *invalidations) forget() {
	for i := 0; i < len(s.all) && (len(s.all)-s.running > keptCompleted || s.bytes > keptBytes); {
		old := s.all[i]
		if old.Status == StatusInProgress {
			i++
			continue
		}
		s.all = slices.Delete(s.all, i, i+1)
		s.bytes -= old.size()
		delete(s.byID, old.ID)
		delete(s.byRef, old.DistributionID+"\x00"+old.CallerReference)
	}
}

// size is what inv holds, for keptBytes.
func (inv *Invalidation) size() int {
	n := len(inv.CallerReference)
	for _, p := range inv.Paths {
		n += len(p)
	}
	return n
}

// compile turns checked paths into what the cache matches. A path with a
// query is resolved now, on the current table: the behavior that serves
// the path says which part of the query its cache key holds. "/" also
// names the default root object, which the edge caches under its own path.
func (s *invalidations) compile(dist string, encoded []string) cache.Paths {
	var d *table.Distribution
	if t := s.src.Table(); t != nil {
		d = t.Distribution(dist) // nil if a reload removed it since guard: nothing of it is served
	}
	type object struct{ scope, path, keyedQuery string }
	var plain []string
	var objects []object
	for _, e := range encoded {
		path, query, hasQuery := strings.Cut(e, "?")
		switch {
		case !hasQuery:
			plain = append(plain, e)
			if d != nil && d.ObjectPath(e) != e {
				plain = append(plain, d.ObjectPath(e))
			}
		case d != nil:
			b := d.Behavior(path)
			objects = append(objects, object{b.CacheScope, d.ObjectPath(path), table.KeyedQuery(b.Spec.ForwardedValues, query)})
		}
	}
	p := cache.NewPaths(plain)
	for _, o := range objects {
		p.AddObject(o.scope, o.path, o.keyedQuery)
	}
	if d != nil {
		// What a config since changed cached stays in the cache, in scopes
		// of its own, and a rollback serves it again.
		scopes := make([]string, len(d.Behaviors))
		for i, b := range d.Behaviors {
			scopes[i] = b.CacheScope
		}
		p.SetLiveScopes(scopes)
	}
	return p
}

// run removes the objects; invalidations run concurrently, like CloudFront's.
func (s *invalidations) run(inv *Invalidation, p cache.Paths) {
	n := 0
	if s.cache != nil {
		n = s.cache.InvalidatePaths(inv.DistributionID, p)
	}
	s.mu.Lock()
	inv.Status, inv.Removed = StatusCompleted, n
	s.running--
	s.runningBytes -= inv.size()
	s.forget()
	s.mu.Unlock()
}

func (s *invalidations) get(w http.ResponseWriter, r *http.Request, dist string) {
	s.mu.Lock()
	inv := s.byID[r.PathValue("id")]
	s.mu.Unlock()
	if inv == nil || inv.DistributionID != dist {
		apiError(w, http.StatusNotFound, "NoSuchInvalidation", fmt.Sprintf("no invalidation %q for distribution %q on this node (it keeps the last %d, fewer when they are large)", r.PathValue("id"), dist, keptCompleted))
		return
	}
	writeJSON(w, http.StatusOK, s.snapshot(inv))
}

func (s *invalidations) list(w http.ResponseWriter, r *http.Request, dist string) {
	q := r.URL.Query()
	out := InvalidationList{Items: []InvalidationSummary{}, Marker: q.Get("Marker")}
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "InvalidArgument", "MaxItems is a number of invalidations, at least 1, not "+strconv.Quote(v))
			return
		}
		out.MaxItems = n
	}
	var all []InvalidationSummary
	s.mu.Lock()
	for _, inv := range slices.Backward(s.all) {
		if inv.DistributionID == dist {
			all = append(all, InvalidationSummary{ID: inv.ID, Status: inv.Status, CreateTime: inv.CreateTime})
		}
	}
	s.mu.Unlock()
	if out.Marker != "" {
		i := slices.IndexFunc(all, func(v InvalidationSummary) bool { return v.ID == out.Marker })
		if i < 0 {
			apiError(w, http.StatusBadRequest, "InvalidArgument", "Marker "+strconv.Quote(out.Marker)+" is no invalidation of this distribution that the node remembers")
			return
		}
		all = all[i+1:]
	}
	if out.MaxItems > 0 && len(all) > out.MaxItems {
		all, out.IsTruncated = all[:out.MaxItems], true
		out.NextMarker = all[len(all)-1].ID
	}
	out.Items = append(out.Items, all...)
	out.Quantity = len(out.Items)
	writeJSON(w, http.StatusOK, out)
}

// snapshot copies inv under the lock, for encoding.
func (s *invalidations) snapshot(inv *Invalidation) Invalidation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *inv
}

// checkBatch validates a batch as CloudFront does and returns its paths
// in the canonical spelling they are matched in.
func checkBatch(b InvalidationBatch) ([]string, error) {
	if b.CallerReference == "" {
		return nil, errors.New("callerReference is required: a unique value that makes a retried request safe")
	}
	if len(b.Paths) == 0 || len(b.Paths) > maxPaths {
		return nil, fmt.Errorf("an invalidation has 1 to %d paths, not %d", maxPaths, len(b.Paths))
	}
	out := make([]string, len(b.Paths))
	for i, p := range b.Paths {
		switch {
		case !strings.HasPrefix(p, "/"):
			return nil, fmt.Errorf("path %q does not start with /", p)
		case len(p) > maxPathLen:
			return nil, fmt.Errorf("path %.40q... is longer than %d characters", p, maxPathLen)
		case strings.IndexByte(p, '*') >= 0 && strings.IndexByte(p, '*') != len(p)-1:
			return nil, fmt.Errorf("path %q: * may only be the last character", p)
		case strings.IndexByte(p, '#') >= 0:
			return nil, fmt.Errorf("path %q: a fragment (#) never reaches the edge", p)
		case strings.IndexByte(p, '?') >= 0 && strings.HasSuffix(p, "*"):
			path, _, _ := strings.Cut(p, "?")
			return nil, fmt.Errorf("path %q: a path with a query names one object and takes no *; %q removes every query variant of %s", p, path, path)
		}
		path, query, hasQuery := strings.Cut(p, "?")
		out[i] = cache.CanonicalPath(path)
		if hasQuery {
			out[i] += "?" + cache.CanonicalQuery(query)
		}
	}
	return out, nil
}

func samePaths(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// newID makes an id shaped like CloudFront's: "I" and 13 characters.
func newID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [13]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return "I" + string(b[:])
}

// apiMuxErrors answers the mux's own 404 and 405 under /distributions in
// the API's JSON, so that a client reads every error of the API alike.
func apiMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mux names no pattern for its 404 and 405 (a redirect has one).
		h, pattern := mux.Handler(r)
		if !inAPI(r.URL.Path) || pattern != "" {
			mux.ServeHTTP(w, r) // not h: ServeHTTP also sets the path values
			return
		}
		var probe muxAnswer
		h.ServeHTTP(&probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			allow := probe.header.Get("Allow")
			w.Header().Set("Allow", allow)
			apiError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("%s %s: this path takes %s", r.Method, r.URL.Path, allow))
			return
		}
		apiError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s is no path of the API, which has POST and GET /distributions/ID/invalidations and GET /distributions/ID/invalidations/ID", r.URL.Path))
	})
}

// muxAnswer keeps the status and headers of the mux's error answer.
type muxAnswer struct {
	header http.Header
	status int
}

func (a *muxAnswer) Header() http.Header {
	if a.header == nil {
		a.header = http.Header{}
	}
	return a.header
}
func (a *muxAnswer) WriteHeader(status int)      { a.status = status }
func (a *muxAnswer) Write(b []byte) (int, error) { return len(b), nil }
