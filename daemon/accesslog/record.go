package accesslog

import (
	"crypto/tls"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Record is one viewer request, with what CloudFront's 33 standard log
// fields need. The fields, in the order of the log line, with CloudFront's
// meaning (Developer Guide, "Standard log file fields") and how openfront
// fills them:
//
//  1. date: YYYY-MM-DD, UTC, of Time.
//  2. time: HH:MM:SS, UTC: when the server finished responding (Time).
//  3. x-edge-location: the edge location that served the request; for
//     openfront the node name (Options.NodeName).
//  4. sc-bytes: bytes served to the viewer including headers (BytesOut).
//     Go does not expose the bytes on the wire: headers are counted as their
//     HTTP/1.1 text (status line, header lines, Date), the body exactly.
//  5. c-ip: the IP address of the viewer that made the request; behind a
//     proxy or load balancer it is the proxy's (ClientIP: the TCP peer).
//  6. cs-method: the request method.
//  7. cs(Host): the domain name of the distribution (d111111abcdef8.
//     cloudfront.net in CloudFront), the same on every line of a
//     distribution. openfront has no generated domain, so it is the
//     distribution's first exact alias (Config.Domain); the Host the viewer
//     sent is field 16.
//  8. cs-uri-stem: the path of the request URI, without the query string
//     (Path, as the viewer sent it, still percent-encoded).
//  9. sc-status: the HTTP status; 000 when the viewer closed the connection
//     before the server could respond (Status 0).
//  10. cs(Referer): the Referer header.
//  11. cs(User-Agent): the User-Agent header.
//  12. cs-uri-query: the query string without "?", or - (Query).
//  13. cs(Cookie): the Cookie header with all its name-value pairs, only when
//     the distribution sets logging.includeCookies, whatever cookies are
//     forwarded; - otherwise or without cookies.
//  14. x-edge-result-type: how the server classified the response after the
//     last byte left: Hit, RefreshHit, Miss, LimitExceeded, CapacityExceeded,
//     Error, Redirect or FunctionGeneratedResponse (ResultType). Error also when the response was
//     not completed, even if field 23 says Hit or Miss: the viewer went
//     away (field 29 ClientCommError) or the origin broke off the body
//     being relayed (field 29 the origin's error, e.g. OriginReadError).
//  15. x-edge-request-id: the opaque id of the request; CloudFront's
//     x-amz-cf-id header, openfront's X-Openfront-Id (RequestID).
//  16. x-host-header: the value the viewer sent in Host (Host), an alias or
//     the node's address.
//  17. cs-protocol: http, https, grpcs (a gRPC call, over TLS), ws or wss.
//  18. cs-bytes: bytes the viewer sent, including headers (BytesIn; headers
//     counted as HTTP/1.1 text, like sc-bytes).
//  19. time-taken: seconds, to the thousandth, from receiving the request to
//     writing the last byte of the response (TimeTaken).
//  20. x-forwarded-for: with a proxy in front, the address(es) of the viewer
//     that originated the request: the X-Forwarded-For header as received,
//     or - (ForwardedFor).
//  21. ssl-protocol: for https, the negotiated protocol: SSLv3, TLSv1,
//     TLSv1.1, TLSv1.2, TLSv1.3 (see [TLSVersionName]); - for http.
//  22. ssl-cipher: for https, the cipher in OpenSSL's naming, such as
//     ECDHE-RSA-AES128-GCM-SHA256 or TLS_AES_128_GCM_SHA256 (see
//     [CipherName]); - for http.
//  23. x-edge-response-result-type: how the server classified the response
//     just before returning it; the same values as field 14
//     (ResponseResultType).
//  24. cs-protocol-version: HTTP/0.9, HTTP/1.0, HTTP/1.1, HTTP/2.0 or
//     HTTP/3.0 (ProtocolVersion).
//  25. fle-status: field-level encryption status; openfront has none: -.
//  26. fle-encrypted-fields: the number of fields encrypted; -.
//  27. c-port: the port of the viewer's connection (ClientPort; 0 is -).
//  28. time-to-first-byte: seconds, to the thousandth, from receiving the
//     request to writing the first byte of the response (TimeToFirstByte).
//  29. x-edge-detailed-result-type: field 14 when that is not Error; for
//     Error the specific error: ClientCommError, ClientHungUpRequest, ClientGeoBlocked,
//     InvalidRequest, InvalidRequestHeader, InvalidRequestMethod,
//     InvalidRequestCertificate, OriginConnectError, OriginDnsError,
//     OriginCommError (a timeout), OriginReadError, OriginWriteError,
//     OriginInvalidResponseError, OriginContentRangeLengthError,
//     AbortedOrigin, OriginError, ...
//     (DetailedResultType; plain Error when it is not known).
//  30. sc-content-type: the response's Content-Type, or -; also the one
//     the server sniffs from the body of a response that declared none.
//  31. sc-content-len: the response's Content-Length header, or -; also
//     the one daemon/http1 adds to a short body that declared none, once
//     the handler returned (the whole body's length).
//  32. sc-range-start, 33. sc-range-end: the first and last byte of the
//     response's Content-Range, or -.
//
// The request's fields (cs-*, x-forwarded-for) are the request as the
// viewer sent it, as the Capture found it: not what the edge made of it
// for the origin (a viewer-request function's changes, the CloudFront-*
// headers a behavior forwards), as cs-uri-stem is the viewer's URI.
//
// Every empty value is written as -. String values are escaped as
// CloudFront does ([AppendEscaped]), but for those openfront makes from
// safe characters itself, which are written as they are: the result types
// (constants), the request id (base64url), cs-protocol, ssl-protocol,
// ssl-cipher (names from tables) and cs-protocol-version (constants, or
// the HTTP/1 version the server parsed).
type Record struct {
	Time               time.Time // when the response finished
	BytesOut           int64
	ClientIP           netip.Addr
	ClientPort         int
	Method             string
	Path               string
	Status             int
	Referer            string
	UserAgent          string
	Query              string
	Cookie             string
	ResultType         string
	RequestID          string
	Host               string
	Protocol           string
	BytesIn            int64
	TimeTaken          time.Duration
	ForwardedFor       string
	TLSProtocol        string
	TLSCipher          string
	ResponseResultType string
	ProtocolVersion    string
	TimeToFirstByte    time.Duration
	DetailedResultType string
	ContentType        string
	ContentLength      int64 // -1: no Content-Length header
	RangeStart         int64 // -1: no Content-Range
	RangeEnd           int64
}

// Result types of x-edge-result-type and x-edge-response-result-type.
const (
	Hit              = "Hit"
	RefreshHit       = "RefreshHit"
	Miss             = "Miss"
	LimitExceeded    = "LimitExceeded"
	CapacityExceeded = "CapacityExceeded"
	Error            = "Error"
	Redirect         = "Redirect"
	// FunctionGeneratedResponse: a viewer-request function answered.
	FunctionGeneratedResponse = "FunctionGeneratedResponse"
)

// OriginShieldHit is the x-edge-detailed-result-type of a Miss that the
// Origin Shield answered from its own cache.
const OriginShieldHit = "OriginShieldHit"

// Some of CloudFront's x-edge-detailed-result-type values for Error.
const (
	ClientCommError = "ClientCommError" // the response to the viewer was interrupted
	// ClientHungUpRequest: the viewer stopped prematurely while sending
	// the request (its body broke off or stalled). It stays when the
	// viewer's going away also cut the response: the request was the cause.
	ClientHungUpRequest = "ClientHungUpRequest"
	ClientGeoBlocked    = "ClientGeoBlocked"   // refused by geo restriction
	OriginConnectError  = "OriginConnectError" // could not connect to the origin
	OriginDNSError      = "OriginDnsError"     // the origin's name did not resolve
	OriginCommError     = "OriginCommError"    // the origin timed out, connecting or mid-response
	OriginReadError     = "OriginReadError"    // reading from the origin failed: a reset, a body short of its length
	OriginWriteError    = "OriginWriteError"   // writing the request to the origin failed
	AbortedOrigin       = "AbortedOrigin"      // the origin failed otherwise: a stream it reset
	// OriginInvalidResponseError: the origin's answer is no HTTP response
	// (a status line, header or Content-Length that does not parse).
	OriginInvalidResponseError = "OriginInvalidResponseError"
	// OriginContentRangeLengthError: the origin's 206 has a Content-Length
	// that is not the length of its Content-Range.
	OriginContentRangeLengthError = "OriginContentRangeLengthError"
	OriginError                   = "OriginError" // the origin answered wrongly
	// InvalidRequest: "The edge server received an invalid request from
	// the viewer" (a request line the server cannot read, a version but
	// HTTP/1.x, a path hiding the behavior that matched).
	InvalidRequest = "InvalidRequest"
	// InvalidRequestHeader: "The request contained an invalid header" (a
	// malformed or folded field, no Host or two, framing fields the
	// server will not read, an Expect but 100-continue).
	InvalidRequestHeader = "InvalidRequestHeader"
	// InvalidRequestMethod: the method is not among the behavior's allowedMethods.
	InvalidRequestMethod = "InvalidRequestMethod"
	// InvalidRequestCertificate: the request came on a TLS connection set
	// up for another distribution, which cannot serve it (421).
	InvalidRequestCertificate = "InvalidRequestCertificate"
	// A CloudFront Function threw or returned no valid object (503), ran
	// over its limit (503), or returned what CloudFront refuses (502).
	FunctionExecutionError  = "FunctionExecutionError"
	FunctionThrottledError  = "FunctionThrottledError"
	FunctionValidationError = "FunctionValidationError"
)

// SetResult sets fields 14, 23 and 29 from the X-Cache value sent (such as
// "Hit from openfront"; its first word is the result type). aborted says
// the viewer went away before the response was complete: the final result
// is then Error / ClientCommError, unless detail is ClientHungUpRequest.
// detail is the detailed result type for an Error ("" for plain Error); given for a response that was not an Error,
// it says the response failed after it started (the origin broke off a
// body being relayed): the final result is then Error with that detail,
// the response result stays. OriginShieldHit details a Miss, and nothing
// else. A detail of LimitExceeded or
// CapacityExceeded is the result type itself: the edge's own 503 says
// Error in X-Cache, as its other errors do, and the log tells why.
func (r *Record) SetResult(xcache string, aborted bool, detail string) {
	r.ResultType, r.ResponseResultType, r.DetailedResultType = Results(xcache, r.Status, aborted, detail)
}

// Results are the final, response and detailed result types of
// SetResult, for a response with status.
func Results(xcache string, status int, aborted bool, detail string) (final, response, detailed string) {
	rt := ResponseResult(xcache, status)
	final, response, detailed = rt, rt, rt
	switch {
	case detail == LimitExceeded || detail == CapacityExceeded:
		final, response, detailed = detail, detail, detail
	case detail == OriginShieldHit:
		// Only a Miss is the shield's answer (an error page replaced it).
		if rt == Miss {
			detailed = detail
		}
	case rt == Error && detail != "":
		detailed = detail
	case detail != "":
		final, detailed = Error, detail
	}
	if aborted && detail != ClientHungUpRequest {
		final, detailed = Error, ClientCommError
	}
	return final, response, detailed
}

// ResponseResult is x-edge-response-result-type for a response with the
// X-Cache value xcache ("Hit from openfront": its first word) and status;
// without a known word, Miss, or Error for a status of 400 and above.
// The final x-edge-result-type is Error instead when the viewer went
// away before the response was complete.
func ResponseResult(xcache string, status int) string {
	rt := xcache
	if i := strings.IndexByte(rt, ' '); i >= 0 {
		rt = rt[:i]
	}
	switch rt {
	case Hit, RefreshHit, Miss, LimitExceeded, CapacityExceeded, Error, Redirect, FunctionGeneratedResponse:
		return rt
	}
	if status >= 400 || status == 0 {
		return Error
	}
	return Miss
}

// Format is a log file format: the header lines each file starts with. A
// web distribution logs in Web; a streaming format plugs into the same
// Writer with its own fields and line formatter.
type Format struct {
	Name   string
	Fields []string
}

// Web is CloudFront's standard log format of a web distribution.
var Web = Format{Name: "web", Fields: webFields}

// Header is "#Version: 1.0" and the "#Fields:" line.
func (f Format) Header() []byte {
	return []byte("#Version: 1.0\n#Fields: " + strings.Join(f.Fields, " ") + "\n")
}

// webFields are CloudFront's 33 fields of a web distribution's log, in order.
var webFields = []string{"date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
	"cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)",
	"x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes", "time-taken",
	"x-forwarded-for", "ssl-protocol", "ssl-cipher", "x-edge-response-result-type", "cs-protocol-version",
	"fle-status", "fle-encrypted-fields", "c-port", "time-to-first-byte", "x-edge-detailed-result-type",
	"sc-content-type", "sc-content-len", "sc-range-start", "sc-range-end"}

// lineFormat is what a writer adds to every line besides the record.
type lineFormat struct {
	location       string // x-edge-location, escaped
	domain         string // cs(Host), escaped
	includeCookies bool
	second         atomic.Pointer[dateTime] // the last second formatted
}

func newLineFormat(node, domain string, includeCookies bool) *lineFormat {
	return &lineFormat{location: string(AppendEscaped(nil, node)), domain: string(AppendEscaped(nil, domain)), includeCookies: includeCookies}
}

// appendLine appends r as one web log line, newline included.
func (f *lineFormat) appendLine(b []byte, r *Record) []byte { return f.appendLineWith(b, r, nil) }

// appendLineWith is appendLine taking the escaped User-Agent and Referer
// from esc when they are there.
func (f *lineFormat) appendLineWith(b []byte, r *Record, esc *escapeCache) []byte {
	b = f.appendDateTime(b, r.Time)
	b = appendRaw(b, f.location)
	b = appendInt(b, r.BytesOut)
	if r.ClientIP.IsValid() {
		b = r.ClientIP.AppendTo(b)
		b = append(b, '\t')
	} else {
		b = append(b, "-\t"...)
	}
	b = appendField(b, r.Method)
	b = appendRaw(b, f.domain)
	b = appendField(b, r.Path)
	if r.Status <= 0 {
		b = append(b, "000\t"...)
	} else {
		b = appendInt(b, int64(r.Status))
	}
	b = esc.appendField(b, r.Referer)
	b = esc.appendField(b, r.UserAgent)
	b = appendField(b, r.Query)
	if f.includeCookies {
		b = appendField(b, r.Cookie)
	} else {
		b = append(b, "-\t"...)
	}
	b = appendRaw(b, r.ResultType)
	b = appendRaw(b, r.RequestID)
	b = appendField(b, r.Host)
	b = appendRaw(b, r.Protocol)
	b = appendInt(b, r.BytesIn)
	b = appendSeconds(b, r.TimeTaken)
	b = appendField(b, r.ForwardedFor)
	b = appendRaw(b, r.TLSProtocol)
	b = appendRaw(b, r.TLSCipher)
	b = appendRaw(b, r.ResponseResultType)
	b = appendRaw(b, r.ProtocolVersion)
	b = append(b, "-\t-\t"...) // fle-status, fle-encrypted-fields
	if r.ClientPort > 0 {
		b = appendInt(b, int64(r.ClientPort))
	} else {
		b = append(b, "-\t"...)
	}
	b = appendSeconds(b, r.TimeToFirstByte)
	b = appendRaw(b, r.DetailedResultType)
	b = appendField(b, r.ContentType)
	b = appendOptInt(b, r.ContentLength)
	if r.RangeStart < 0 {
		b = append(b, "-\t-\n"...)
		return b
	}
	b = appendInt(b, r.RangeStart)
	b = appendInt(b, r.RangeEnd)
	b[len(b)-1] = '\n'
	return b
}

// dateTime is the "date\ttime\t" text of one second (UTC).
type dateTime struct {
	sec  int64
	text [20]byte
}

// appendDateTime appends the date and time fields of t. Lines come in
// time order, so the text of the last second is kept and reused: turning
// a time into a calendar date costs more than the rest of a short line's
// numbers.
func (f *lineFormat) appendDateTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	d := f.second.Load()
	if d == nil || d.sec != sec {
		d = &dateTime{sec: sec}
		formatDateTime(d.text[:0], t.UTC())
		f.second.Store(d)
	}
	return append(b, d.text[:]...)
}

