package cffunc

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
	"golang.org/x/net/http/httpguts"
)

// Context is what the event says of the request besides the request: its
// context object and the viewer.
type Context struct {
	DistributionDomainName string
	DistributionID         string
	RequestID              string
	ViewerIP               string
	// Origins are the distribution's origins and origin groups, which
	// the origin helpers name; nil: none is known (tests).
	Origins Origins
	// Budget bounds this run instead of the function's own budget: 0
	// keeps it. vet and route run functions offline with a generous one,
	// so a loaded CI machine does not fail a config whose function is fine.
	Budget time.Duration
	// Log, when not nil, gets the lines the run's console.log printed
	// (openfront route); the edge leaves it nil.
	Log *Log
	// Now is what the run's Date tells of the current time (openfront
	// route --now); zero: the clock's when the run started.
	Now time.Time
	// Edge is what cf.edgeLocation tells a viewer-request function.
	Edge EdgeLocation
}

// EdgeLocation is the node that runs a function, as cf.edgeLocation
// tells it (general-helper-methods.md): CloudFront's edge location code,
// here the node's name (its x-edge-location); the address the viewer
// reached (serverIp); the region of the node's Origin Shield fleet,
// CloudFront's "Regional Edge Cache (REC) that the request is expected
// to use if there is a cache miss". What is empty is left out.
type EdgeLocation struct {
	Name, Region string
	Server       net.Addr
}

// serverIP is the address of Server, "" when unknown.
func (e EdgeLocation) serverIP() string {
	switch a := e.Server.(type) {
	case nil:
		return ""
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UDPAddr:
		return a.IP.String()
	}
	ip, _, err := net.SplitHostPort(e.Server.String())
	if err != nil {
		return ""
	}
	return ip
}

// Request is the viewer's request as a function sees and changes it.
type Request struct {
	Method   string
	URI      string // the path as the viewer sent it
	RawQuery string
	Host     string
	// QueryMark: the viewer's URL has a "?", whether or not a query
	// follows it (rawQueryString tells "" from undefined).
	QueryMark bool
	// Header holds canonical names; its Cookie is the event's cookies.
	Header http.Header
	// Origin is what the function's origin helpers asked for (a
	// viewer-request run's output); nil: the behavior's target.
	Origin *OriginChange
}

// Response is an answer as a function sees it (viewer-response) or makes
// it (viewer-request).
type Response struct {
	Status      int
	Description string
	// Header holds canonical names; its Set-Cookie is the event's cookies.
	Header http.Header
	Body   []byte // of a generated response, or BodySet's
	// BodySet: a viewer-response function returned a body, which replaces
	// the answer's (an empty one drops it).
	BodySet bool
}

// ViewerRequest runs f on the viewer's request: nil when the function
// returned the request, which req then holds as changed; else the
// response it generated, to be sent at once.
func (f *Function) ViewerRequest(c Context, req *Request) (*Response, error) {
	r := &requestRun{name: f.Name, c: c, req: req}
	r.run.origins = c.Origins
	err := f.call(c, &r.run, r)
	if err == nil && r.resp == nil {
		req.Origin = r.run.change
	}
	return r.resp, err
}

// requestRun is a viewer-request run, in one allocation: a run is on
// every request, cache hits included.
type requestRun struct {
	name string
	c    Context
	req  *Request
	resp *Response // generated
	ev   eventRecords
	ro   requestObj
	run  runState
	// props is the room of ev's properties.
	props [eventProps]prop
}

func (r *requestRun) build(rt *goja.Runtime, requestProto *goja.Object) goja.Value {
	r.ev.init(rt, r.props[:], r.c, "viewer-request")
	r.ev.request.init(rt, r.ev.room(5))
	r.ev.request.proto = requestProto
	r.ro.take(r.req)
	r.ro.init(rt, &r.ev.request)
	r.ev.event.sub("request", &r.ev.request)
	return r.ev.event.object()
}

