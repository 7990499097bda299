package accesslog

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// sampleRecords are the requests the golden file and GoAccess see: every
// result type, h1/h2/h3, ranges, queries, cookies and odd bytes.
func sampleRecords() []Record {
	base := func() Record {
		return Record{
			Time: t0, ClientIP: netip.MustParseAddr("192.0.2.100"), ClientPort: 51234, Method: "GET",
			Host: "www.example.com", Path: "/index.html", Status: 200, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
			RequestID: "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC", Protocol: "https", BytesIn: 412, BytesOut: 1045,
			TimeTaken: 1500 * time.Microsecond, TimeToFirstByte: 900 * time.Microsecond, TLSProtocol: "TLSv1.3",
			TLSCipher: "TLS_AES_128_GCM_SHA256", ProtocolVersion: "HTTP/2.0", ContentType: "text/html; charset=utf-8",
			ContentLength: 780, RangeStart: -1, RangeEnd: -1,
		}
	}
	var out []Record
	add := func(f func(r *Record)) {
		r := base()
		f(&r)
		out = append(out, r)
	}
	add(func(r *Record) { r.SetResult("Hit from openfront", false, "") })
	add(func(r *Record) {
		r.Path, r.Query, r.Cookie = "/api/search", "q=caf%C3%A9&page=2", "session=abc123; theme=dark"
		r.Referer = "https://www.example.com/start?x=1"
		r.ProtocolVersion, r.TLSProtocol, r.TLSCipher = "HTTP/1.1", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"
		r.SetResult("Miss from openfront", false, "")
	})
	add(func(r *Record) {
		r.Status, r.ContentType, r.ContentLength = 502, "text/plain; charset=utf-8", 96
		r.Protocol, r.TLSProtocol, r.TLSCipher, r.ProtocolVersion = "http", "", "", "HTTP/1.1"
		r.SetResult("Error from openfront", false, OriginConnectError)
	})
	add(func(r *Record) {
		r.Status, r.ContentType, r.ContentLength, r.BytesOut = 301, "", 0, 180
		r.Protocol, r.TLSProtocol, r.TLSCipher, r.ProtocolVersion = "http", "", "", "HTTP/1.1"
		r.SetResult("Redirect from openfront", false, "")
	})
	add(func(r *Record) {
		r.Path, r.Status, r.ContentType, r.ContentLength = "/video/movie.mp4", 206, "video/mp4", 1048576
		r.RangeStart, r.RangeEnd, r.BytesOut = 1048576, 2097151, 1048900
		r.ProtocolVersion, r.TimeTaken = "HTTP/3.0", 82*time.Millisecond
		r.SetResult("RefreshHit from openfront", false, "")
	})
	add(func(r *Record) {
		r.ClientIP, r.ClientPort = netip.MustParseAddr("2001:db8:85a3::8a2e:370:7334"), 443
		r.ForwardedFor = "198.51.100.7, 203.0.113.9"
		r.Status = 403
		r.SetResult("Error from openfront", false, ClientGeoBlocked)
	})
	add(func(r *Record) {
		// Odd bytes: a tab, a newline, quotes, UTF-8 and every character
		// CloudFront encodes; none may split a field or a line.
		r.Path = "/odd dir/<\"#%{}|\\^~[]`'>\tx"
		r.Query = "a=1&b=tab\there&c=ünï"
		r.UserAgent = "curl/8.5.0\r\nX-Injected: yes"
		r.Referer = "-"
		r.Cookie = "k=\"quoted value\""
		r.SetResult("Hit from openfront", true, "") // the viewer hung up mid-body
	})
	add(func(r *Record) {
		r.Status, r.BytesOut, r.ContentType, r.ContentLength = 0, 0, "", -1
		r.UserAgent, r.TLSProtocol, r.TLSCipher, r.ClientPort = "", "", "", 0
		r.SetResult("", true, "")
	})
	add(func(r *Record) {
		r.Method, r.Path, r.Status, r.BytesIn = "POST", "/api/upload", 201, 40960
		r.Protocol, r.TimeTaken = "wss", 2*time.Second+499*time.Microsecond
		r.SetResult("Miss from openfront", false, "")
	})
	return out
}