func formatDateTime(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, '\t')
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, s)
	return append(b, '\t')
}

func append2(b []byte, n int) []byte { return append(b, digitPairs[2*n], digitPairs[2*n+1]) }

func appendRaw(b []byte, s string) []byte {
	if s == "" {
		return append(b, "-\t"...)
	}
	b = append(b, s...)
	return append(b, '\t')
}

func appendField(b []byte, s string) []byte {
	if s == "" {
		return append(b, "-\t"...)
	}
	b = AppendEscaped(b, s)
	return append(b, '\t')
}

// escapeCache keeps the escaped form of the User-Agent and Referer values
// that need escaping. They repeat from request to request, and a browser's
// agent has a dozen spaces: escaping one cost about as much as formatting
// the rest of the line (BenchmarkFormat). It is direct-mapped by hash, and
// a value is kept only when it comes a second time to its slot: a stream
// of values that never repeat costs a hash each, not a copy and an
// allocation. One goroutine owns a cache; nil keeps nothing.
type escapeCache struct {
	seed  maphash.Seed
	slots [escapeCacheSlots]escapeSlot
}

const escapeCacheSlots = 2048

type escapeSlot struct {
	seen    uint64 // the hash of the last value that missed here
	key     string // a copy: the request's own string is a slice of its head
	escaped string
}