func (r *requestRun) viewerQuery() (string, bool) {
	return r.ro.req.RawQuery, r.ro.req.QueryMark
}

func (r *requestRun) use(rt *goja.Runtime, v goja.Value) error {
	o, err := returned(r.name, rt, v)
	if err != nil {
		return err
	}
	if defined(o.Get("statusCode")) {
		r.resp = &Response{Header: http.Header{}}
		return applyResponse(rt, o, r.resp, true, nil)
	}
	return applyRequest(rt, o, r.req, &r.ro)
}

// ViewerResponse runs f on an answer to req: resp then holds the status
// and headers the function returned, and the body when it set one
// (BodySet).
func (f *Function) ViewerResponse(c Context, req *Request, resp *Response) error {
	return f.call(c, nil, &responseRun{name: f.Name, c: c, req: req, resp: resp})
}

// responseRun is a viewer-response run as requestRun is a viewer-request
// one.
type responseRun struct {
	name string
	c    Context
	req  *Request
	resp *Response
	ev   eventRecords
	ro   responseObj
	// The request as the function sees it, made when first read.
	reqCopy      requestCopy
	rt           *goja.Runtime
	requestProto *goja.Object
	// props is the room of ev's properties but the request's.
	props [eventProps - 5]prop
}

func (r *responseRun) build(rt *goja.Runtime, requestProto *goja.Object) goja.Value {
	r.rt, r.requestProto = rt, requestProto
	r.ev.init(rt, r.props[:], r.c, "viewer-response")
	// The request is made when the function reads it, and never read
	// back: most viewer-response functions only look at the response.
	r.ev.event.sub("request", r)
	r.reqCopy.take(r.req)
	res := &r.ev.response
	res.init(rt, r.ev.room(4))
	res.val("statusCode", rt.ToValue(r.resp.Status))
	res.str("statusDescription", r.resp.Description)
	r.ro.rec = res
	r.ro.exposed = collect(make(fields, 0, len(r.resp.Header)), r.resp.Header, "Set-Cookie")
	r.ro.headers = r.ro.hf.initHeaders(rt, r.ro.exposed, 0)
	res.sub("headers", r.ro.headers)
	r.ro.cookies = setCookiesObject(rt, r.resp.Header["Set-Cookie"])
	res.sub("cookies", r.ro.cookies)
	r.ev.event.sub("response", res)
	return r.ev.event.object()
}

// object is the event's request, made when first read.
func (r *responseRun) object() *goja.Object {
	ro := &requestObj{requestCopy: r.reqCopy}
	r.ev.request.init(r.rt, make([]prop, 0, 5))
	r.ev.request.proto = r.requestProto
	ro.init(r.rt, &r.ev.request)
	return r.ev.request.object()
}

func (r *responseRun) viewerQuery() (string, bool) {
	return r.reqCopy.req.RawQuery, r.reqCopy.req.QueryMark
}

func (r *responseRun) use(rt *goja.Runtime, v goja.Value) error {
	o, err := returned(r.name, rt, v)
	if err != nil {
		return err
	}
	return applyResponse(rt, o, r.resp, false, &r.ro)
}

// eventRecords are the event's objects: the caller adds the request and
// response to the event.
type eventRecords struct {
	event, context, viewer, request, response record
	// props holds the records' properties, room the run gives: 5 of the
	// event, 4 of its context, 1 of the viewer, 5 of the request and 4 of
	// the response (eventProps).
	props []prop
	used  int
}

const eventProps = 5 + 4 + 1 + 5 + 4

// room is n properties of e.props.
func (e *eventRecords) room(n int) []prop {
	p := e.props[e.used : e.used : e.used+n]
	e.used += n
	return p
}