func formatAll(recs []Record, includeCookies bool) []byte {
	f := newLineFormat("FRA50-openfront", "www.example.com", includeCookies)
	b := Web.Header()
	for i := range recs {
		b = f.appendLine(b, &recs[i])
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestLineFormatGolden(t *testing.T) {
	got := formatAll(sampleRecords(), true)
	golden(t, "web.golden", got)
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if lines[0] != "#Version: 1.0" || !strings.HasPrefix(lines[1], "#Fields: date time x-edge-location sc-bytes") {
		t.Fatalf("header: %q", lines[:2])
	}
	if n := len(strings.Fields(strings.TrimPrefix(lines[1], "#Fields:"))); n != 33 {
		t.Fatalf("#Fields names %d fields, want 33", n)
	}
	for i, l := range lines[2:] {
		if n := strings.Count(l, "\t") + 1; n != 33 {
			t.Errorf("line %d has %d fields, want 33: %q", i, n, l)
		}
		for _, f := range strings.Split(l, "\t") {
			if f == "" {
				t.Errorf("line %d has an empty field (want -): %q", i, l)
			}
		}
	}
}

// field returns field n (1-based, as CloudFront numbers them) of a line.
func field(line string, n int) string {
	return strings.Split(strings.TrimSuffix(line, "\n"), "\t")[n-1]
}

func TestCookiesOnlyWithIncludeCookies(t *testing.T) {
	r := sampleRecords()[1]
	with := string(newLineFormat("n", "d", true).appendLine(nil, &r))
	without := string(newLineFormat("n", "d", false).appendLine(nil, &r))
	if got := field(with, 13); got != "session=abc123;%20theme=dark" {
		t.Errorf("cs(Cookie) with includeCookies = %q", got)
	}
	if got := field(without, 13); got != "-" {
		t.Errorf("cs(Cookie) without includeCookies = %q, want -", got)
	}
}

func TestFieldValues(t *testing.T) {
	recs := sampleRecords()
	lf := newLineFormat("node 1", "www.example.com", true)
	cases := []struct {
		name  string
		rec   int
		field int
		want  string
	}{
		{"date UTC", 0, 1, "2026-03-14"},
		{"time UTC", 0, 2, "09:26:53"},
		{"edge location escaped", 0, 3, "node%201"},
		{"time-taken 3 decimals", 0, 19, "0.002"},
		{"time-taken rounding down", 8, 19, "2.000"},
		{"ttfb", 0, 28, "0.001"},
		{"hit", 0, 14, "Hit"},
		{"detailed follows result", 0, 29, "Hit"},
		{"error detail", 2, 29, "OriginConnectError"},
		{"error result", 2, 14, "Error"},
		{"redirect", 3, 14, "Redirect"},
		{"refresh hit", 4, 23, "RefreshHit"},
		{"range start", 4, 32, "1048576"},
		{"range end", 4, 33, "2097151"},
		{"no range", 0, 32, "-"},
		{"h3", 4, 24, "HTTP/3.0"},
		{"ipv6", 5, 5, "2001:db8:85a3::8a2e:370:7334"},
		{"x-forwarded-for", 5, 20, "198.51.100.7,%20203.0.113.9"},
		{"geo blocked", 5, 29, "ClientGeoBlocked"},
		{"aborted: final result Error", 6, 14, "Error"},
		{"aborted: response result kept", 6, 23, "Hit"},
		{"aborted: detail", 6, 29, "ClientCommError"},
		{"status 000", 7, 9, "000"},
		{"no content length", 7, 31, "-"},
		{"no port", 7, 27, "-"},
		{"empty user agent", 7, 11, "-"},
		{"fle-status", 0, 25, "-"},
		{"fle-encrypted-fields", 0, 26, "-"},
		{"query keeps viewer encoding, %% escaped", 1, 12, "q=caf%25C3%25A9&page=2"},
		{"cs(Host) is the distribution's domain", 0, 7, "www.example.com"},
		{"x-host-header is the viewer's Host", 0, 16, "www.example.com"},
		{"wss", 8, 17, "wss"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line := string(lf.appendLine(nil, &recs[c.rec]))
			if got := field(line, c.field); got != c.want {
				t.Errorf("field %d = %q, want %q", c.field, got, c.want)
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain/path.html", "plain/path.html"},
		{"a b", "a%20b"},
		{"tab\there", "tab%09here"},
		{"line\r\nbreak", "line%0D%0Abreak"},
		{"\x00\x1f\x7f", "%00%1F%7F"},
		{`<>"#%{}|\^~[]` + "`'", "%3C%3E%22%23%25%7B%7D%7C%5C%5E%7E%5B%5D%60%27"},
		{"café", "caf%C3%A9"},
		{"already%20encoded", "already%2520encoded"},
		{"keep()=;,&:@!$*+", "keep()=;,&:@!$*+"},
		{"", ""},
	}
	for _, c := range cases {
		if got := string(AppendEscaped(nil, c.in)); got != c.want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSetResult(t *testing.T) {
	cases := []struct {
		xcache           string
		status           int
		aborted          bool
		detail           string
		result, response string
		detailed         string
	}{
		{"Hit from openfront", 200, false, "", "Hit", "Hit", "Hit"},
		{"RefreshHit from openfront", 200, false, "", "RefreshHit", "RefreshHit", "RefreshHit"},
		{"Miss from openfront", 200, false, "", "Miss", "Miss", "Miss"},
		{"Redirect from openfront", 301, false, "", "Redirect", "Redirect", "Redirect"},
		{"Error from openfront", 404, false, "", "Error", "Error", "Error"},
		{"Error from openfront", 504, false, OriginCommError, "Error", "Error", "OriginCommError"},
		{"Hit from openfront", 200, true, "", "Error", "Hit", "ClientCommError"},
		{"", 200, false, "", "Miss", "Miss", "Miss"},
		{"", 500, false, "", "Error", "Error", "Error"},
		{"LimitExceeded from openfront", 503, false, "", "LimitExceeded", "LimitExceeded", "LimitExceeded"},
		// The edge shed the request (serve --max-origin-requests): its
		// X-Cache says Error, the log says why.
		{"Error from openfront", 503, false, CapacityExceeded, "CapacityExceeded", "CapacityExceeded", "CapacityExceeded"},
		{"Error from openfront", 503, true, CapacityExceeded, "Error", "CapacityExceeded", "ClientCommError"},
		// The origin failed after the response started: the viewer got a
		// truncated Miss; the final result is Error, the response result kept.
		{"Miss from openfront", 200, false, OriginCommError, "Error", "Miss", "OriginCommError"},
		{"RefreshHit from openfront", 200, false, Error, "Error", "RefreshHit", "Error"},
		// The viewer left as well: its hang-up is what the log says.
		{"Miss from openfront", 200, true, OriginCommError, "Error", "Miss", "ClientCommError"},
		// The viewer stopped sending its request body (standard-logs-reference:
		// ClientHungUpRequest, "The viewer stopped prematurely while sending
		// the request"): answered 408, or its stream reset once the origin's
		// answer began; its going away too is not the response interrupted.
		{"Error from openfront", 408, false, "ClientHungUpRequest", "Error", "Error", "ClientHungUpRequest"},
		{"Miss from openfront", 200, true, "ClientHungUpRequest", "Error", "Miss", "ClientHungUpRequest"},
		{"Error from openfront", 502, true, "ClientHungUpRequest", "Error", "Error", "ClientHungUpRequest"},
		// The edge missed and its Origin Shield had the object
		// (standard-logs-reference: "served to the viewer from the Origin
		// Shield layer"): a Miss, the detail says where it came from. A
		// response that is no Miss, or broke off, keeps its own.
		{"Miss from openfront", 200, false, OriginShieldHit, "Miss", "Miss", "OriginShieldHit"},
		{"Miss from openfront", 200, true, OriginShieldHit, "Error", "Miss", "ClientCommError"},
		{"Error from openfront", 404, false, OriginShieldHit, "Error", "Error", "Error"},
		{"Hit from openfront", 200, false, OriginShieldHit, "Hit", "Hit", "Hit"},
	}
	for _, c := range cases {
		r := Record{Status: c.status}
		r.SetResult(c.xcache, c.aborted, c.detail)
		if r.ResultType != c.result || r.ResponseResultType != c.response || r.DetailedResultType != c.detailed {
			t.Errorf("SetResult(%q, %d, %v) = %s/%s/%s, want %s/%s/%s", c.xcache, c.status, c.aborted,
				r.ResultType, r.ResponseResultType, r.DetailedResultType, c.result, c.response, c.detailed)
		}
	}
}

// TestEscapingByteByByte: whatever the length and wherever the bytes to
// escape sit (the scan takes eight at a time), each byte is escaped by
// CloudFront's rule alone.
func TestEscapingByteByByte(t *testing.T) {
	const hex = "0123456789ABCDEF"
	rnd := rand.New(rand.NewPCG(7, 7))
	alphabet := []byte("abcXYZ019-_./:;=&?()!*+,@ <>\"#%{}|\\^~[]`'\t\r\n\x00\x7f\xc3\xa9")
	for range 2000 {
		s := make([]byte, rnd.IntN(40))
		for i := range s {
			if rnd.IntN(4) == 0 {
				s[i] = alphabet[rnd.IntN(len(alphabet))]
			} else {
				s[i] = 'a' + byte(rnd.IntN(26))
			}
		}
		var want []byte
		for _, c := range s {
			if c <= 32 || c >= 127 || strings.IndexByte(`<>"#%{}|\^~[]`+"`'", c) >= 0 {
				want = append(want, '%', hex[c>>4], hex[c&15])
			} else {
				want = append(want, c)
			}
		}
		if got := AppendEscaped([]byte("x"), string(s)); string(got) != "x"+string(want) {
			t.Fatalf("AppendEscaped(%q) = %q, want %q", s, got[1:], want)
		}
	}
}

func TestNumberFields(t *testing.T) {
	ints := []int64{0, 7, 101, 40000, 65535, 1048576, 1<<53 + 1, math.MaxInt64, -1, -1234}
	for p := int64(10); p <= 1e18; p *= 10 { // every change of length
		ints = append(ints, p-1, p)
	}
	for _, n := range ints {
		if got, want := string(appendInt(nil, n)), strconv.FormatInt(n, 10)+"\t"; got != want {
			t.Errorf("appendInt(%d) = %q, want %q", n, got, want)
		}
	}
	secs := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"}, {-time.Second, "0.000"}, {499 * time.Microsecond, "0.000"}, {500 * time.Microsecond, "0.001"},
		{82 * time.Millisecond, "0.082"}, {999*time.Millisecond + 499*time.Microsecond, "0.999"},
		{999*time.Millisecond + 500*time.Microsecond, "1.000"}, {2*time.Second + 499*time.Microsecond, "2.000"},
		{61*time.Second + 7*time.Millisecond, "61.007"},
	}
	for _, c := range secs {
		if got := string(appendSeconds(nil, c.d)); got != c.want+"\t" {
			t.Errorf("appendSeconds(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestDateTimeEachSecond: lines of one writer, in and out of time order,
// across seconds, midnight and a year, in any time zone, carry the UTC
// date and time of their own Time.
func TestDateTimeEachSecond(t *testing.T) {
	f := newLineFormat("n", "d", false)
	tokyo := time.FixedZone("JST", 9*3600)
	times := []time.Time{
		t0, t0.Add(400 * time.Millisecond), t0.Add(time.Second), t0.Add(-time.Hour), t0,
		time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 8, 59, 59, 0, tokyo), time.Date(2027, 1, 1, 9, 0, 0, 0, tokyo),
	}
	for _, tm := range times {
		r := sampleRecords()[0]
		r.Time = tm
		line := string(f.appendLine(nil, &r))
		if got, want := field(line, 1)+" "+field(line, 2), tm.UTC().Format("2006-01-02 15:04:05"); got != want {
			t.Errorf("%v: date time %q, want %q", tm, got, want)
		}
	}
}

// TestEscapeCache checks that lines formatted through a writer's cache of
// escaped agents and referers are the lines formatted without one, for
// values that repeat and values that replace them in their slots.
func TestEscapeCache(t *testing.T) {
	f := newLineFormat("FRA50-openfront", "www.example.com", false)
	esc := newEscapeCache()
	agents := []string{"", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" 100%", "tab\there", "ünïcode agent"}
	for i := range 3 * escapeCacheSlots {
		r := typical()
		r.UserAgent = agents[i%len(agents)]
		if i%3 == 0 {
			r.UserAgent = fmt.Sprintf("Agent %d {x}", i) // unique: fills the cache
		}
		r.Referer = fmt.Sprintf("https://ex.test/a b?%d", i%7)
		want := string(f.appendLine(nil, &r))
		if got := string(f.appendLineWith(nil, &r, esc)); got != want {
			t.Fatalf("record %d through the cache:\n%q\nwant\n%q", i, got, want)
		}
	}
}