func newEscapeCache() *escapeCache { return &escapeCache{seed: maphash.MakeSeed()} }

// appendField is the package's appendField, through c.
func (c *escapeCache) appendField(b []byte, s string) []byte {
	if c == nil || s == "" {
		return appendField(b, s)
	}
	i := indexEscape(s)
	if i < 0 {
		b = append(b, s...)
		return append(b, '\t')
	}
	h := maphash.String(c.seed, s)
	slot := &c.slots[h%escapeCacheSlots]
	if slot.key == s {
		b = append(b, slot.escaped...)
		return append(b, '\t')
	}
	n := len(b)
	b = appendEscapedFrom(append(b, s[:i]...), s[i:])
	if slot.seen == h {
		slot.key, slot.escaped = strings.Clone(s), string(b[n:])
	}
	slot.seen = h
	return append(b, '\t')
}

// digitPairs are 00 to 99: numbers are written two digits at a time.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendInt appends n and a tab, written two digits a step straight into
// b: faster than strconv for a log's numbers, which it writes a dozen
// of per line.
func appendInt(b []byte, n int64) []byte {
	if n < 0 {
		b = strconv.AppendInt(b, n, 10)
		return append(b, '\t')
	}
	u := uint64(n)
	if u < 10 {
		return append(b, byte('0'+u), '\t')
	}
	if u < 100 {
		return append(b, digitPairs[2*u], digitPairs[2*u+1], '\t')
	}
	l := len(b)
	i := l + decimalDigits(u)
	b = slices.Grow(b, i+1-l)[:i+1]
	b[i] = '\t'
	for u >= 100 {
		q := u / 100
		r := u - q*100
		i -= 2
		b[i], b[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		u = q
	}
	if u >= 10 {
		b[i-2], b[i-1] = digitPairs[2*u], digitPairs[2*u+1]
	} else {
		b[i-1] = byte('0' + u)
	}
	return b
}

// decimalDigits is the number of digits of u in base 10.
func decimalDigits(u uint64) int {
	n := 1
	for ; u >= 10000; u /= 10000 {
		n += 4
	}
	switch {
	case u >= 1000:
		return n + 3
	case u >= 100:
		return n + 2
	case u >= 10:
		return n + 1
	}
	return n
}

func appendOptInt(b []byte, n int64) []byte {
	if n < 0 {
		return append(b, "-\t"...)
	}
	return appendInt(b, n)
}

// appendSeconds writes d as seconds to the thousandth (0.082), rounded.
func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	ms := int64((d + time.Millisecond/2) / time.Millisecond)
	if ms < 1000 { // the common case: no call
		f := ms % 100
		return append(b, '0', '.', byte('0'+ms/100), digitPairs[2*f], digitPairs[2*f+1], '\t')
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	f := ms % 1000
	b = append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
	return append(b, '\t')
}

// mustEscape are the bytes CloudFront writes URL-encoded: ASCII 0-32,
// 127 and above, and < > " # % { } | \ ^ ~ [ ] ` '.
var mustEscape = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c <= 32 || c >= 127 {
			t[c] = 1
		}
	}
	for _, c := range []byte("<>\"#%{}|\\^~[]`'") {
		t[c] = 1
	}
	return t
}()