// init makes the event of c with room for its records' properties.
func (e *eventRecords) init(rt *goja.Runtime, room []prop, c Context, eventType string) {
	e.props = room
	e.event.init(rt, e.room(5))
	e.event.str("version", "1.0")
	e.event.sub("context", &e.context)
	e.event.sub("viewer", &e.viewer)
	e.context.init(rt, e.room(4))
	e.context.str("distributionDomainName", c.DistributionDomainName)
	e.context.str("distributionId", c.DistributionID)
	e.context.str("eventType", eventType)
	e.context.str("requestId", c.RequestID)
	e.viewer.init(rt, e.room(1))
	e.viewer.str("ip", c.ViewerIP)
}

// requestObj is the event's request, its fields objects, and the
// headers exposed to make them.
type requestObj struct {
	rec                     *record
	query, headers, cookies *lazyFields
	exposed                 fields
	requestCopy
	// Room for the fields objects.
	qf, hf, cf lazyFields
}

// requestCopy is what the event shows of a request, as take copied it.
type requestCopy struct {
	req    Request // without its Header
	hfs    fields  // the header fields, host first
	cookie []string
	host   [1]string
}

// responseObj is the event's response as requestObj is its request.
type responseObj struct {
	rec              *record
	headers, cookies *lazyFields
	exposed          fields
	hf               lazyFields
}

// take copies what the event shows of req: its header map is the
// viewer's request's, which the node may change once the run is over
// while a function kept the event in a global.
func (ro *requestCopy) take(req *Request) {
	ro.req = *req
	ro.req.Header, ro.req.Origin = nil, nil
	ro.host[0] = req.Host
	hf := make(fields, 1, 1+len(req.Header))
	hf[0] = field{"host", ro.host[:]}
	ro.hfs = collect(hf, req.Header, "Cookie")
	ro.cookie = req.Header["Cookie"]
}

// init makes r, an empty record, the event's request as take copied it.
func (ro *requestObj) init(rt *goja.Runtime, r *record) {
	ro.rec = r
	r.str("method", ro.req.Method)
	r.str("uri", ro.req.URI)
	ro.query = ro.qf.init(rt, queryFields(ro.req.RawQuery), fieldEntry)
	r.sub("querystring", ro.query)
	ro.exposed = ro.hfs[1:]
	ro.headers = ro.hf.initHeaders(rt, ro.hfs, 1)
	r.sub("headers", ro.headers)
	ro.cookies = ro.cf.init(rt, cookieFields(ro.cookie), fieldEntry)
	r.sub("cookies", ro.cookies)
}

// fields are named values in order: a query string's, headers, cookies.
type fields []field

type field struct {
	name   string
	values []string
}

// index finds fields by name: by a scan while they are few, by a map
// past smallFields. A viewer's query string and Cookie hold thousands of
// names within CloudFront's limits; scanning for each made a run cost
// 50 to 100 ms, several times its budget.
type index struct{ at map[string]int }

const smallFields = 16

// find is the position of name in fs, -1 when absent; fs only grows
// between calls, by add.
func (x *index) find(fs fields, name string) int {
	if x.at == nil {
		if len(fs) <= smallFields {
			return slices.IndexFunc(fs, func(f field) bool { return f.name == name })
		}
		x.at = make(map[string]int, 2*len(fs))
		for i := len(fs) - 1; i >= 0; i-- {
			x.at[fs[i].name] = i
		}
	}
	if i, ok := x.at[name]; ok {
		return i
	}
	return -1
}

// get is the values of name in fs.
func (x *index) get(fs fields, name string) []string {
	if i := x.find(fs, name); i >= 0 {
		return fs[i].values
	}
	return nil
}

// add appends value to the values of name in fs.
func (x *index) add(fs *fields, name, value string) {
	if i := x.find(*fs, name); i >= 0 {
		(*fs)[i].values = append((*fs)[i].values, value)
		return
	}
	x.append(fs, field{name, []string{value}})
}

// append appends f, a name fs does not hold, to fs.
func (x *index) append(fs *fields, f field) {
	*fs = append(*fs, f)
	if x.at != nil {
		x.at[f.name] = len(*fs) - 1
	}
}

