package accesslog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// mixedWorkload is what a busy edge logs: hits, misses, refresh hits,
// errors of every kind, redirects, ranges, signed and unsigned URLs,
// h1/h2/h3 over http and https, IPv4 and IPv6, cookies and odd bytes.
func mixedWorkload() []Record {
	var recs []Record
	for _, r := range sampleRecords() {
		if r.Status != 0 { // 000 lines: TestGoAccessStatus000
			recs = append(recs, r)
		}
	}
	results := []struct {
		xcache string
		status int
		detail string
	}{
		{"Hit from openfront", 200, ""}, {"Miss from openfront", 200, ""}, {"RefreshHit from openfront", 304, ""},
		{"Error from openfront", 404, ""}, {"Error from openfront", 403, ClientGeoBlocked}, {"Error from openfront", 502, OriginConnectError},
		{"Error from openfront", 504, OriginCommError}, {"Redirect from openfront", 301, ""}, {"Hit from openfront", 206, ""},
	}
	protos := []struct{ proto, version, tlsv, cipher string }{
		{"http", "HTTP/1.1", "", ""}, {"https", "HTTP/1.1", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"},
		{"https", "HTTP/2.0", "TLSv1.3", "TLS_AES_256_GCM_SHA384"}, {"https", "HTTP/3.0", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"},
		{"http", "HTTP/1.0", "", ""},
	}
	ips := []string{"192.0.2.10", "198.51.100.77", "2001:db8::1", "203.0.113.254", "::ffff:192.0.2.1"}
	for i := range 200 {
		res, p := results[i%len(results)], protos[i%len(protos)]
		r := rec(i)
		r.Time = t0.Add(time.Duration(i) * 1700 * time.Millisecond)
		r.ClientIP = netip.MustParseAddr(ips[i%len(ips)])
		r.Status, r.Protocol, r.ProtocolVersion, r.TLSProtocol, r.TLSCipher = res.status, p.proto, p.version, p.tlsv, p.cipher
		switch i % 4 {
		case 0: // signed URL
			r.Query = fmt.Sprintf("Expires=%d&Signature=abc~def_ghi-%d&Key-Pair-Id=K2JCJMDEHXQW5F", 1767225600+i, i)
		case 1:
			r.Query = "utm_source=news letter&q=a+b%20c"
		case 2:
			r.Cookie = fmt.Sprintf("CloudFront-Policy=eyJ%d; CloudFront-Signature=x~y; CloudFront-Key-Pair-Id=K2JCJMDEHXQW5F", i)
		}
		if res.status == 206 {
			r.RangeStart, r.RangeEnd, r.ContentLength = int64(i*100), int64(i*100+99), 100
		}
		if i%7 == 0 {
			r.Referer = "https://search.example/?q=\"open front\"&x=<y>"
		}
		if i%11 == 0 {
			r.UserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
		}
		if i%13 == 0 {
			r.Path = "/ünïcödé/with space/and\ttab/[brackets]{braces}|pipe^caret`tick'quote\"dq.html"
		}
		r.SetResult(res.xcache, i%17 == 0, res.detail)
		recs = append(recs, r)
	}
	return recs
}

// TestGoAccessParsesEveryLine writes a mixed workload through a real
// writer and has GoAccess (--log-format=CLOUDFRONT) read the files: zero
// invalid lines, and it sees the bytes the log claims.
func TestGoAccessParsesEveryLine(t *testing.T) {
	goaccess := testenv.Tool(t, "goaccess")
	opts := testOptions(t)
	opts.MaxFileBytes = 8 << 10 // several files, several members each
	w := mustNew(t, opts, Config{ID: "site", Domain: "www.example.com", Logging: schema.Logging{Enabled: true, IncludeCookies: true, Prefix: "cf"}})
	recs := mixedWorkload()
	var sent int64
	for i := range recs {
		if !w.Log(&recs[i]) {
			t.Fatal("line dropped")
		}
		sent += recs[i].BytesOut
		if i%25 == 0 {
			flush(t, w)
		}
	}
	closeWriter(t, w)

	// Decompress what the node wrote, as one would before analysing it.
	files, _ := readLogs(t, opts.Dir)
	if len(files) < 2 {
		t.Fatalf("%d files, want rotation to make several", len(files))
	}
	var text bytes.Buffer
	lines := 0
	for _, f := range files {
		text.Write(Web.Header())
		for _, l := range f.lines {
			text.WriteString(l + "\n")
			lines++
		}
	}
	if lines != len(recs) {
		t.Fatalf("%d lines in the files, want %d", lines, len(recs))
	}
	g, bad := runGoAccess(t, goaccess, text.Bytes())
	t.Logf("goaccess: %d requests, %d valid, %d failed, %d bytes", g.Total, g.Valid, g.Failed, g.Bandwidth)
	if g.Failed != 0 || g.Valid != len(recs) {
		t.Errorf("goaccess: %d valid, %d failed of %d lines; invalid lines:\n%s", g.Valid, g.Failed, len(recs), bad)
	}
	if g.Bandwidth != sent {
		t.Errorf("goaccess counts %d bytes, the log %d: fields are misaligned", g.Bandwidth, sent)
	}
}

// TestGoAccessStatus000: CloudFront logs 000 when the viewer left before
// any response, and GoAccess's status check refuses it, for CloudFront's
// own logs too; --no-strict-status reads it.
func TestGoAccessStatus000(t *testing.T) {
	goaccess := testenv.Tool(t, "goaccess")
	text := formatAll(sampleRecords(), true)
	g, _ := runGoAccess(t, goaccess, text)
	if g.Failed != 1 {
		t.Errorf("goaccess refused %d lines, want just the 000 one", g.Failed)
	}
	g, bad := runGoAccess(t, goaccess, text, "--no-strict-status")
	if g.Failed != 0 || g.Valid != len(sampleRecords()) {
		t.Errorf("goaccess --no-strict-status: %d valid, %d failed; invalid:\n%s", g.Valid, g.Failed, bad)
	}
}

type goaccessGeneral struct {
	Total     int   `json:"total_requests"`
	Valid     int   `json:"valid_requests"`
	Failed    int   `json:"failed_requests"`
	Bandwidth int64 `json:"bandwidth"`
}

// runGoAccess has goaccess read an uncompressed log and returns its
// summary and the lines it found invalid.
func runGoAccess(t *testing.T, goaccess string, log []byte, flags ...string) (goaccessGeneral, string) {
	t.Helper()
	dir := t.TempDir()
	logPath, out, invalid := filepath.Join(dir, "access.log"), filepath.Join(dir, "report.json"), filepath.Join(dir, "invalid.log")
	if err := os.WriteFile(logPath, log, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{logPath, "--log-format=CLOUDFRONT", "--no-progress", "--invalid-requests=" + invalid, "-o", out}, flags...)
	if b, err := exec.Command(goaccess, args...).CombinedOutput(); err != nil {
		t.Fatalf("goaccess: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		General goaccessGeneral `json:"general"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	bad, _ := os.ReadFile(invalid)
	return report.General, string(bad)
}