// AppendEscaped appends s with CloudFront's escaping: each byte of mustEscape
// as %XX (uppercase hex). A value is escaped as it arrived, so a viewer's
// %20 becomes %2520, as in CloudFront's logs; a tab can never split a field.
func AppendEscaped(b []byte, s string) []byte {
	i := indexEscape(s)
	if i < 0 {
		return append(b, s...)
	}
	return appendEscapedFrom(append(b, s[:i]...), s[i:])
}

// appendEscapedFrom is AppendEscaped of s, whose first byte is to escape.
func appendEscapedFrom(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; ; i = indexEscape(s) {
		if i < 0 {
			return append(b, s...)
		}
		c := s[i]
		b = append(append(b, s[:i]...), '%', hex[c>>4], hex[c&15])
		s = s[i+1:]
	}
}

// indexEscape is the index of the first byte of s to escape, or -1. Most
// bytes need none: they are tested eight at a time.
func indexEscape(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		if mustEscape[w[0]]|mustEscape[w[1]]|mustEscape[w[2]]|mustEscape[w[3]]|
			mustEscape[w[4]]|mustEscape[w[5]]|mustEscape[w[6]]|mustEscape[w[7]] != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if mustEscape[s[i]] != 0 {
			return i
		}
	}
	return -1
}

// TLSVersionName is a TLS version as ssl-protocol names it.
func TLSVersionName(v uint16) string {
	switch v {
	case tls.VersionSSL30: //nolint:staticcheck // deprecated, still a name to log
		return "SSLv3"
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// opensslNames are Go's cipher suites in OpenSSL's naming, which ssl-cipher
// uses; TLS 1.3 suites keep their IANA names in OpenSSL too.
var opensslNames = map[uint16]string{
	tls.TLS_AES_128_GCM_SHA256:                        "TLS_AES_128_GCM_SHA256",
	tls.TLS_AES_256_GCM_SHA384:                        "TLS_AES_256_GCM_SHA384",
	tls.TLS_CHACHA20_POLY1305_SHA256:                  "TLS_CHACHA20_POLY1305_SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:         "ECDHE-RSA-AES128-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:       "ECDHE-ECDSA-AES128-SHA256",
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:           "ECDHE-RSA-DES-CBC3-SHA",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256:               "AES128-SHA256",
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:                 "DES-CBC3-SHA",
}

// CipherName is a cipher suite as ssl-cipher names it (OpenSSL's name).
func CipherName(id uint16) string {
	if n, ok := opensslNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}