// fieldEntry is an entry of CloudFront's {name: {value, multiValue?}}:
// multiValue lists every value of a name that came more than once.
func fieldEntry(rt *goja.Runtime, values []string) goja.Value {
	e := rt.NewObject()
	e.Set("value", values[0])
	if len(values) > 1 {
		mv := make([]any, len(values))
		for i, v := range values {
			x := rt.NewObject()
			x.Set("value", v)
			mv[i] = x
		}
		e.Set("multiValue", rt.NewArray(mv...))
	}
	return e
}

// queryFields splits a raw query; names and values stay as the viewer
// escaped them, so a function that joins them back makes the same query.
func queryFields(raw string) fields {
	var fs fields
	var x index
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		x.add(&fs, name, value)
	}
	return fs
}

func cookieFields(lines []string) fields {
	var fs fields
	var x index
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && name != "" {
				x.add(&fs, name, value)
			}
		}
	}
	return fs
}

// setCookiesObject is a response's cookies: {name: {value, attributes,
// multiValue?}}; its fields' values are value and attributes pairs, one
// a Set-Cookie (an origin sets a name twice for two paths or domains).
func setCookiesObject(rt *goja.Runtime, lines []string) *lazyFields {
	var fs fields
	var x index
	for _, line := range lines {
		pair, attrs, _ := strings.Cut(line, ";")
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || name == "" {
			continue
		}
		x.add(&fs, name, value)
		x.add(&fs, name, strings.TrimSpace(attrs))
	}
	return newLazyFields(rt, fs, setCookieEntry)
}

func setCookieEntry(rt *goja.Runtime, pairs []string) goja.Value {
	e := setCookieValue(rt, pairs[0], pairs[1])
	if len(pairs) > 2 {
		mv := make([]any, 0, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			mv = append(mv, setCookieValue(rt, pairs[i], pairs[i+1]))
		}
		e.Set("multiValue", rt.NewArray(mv...))
	}
	return e
}

func setCookieValue(rt *goja.Runtime, value, attrs string) *goja.Object {
	e := rt.NewObject()
	e.Set("value", value)
	if attrs != "" {
		e.Set("attributes", attrs)
	}
	return e
}

// readSetCookie is a response cookie's value and attributes pairs, as
// readFields reads a field: a changed multiValue wins; else a changed
// value or attributes replace the first of the original pairs.
func readSetCookie(rt *goja.Runtime, e goja.Value, was []string) []string {
	if !defined(e) {
		return nil
	}
	eo := e.ToObject(rt)
	first := []string{str(eo.Get("value")), str(eo.Get("attributes"))}
	keepBytes(first, was)
	mv := eo.Get("multiValue")
	if !defined(mv) {
		if len(was) > 2 && !slices.Equal(first, was[:2]) {
			return append(first, was[2:]...)
		}
		if len(was) > 2 {
			return was
		}
		return first
	}
	var pairs []string
	for _, x := range array(rt, mv) {
		pairs = append(pairs, str(x.Get("value")), str(x.Get("attributes")))
	}
	keepBytes(pairs, was)
	if slices.Equal(pairs, was) && len(pairs) > 0 {
		pairs[0], pairs[1] = first[0], first[1]
	}
	return pairs
}

// setCookieLine is the Set-Cookie field of a cookie.
func setCookieLine(name, value, attrs string) string {
	if attrs != "" {
		return name + "=" + value + "; " + attrs
	}
	return name + "=" + value
}

// collect appends to fs h's fields a function sees, lowercase, in the
// map's order: all but skip and those CloudFront never shows a function.
func collect(fs fields, h http.Header, skip string) fields {
	for name, vs := range h {
		if name == skip || len(vs) == 0 || disallowed(name) {
			continue
		}
		fs = append(fs, field{lower(name), vs})
	}
	return fs
}

// sortFields orders fs by name: a map's order is random; the event's is
// stable.
func sortFields(fs fields) {
	slices.SortFunc(fs, func(a, b field) int {
		return strings.Compare(a.name, b.name)
	})
}

// lower is a header's name lowercase, without allocating for the common
// ones.
func lower(canonical string) string {
	if l, ok := lowerNames[canonical]; ok {
		return l
	}
	return strings.ToLower(canonical)
}

// canonical is a header's name in its canonical form, without
// allocating for the common ones.
func canonical(name string) string {
	if c, ok := canonicalNames[name]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

var lowerNames, canonicalNames = func() (map[string]string, map[string]string) {
	m, c := map[string]string{}, map[string]string{}
	for _, name := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Access-Control-Allow-Origin",
		"Age", "Authorization", "Cache-Control", "Cloudfront-Forwarded-Proto", "Cloudfront-Viewer-Address",
		"Cloudfront-Viewer-Country", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Range", "Content-Security-Policy", "Content-Type", "Date", "Dnt", "Etag", "Expires", "Forwarded",
		"Host", "If-Match", "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since", "Last-Modified",
		"Location", "Origin", "Pragma", "Priority", "Range", "Referer", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile",
		"Sec-Ch-Ua-Platform", "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Server",
		"Strict-Transport-Security", "Te", "Transfer-Encoding", "Upgrade-Insecure-Requests", "User-Agent", "Vary",
		"Via", "Warning", "X-Content-Type-Options", "X-Forwarded-For", "X-Forwarded-Host", "X-Frame-Options",
		"X-Requested-With",
	} {
		m[name] = strings.ToLower(name)
		c[m[name]] = textproto.CanonicalMIMEHeaderKey(m[name])
	}
	return m, c
}()

// disallowed reports a header CloudFront neither shows a function nor
// lets it add (edge-functions-restrictions.md, "Disallowed headers"),
// and the node's own X-Openfront-*.
func disallowed(canonical string) bool {
	switch canonical {
	case "Connection", "Expect", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
		"Trailer", "Upgrade", "X-Amzn-Auth", "X-Amzn-Cf-Billing", "X-Amzn-Cf-Id", "X-Amzn-Cf-Xff", "X-Amzn-Errortype",
		"X-Amzn-Fle-Profile", "X-Amzn-Header-Count", "X-Amzn-Header-Order", "X-Amzn-Lambda-Integration-Tag",
		"X-Amzn-Requestid", "X-Cache", "X-Forwarded-Proto", "X-Real-Ip":
		return true
	}
	if !strings.HasPrefix(canonical, "X-") {
		return false // most names: no prefix to try
	}
	for _, p := range []string{"X-Accel-", "X-Amz-Cf-", "X-Edge-", "X-Openfront-"} {
		if strings.HasPrefix(canonical, p) {
			return true
		}
	}
	return false
}

// readOnly are the headers a function may read but not change, of a
// viewer-request or a viewer-response event (edge-functions-restrictions.md,
// "Read-only headers").
func readOnly(request bool) []string {
	if request {
		return readOnlyRequest
	}
	return readOnlyResponse
}

var (
	readOnlyRequest  = []string{"Content-Length", "Host", "Transfer-Encoding", "Via"}
	readOnlyResponse = []string{"Warning", "Via"}
)

func returned(name string, rt *goja.Runtime, v goja.Value) (*goja.Object, error) {
	if !defined(v) {
		return nil, &ExecutionError{Err: fmt.Errorf("function %q returned no object", name)}
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, &ExecutionError{Err: fmt.Errorf("function %q returned %s, not an object", name, v)}
	}
	return o, nil
}

func defined(v goja.Value) bool { return v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) }

// applyRequest makes req the request object o.
func applyRequest(rt *goja.Runtime, o *goja.Object, req *Request, ro *requestObj) error {
	uri, query := req.URI, req.RawQuery
	if ro.rec.unread(o, "uri") {
		// as the viewer sent it
	} else if v := o.Get("uri"); defined(v) {
		uri := v.String()
		if !strings.HasPrefix(uri, "/") {
			return &ValidationError{Msg: fmt.Sprintf("uri %q does not start with /", uri)}
		}
		req.URI = uri
	}
	if ro.rec.unread(o, "querystring") {
		req.RawQuery = joinQuery(ro.query.all())
	} else {
		switch q := o.Get("querystring"); {
		case !defined(q):
			req.RawQuery = ""
		case isString(q):
			// AWS's own examples join the parameters into a string.
			req.RawQuery = strings.TrimPrefix(q.String(), "?")
		default:
			req.RawQuery = joinQuery(readFields(rt, q, ro.query.orig, ro.query))
		}
	}
	if err := validURI(uri, query, req); err != nil {
		return err
	}
	header, err := readHeaders(fieldsIn(rt, o, ro.rec, "headers", ro.exposed, ro.headers), req.Header, "Cookie", true)
	if err != nil {
		return err
	}
	// The event always holds host: a function may read it, not change or
	// remove it.
	if host := header["Host"]; len(host) == 0 {
		return &ValidationError{Msg: "the function removed the read-only header host"}
	} else if host[0] != req.Host {
		return &ValidationError{Msg: "the function changed the read-only header host"}
	}
	delete(header, "Host")
	var cookie []string
	for _, f := range fieldsIn(rt, o, ro.rec, "cookies", ro.cookies.orig, ro.cookies) {
		for _, v := range f.values {
			if err := validCookie(f.name, v, ""); err != nil {
				return err
			}
			cookie = append(cookie, f.name+"="+v)
		}
	}
	if len(cookie) > 0 {
		header["Cookie"] = []string{strings.Join(cookie, "; ")}
	}
	req.Header = header
	return nil
}

// joinQuery is a query string of fs, a name without a value without "="
// (but an empty name's "=", which would otherwise be lost).
func joinQuery(fs fields) string {
	var b strings.Builder
	for _, f := range fs {
		for _, v := range f.values {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(f.name)
			if v != "" || f.name == "" {
				b.WriteByte('=')
				b.WriteString(v)
			}
		}
	}
	return b.String()
}

// fieldsIn reads the fields object key of o back: event's fields as they
// were when o is the record r and the function neither read nor set key;
// orig are the fields it was made of.
func fieldsIn(rt *goja.Runtime, o *goja.Object, r *record, key string, orig fields, event *lazyFields) fields {
	if r.unread(o, key) {
		return event.all()
	}
	return readFields(rt, o.Get(key), orig, event)
}

// MaxURI bounds a URI and its query string that a function changed.
const MaxURI = 8192

// validURI refuses a URI or query string, changed from uri and query,
// that CloudFront refuses: a query string with spaces, control characters
// or "#" (which a request line cannot carry, or would end), or a URI of
// MaxURI bytes and more.
func validURI(uri, query string, req *Request) error {
	if req.URI == uri && req.RawQuery == query {
		return nil // the viewer's, as the node accepted it
	}
	if i := strings.IndexFunc(req.RawQuery, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '#' }); i >= 0 {
		return &ValidationError{Msg: fmt.Sprintf("the query string holds %q, which it may not", req.RawQuery[i:i+1])}
	}
	if n := len(req.URI) + len(req.RawQuery); n >= MaxURI {
		return &ValidationError{Msg: fmt.Sprintf("the URI and query string are %d bytes, not under %d", n, MaxURI)}
	}
	return nil
}

// MaxBody bounds the body of a generated response (CloudFront Functions'
// quota, cloudfront-limits.md).
const MaxBody = 40 * 1024

// applyResponse makes resp the response object o; generated is a
// viewer-request's response; ro is the event's response, if any.
func applyResponse(rt *goja.Runtime, o *goja.Object, resp *Response, generated bool, ro *responseObj) error {
	if ro == nil {
		ro = &responseObj{}
	}
	if v := o.Get("statusCode"); defined(v) {
		s := int(v.ToInteger())
		if s < 200 || s > 599 {
			return &ValidationError{Msg: fmt.Sprintf("statusCode %s is not an HTTP status", v)}
		}
		resp.Status = s
	}
	if ro.rec.unread(o, "statusDescription") {
		// as it was
	} else if v := o.Get("statusDescription"); defined(v) {
		resp.Description = v.String()
	}
	header, err := readHeaders(fieldsIn(rt, o, ro.rec, "headers", ro.exposed, ro.headers), resp.Header, "Set-Cookie", generated)
	if err != nil {
		return err
	}
	delete(header, "Set-Cookie")
	if cs, ok := setCookies(rt, o, ro); ok {
		for _, c := range cs {
			for i := 0; i+1 < len(c.values); i += 2 {
				if err := validCookie(c.name, c.values[i], c.values[i+1]); err != nil {
					return err
				}
				header["Set-Cookie"] = append(header["Set-Cookie"], setCookieLine(c.name, c.values[i], c.values[i+1]))
			}
		}
	} else if sc := resp.Header["Set-Cookie"]; len(sc) > 0 {
		header["Set-Cookie"] = sc
	}
	resp.Header = header
	// A viewer-response function's body replaces the answer's, as a
	// generated response's is its own (functions-event-structure.md).
	b := o.Get("body")
	resp.BodySet = !generated && defined(b)
	switch {
	case !defined(b):
	case isString(b):
		resp.Body = []byte(b.String())
	default:
		bo := b.ToObject(rt)
		data := str(bo.Get("data"))
		// "The only valid encodings are text and base64"
		// (functions-event-structure.md); none is text.
		switch enc := str(bo.Get("encoding")); enc {
		case "base64":
			raw, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				return &ValidationError{Msg: "body.data is not valid base64"}
			}
			resp.Body = raw
		case "text", "":
			resp.Body = []byte(data)
		default:
			return &ValidationError{Msg: fmt.Sprintf("body.encoding %q is not text or base64", enc)}
		}
	}
	if len(resp.Body) > MaxBody {
		return &ValidationError{Msg: fmt.Sprintf("the generated body is %d bytes, over %d", len(resp.Body), MaxBody)}
	}
	return nil
}

// setCookies reads the cookies object of o back, as value and attributes
// pairs by name; false when o has none.
func setCookies(rt *goja.Runtime, o *goja.Object, ro *responseObj) (fields, bool) {
	if ro.rec.unread(o, "cookies") {
		return ro.cookies.all(), true
	}
	c := o.Get("cookies")
	if !defined(c) {
		return nil, false
	}
	co := c.ToObject(rt)
	var cs fields
	for _, key := range ro.cookies.keysOf(co) {
		name := ro.cookies.own(key)
		pairs, ok := ro.cookies.unchanged(co, name)
		if !ok {
			if pairs = readSetCookie(rt, co.Get(name), ro.cookies.origOf(name)); pairs == nil {
				continue
			}
		}
		cs = append(cs, field{name, pairs})
	}
	return cs, true
}

// readHeaders is the header fields fs read back as an http.Header: the
// fields a function is not shown come from orig, fs replace the rest.
// skip is the field the event's cookies stand for.
func readHeaders(fs fields, orig http.Header, skip string, request bool) (http.Header, error) {
	out := make(http.Header, len(orig))
	for name, vs := range orig {
		if disallowed(name) {
			out[name] = vs
		}
	}
	for _, f := range fs {
		name := canonical(f.name)
		if disallowed(name) || name == skip {
			return nil, &ValidationError{Msg: fmt.Sprintf("a function may not set the header %s", f.name)}
		}
		if !httpguts.ValidHeaderFieldName(f.name) {
			return nil, &ValidationError{Msg: fmt.Sprintf("the header name %q is not a token", f.name)}
		}
		for _, v := range f.values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, &ValidationError{Msg: fmt.Sprintf("the header %s holds %q, which HTTP cannot carry", f.name, v)}
			}
		}
		out[name] = f.values
	}
	for _, name := range readOnly(request) {
		if name == "Host" {
			continue // not in orig: the caller compares it
		}
		if !slices.Equal(out[name], orig[name]) {
			return nil, &ValidationError{Msg: fmt.Sprintf("the function changed the read-only header %s", strings.ToLower(name))}
		}
	}
	return out, nil
}

// validCookie refuses a cookie that the Cookie or Set-Cookie field would
// not carry as the function set it: a value (or a name) holding ";"
// would be read as another cookie or an attribute, a name holding "=" as
// another name, and CR, LF or NUL would end the field or, in a cache
// key, the field's part of it. A viewer's own cookies always pass.
func validCookie(name, value, attrs string) error {
	if strings.ContainsAny(name, "=;") || strings.ContainsRune(value, ';') ||
		!httpguts.ValidHeaderFieldValue(name) || !httpguts.ValidHeaderFieldValue(value) || !httpguts.ValidHeaderFieldValue(attrs) {
		return &ValidationError{Msg: fmt.Sprintf("the cookie %q=%q (%q) is not one a cookie field can carry", name, value, attrs)}
	}
	return nil
}

// readFields reads a {name: {value, multiValue?}} object back, in its
// order. As CloudFront: a changed multiValue wins; else a changed value
// replaces the first of the original values. event is the event's
// object, whose entries the function did not touch are not read.
func readFields(rt *goja.Runtime, v goja.Value, orig fields, event *lazyFields) fields {
	if !defined(v) {
		return nil
	}
	o := v.ToObject(rt)
	keys := event.keysOf(o)
	out := make(fields, 0, len(keys))
	var x index
	for _, key := range keys {
		name := event.own(key)
		if vals, ok := event.unchanged(o, name); ok {
			out = append(out, field{name, vals})
			continue
		}
		e := o.Get(name)
		if !defined(e) {
			continue
		}
		eo, ok := e.(*goja.Object)
		if !ok {
			continue
		}
		value := eo.Get("value")
		was := x.get(orig, name)
		var vals []string
		if mv := eo.Get("multiValue"); defined(mv) {
			for _, x := range array(rt, mv) {
				vals = append(vals, str(x.Get("value")))
			}
			keepBytes(vals, was)
			if slices.Equal(vals, was) && defined(value) && len(vals) > 0 {
				vals[0] = value.String()
				keepBytes(vals[:1], was)
			}
		} else if defined(value) {
			vals = []string{value.String()}
			keepBytes(vals, was)
			if len(was) > 1 && was[0] != vals[0] {
				vals = append(vals, was[1:]...)
			} else if len(was) > 1 {
				vals = was
			}
		}
		if len(vals) > 0 {
			out = append(out, field{name, vals})
		}
	}
	return out
}

// keepBytes puts back in vals each value of was that is not UTF-8 and
// that vals holds as the function saw it, U+FFFD for each such byte
// (once it went through its JSON.stringify or a string operation): a
// value the function did not change is forwarded as it came.
func keepBytes(vals, was []string) {
	for i := range min(len(vals), len(was)) {
		if vals[i] != was[i] && !utf8.ValidString(was[i]) && vals[i] == unistring.NewFromString(was[i]).String() {
			vals[i] = was[i]
		}
	}
}

func array(rt *goja.Runtime, v goja.Value) []*goja.Object {
	o := v.ToObject(rt)
	n := int(o.Get("length").ToInteger())
	out := make([]*goja.Object, 0, n)
	for i := range n {
		if x := o.Get(strconv.Itoa(i)); defined(x) {
			out = append(out, x.ToObject(rt))
		}
	}
	return out
}

func str(v goja.Value) string {
	if !defined(v) {
		return ""
	}
	return v.String()
}

// isString is a string or a String object; not Export, which copies a
// whole object.
func isString(v goja.Value) bool {
	if o, ok := v.(*goja.Object); ok {
		return o.ClassName() == "String"
	}
	return goja.IsString(v)
}
