package node

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
	"github.com/coder/websocket"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/internal/testenv"
)

// logsConfig has a distribution that logs (with cookies) and one that
// does not; %[1]q is the key group's public key, %[2]s the app origin,
// %[3]s an address nothing listens on, %[4]s a WebSocket echo origin.
const logsConfig = `package cdn

keyGroups: signers: publicKeys: [{id: "K1", encodedKey: %[1]q}]
distributions: logged: {
	aliases: ["logged.test"]
	httpVersion: "http2and3"
	logging: {enabled: true, includeCookies: true, prefix: "web/"}
	webACLId: "guard"
	origins: [
		{id: "files", localOriginConfig: path: "site"},
		{id: "app", domainName: %[2]q, customOriginConfig: originProtocolPolicy: "http-only"},
		{id: "down", domainName: %[3]q, customOriginConfig: originProtocolPolicy: "http-only"},
		{id: "ws", domainName: %[4]q, customOriginConfig: originProtocolPolicy: "http-only"},
	]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all", defaultTTL: 3600}
	cacheBehaviors: [
		{pathPattern: "/api/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true},
		{pathPattern: "/down/*", targetOriginId: "down", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/private/*", targetOriginId: "files", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"]},
		{pathPattern: "/secure/*", targetOriginId: "files", viewerProtocolPolicy: "redirect-to-https"},
		{pathPattern: "/ws/*", targetOriginId: "ws", viewerProtocolPolicy: "allow-all", originRequestPolicy: "AllViewer"},
	]
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "blocked", priority: 1, action: block: {}
		statement: byteMatchStatement: {searchString: "/blocked/", fieldToMatch: uriPath: {}, positionalConstraint: "STARTS_WITH",
			textTransformations: [{priority: 0, type: "NONE"}]}
	}, {
		name: "slow-down", priority: 2, action: block: customResponse: responseCode: 429
		statement: byteMatchStatement: {searchString: "/slow/", fieldToMatch: uriPath: {}, positionalConstraint: "STARTS_WITH",
			textTransformations: [{priority: 0, type: "NONE"}]}
	}]
}
distributions: quiet: {
	aliases: ["quiet.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
}
`

// logsEnv is a node with access logs and the clients of every protocol.
type logsEnv struct {
	node         *Node
	logDir       string
	key          *rsa.PrivateKey
	h1, tls1, h2 *http.Client
	h3           *http.Client
	mu           sync.Mutex
	h1Ports      map[int]bool // local ports of the plain HTTP client
}

// signingKey is a new key pair of a key group, its public key in PEM.
func signingKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	return key, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func startLogs(t *testing.T) *logsEnv {
	t.Helper()
	e := &logsEnv{h1Ports: map[int]bool{}}
	var pub []byte
	e.key, pub = signingKey(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/fail" {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "hello from the app\n")
	}))
	t.Cleanup(app.Close)
	echo := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	t.Cleanup(echo.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	cfgDir := filepath.Join(dir, "config")
	files := map[string]string{
		"main.cue":            fmt.Sprintf(logsConfig, pub, app.Listener.Addr().String(), down, echo.Listener.Addr().String()),
		"site/index.html":     "<h1>logged</h1>\n",
		"site/data.bin":       strings.Repeat("0123456789", 100),
		"site/private/a.txt":  "private\n",
		"site/secure/a.txt":   "secure\n",
		"site/errors/x.html":  "x\n",
		"site/nested/b.html":  "b\n",
		"site/private/b.html": "b\n",
	}
	for name, body := range files {
		p := filepath.Join(cfgDir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.logDir = filepath.Join(dir, "logs")
	n, err := Start(Options{ConfigDir: cfgDir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		NodeName: "TST1", DrainTimeout: 5 * time.Second, LogDir: e.logDir, Logger: warnLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.node = n
	t.Cleanup(func() { n.Shutdown(context.Background()) })

	dialTo := func(addr string, ports map[int]bool) func(context.Context, string, string) (net.Conn, error) {
		return func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil && ports != nil {
				e.mu.Lock()
				ports[c.LocalAddr().(*net.TCPAddr).Port] = true
				e.mu.Unlock()
			}
			return c, err
		}
	}
	client := func(addr string, h2 bool, ports map[int]bool) *http.Client {
		var p http.Protocols
		p.SetHTTP1(!h2)
		p.SetHTTP2(h2)
		tr := &http.Transport{DialContext: dialTo(addr, ports), TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Protocols: &p, DisableCompression: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	e.h1 = client(n.Addr("http").String(), false, e.h1Ports)
	e.tls1 = client(n.Addr("https").String(), false, nil)
	e.h2 = client(n.Addr("https").String(), true, nil)
	h3addr := n.Addr("http3").String()
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableCompression: true,
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, h3addr, tlsCfg, cfg)
		}}
	t.Cleanup(func() { tr.Close() })
	e.h3 = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return e
}

// logged is a request of the workload and what its log line must say.
type logged struct {
	client, method, url string
	header              http.Header
	status              int
	result, detail      string
	version             string
	rangeStart          int64 // -1: none
	notLogged           bool
}

// logLine is a line of the web log, by field name.
type logLine map[string]string

// readWebLogs reads every closed log file under dir: whole gzip streams
// that start with the header.
func readWebLogs(t *testing.T, dir string) (lines []logLine, raw []string) {
	t.Helper()
	fields := accesslog.Web.Fields
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".gz") {
			t.Errorf("file %s left in the log directory", path)
			return nil
		}
		b, _ := os.ReadFile(path)
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		text, err := io.ReadAll(z)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, ok := strings.CutPrefix(string(text), string(accesslog.Web.Header()))
		if !ok {
			t.Fatalf("%s does not start with the header", path)
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(body, "\n"), "\n") {
			if l == "" {
				continue
			}
			vals := strings.Split(l, "\t")
			if len(vals) != len(fields) {
				t.Fatalf("%s: %d fields in %q", path, len(vals), l)
			}
			line := logLine{}
			for i, f := range fields {
				line[f] = vals[i]
			}
			lines = append(lines, line)
			raw = append(raw, l)
		}
		return nil
	})
	return lines, raw
}

// TestAccessLogsAndMetrics runs a mixed workload through the node: every
// request of the logging distribution has one line with the fields right,
// GoAccess reads every line, and /metrics counts what the log says.
func TestAccessLogsAndMetrics(t *testing.T) {
	e := startLogs(t)
	signed, err := sign.NewURLSigner("K1", e.key).Sign("http://logged.test/private/a.txt", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	const (
		v11 = "HTTP/1.1"
		v2  = "HTTP/2.0"
		v3  = "HTTP/3.0"
	)
	work := []logged{
		{client: "h1", url: "http://logged.test/index.html", status: 200, result: "Miss", version: v11},
		{client: "h1", url: "http://logged.test/index.html", status: 200, result: "Hit", version: v11},
		{client: "h1", method: "HEAD", url: "http://logged.test/index.html", status: 200, result: "Hit", version: v11},
		{client: "h1", url: "http://logged.test/data.bin", status: 200, result: "Miss", version: v11},
		{client: "h1", url: "http://logged.test/data.bin", header: h("Range", "bytes=2-5"), status: 206, result: "Hit", version: v11, rangeStart: 2},
		{client: "h1", url: "http://logged.test/nope.html", status: 404, result: "Error", detail: "Error", version: v11},
		{client: "h1", url: "http://logged.test/api/hello?x=1&y=a%20b", header: h("Cookie", "session=abc; theme=dark", "X-Forwarded-For", "203.0.113.9",
			"Referer", "https://ref.example/page", "User-Agent", "logs test/1.0"), status: 200, result: "Miss", version: v11},
		{client: "h1", url: "http://logged.test/api/fail", status: 500, result: "Error", detail: "Error", version: v11},
		{client: "h1", url: "http://logged.test/down/x", status: 502, result: "Error", detail: accesslog.OriginConnectError, version: v11},
		{client: "h1", url: "http://logged.test/secure/a.txt", status: 301, result: "Redirect", version: v11},
		{client: "h1", url: "http://logged.test/private/a.txt", status: 403, result: "Error", detail: "Error", version: v11},
		{client: "h1", url: signed, status: 200, result: "Miss", version: v11},
		{client: "h1", url: "http://logged.test/x%2F..%2Fprivate/a.txt", status: 400, result: "Error", detail: accesslog.InvalidRequest, version: v11},
		{client: "h1", method: "POST", url: "http://logged.test/index.html", status: 403, result: "Error", detail: accesslog.InvalidRequestMethod, version: v11},
		{client: "tls1", url: "https://logged.test/index.html", status: 200, result: "Hit", version: v11},
		{client: "h2", url: "https://logged.test/index.html", status: 200, result: "Hit", version: v2},
		{client: "h2", url: "https://logged.test/data.bin", header: h("Range", "bytes=10-19"), status: 206, result: "Hit", version: v2, rangeStart: 10},
		{client: "h3", url: "https://logged.test/index.html", status: 200, result: "Hit", version: v3},
		{client: "h3", url: "https://logged.test/secure/a.txt", status: 200, result: "Miss", version: v3},
		// Blocked by the web ACL: CloudFront logs Error, and Error for the
		// detail (repost.aws cloudfront-troubleshoot-403-errors).
		{client: "h1", url: "http://logged.test/blocked/index.html", status: 403, result: "Error", detail: "Error", version: v11},
		{client: "h2", url: "https://logged.test/slow/index.html", status: 429, result: "Error", detail: "Error", version: v2},
		{client: "h1", url: "http://nobody.test/index.html", status: 403, notLogged: true},
		{client: "h1", url: "http://quiet.test/index.html", status: 200, notLogged: true},
		{client: "h1", url: "ws://logged.test/ws/echo", status: 101, result: "Miss", version: v11},
		{client: "tls1", url: "wss://logged.test/ws/echo", status: 101, result: "Miss", version: v11},
		// RFC 9220: an extended CONNECT, answered 200 on the origin's
		// switch; a WebSocket over TLS all the same.
		{client: "h3", url: "wss://logged.test/ws/echo", status: 200, result: "Miss", version: v3},
	}
	clients := map[string]*http.Client{"h1": e.h1, "tls1": e.tls1, "h2": e.h2, "h3": e.h3}
	ids := make([]string, len(work))
	bodies := make([]int64, len(work)) // bytes of each response's body
	for i, w := range work {
		method := w.method
		if method == "" {
			method = http.MethodGet
		}
		var resp *http.Response
		if strings.HasPrefix(w.url, "ws") && w.client == "h3" {
			resp = h3WebSocketEcho(t, clients[w.client], w.url)
		} else if strings.HasPrefix(w.url, "ws") {
			resp = webSocketEcho(t, clients[w.client], w.url)
		} else {
			req, err := http.NewRequest(method, w.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range w.header {
				req.Header[k] = vs
			}
			if resp, err = clients[w.client].Do(req); err != nil {
				t.Fatalf("%s %s: %v", w.client, w.url, err)
			}
			bodies[i], _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if resp.StatusCode != w.status {
			t.Fatalf("%s %s: status %d, want %d", w.client, w.url, resp.StatusCode, w.status)
		}
		ids[i] = resp.Header.Get("X-Openfront-Id")
	}
	// A response can reach the client just before its request is counted
	// (the cache flushes the body): wait for the counters to settle.
	var metrics map[string]float64
	for range 100 {
		metrics = scrape(t, "http://"+e.node.Addr("admin").String()+"/metrics")
		if sumOf(metrics, "openfront_requests_total{") == float64(len(work)-1) { // all but the unknown host
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	lines, raw := readWebLogs(t, filepath.Join(e.logDir, "web"))
	byID := map[string]logLine{}
	for _, l := range lines {
		if _, dup := byID[l["x-edge-request-id"]]; dup {
			t.Errorf("request %s logged twice", l["x-edge-request-id"])
		}
		byID[l["x-edge-request-id"]] = l
	}
	want := 0
	var scBytes, csBytes float64
	for i, w := range work {
		l, ok := byID[ids[i]]
		if w.notLogged {
			if ok {
				t.Errorf("%s logged, want not: %v", w.url, l)
			}
			continue
		}
		want++
		if !ok {
			t.Errorf("%s %s (%s): no log line", w.client, w.url, ids[i])
			continue
		}
		n, _ := strconv.ParseFloat(l["sc-bytes"], 64)
		scBytes += n
		n, _ = strconv.ParseFloat(l["cs-bytes"], 64)
		csBytes += n
		detail := w.detail
		if detail == "" {
			detail = w.result
		}
		check := map[string]string{"sc-status": strconv.Itoa(w.status), "x-edge-result-type": w.result, "x-edge-response-result-type": w.result,
			"x-edge-detailed-result-type": detail, "cs-protocol-version": w.version, "cs(Host)": "logged.test", "x-host-header": "logged.test",
			"x-edge-location": "TST1", "c-ip": "127.0.0.1", "fle-status": "-"}
		scheme, _, _ := strings.Cut(w.url, ":")
		if secure := scheme == "https" || scheme == "wss"; secure {
			check["cs-protocol"] = scheme
			if w.version != v11 || w.client == "h3" {
				check["ssl-protocol"] = "TLSv1.3"
			}
		} else {
			check["cs-protocol"], check["ssl-protocol"], check["ssl-cipher"] = scheme, "-", "-"
		}
		if w.method != "" {
			check["cs-method"] = w.method
		} else {
			check["cs-method"] = "GET"
		}
		if w.rangeStart >= 0 && w.status == 206 {
			check["sc-range-start"] = strconv.FormatInt(w.rangeStart, 10)
		} else {
			check["sc-range-start"], check["sc-range-end"] = "-", "-"
		}
		for f, v := range check {
			if l[f] != v {
				t.Errorf("%s %s %s: %s = %q, want %q", w.client, w.method, w.url, f, l[f], v)
			}
		}
		if (scheme == "https" || scheme == "wss") && l["ssl-cipher"] == "-" {
			t.Errorf("%s %s: no ssl-cipher", w.client, w.url)
		}
		port, err := strconv.Atoi(l["c-port"])
		if err != nil || (w.client == "h1" && !e.h1Ports[port]) {
			t.Errorf("%s %s: c-port %q is not the client's", w.client, w.url, l["c-port"])
		}
		ttfb, _ := strconv.ParseFloat(l["time-to-first-byte"], 64)
		taken, _ := strconv.ParseFloat(l["time-taken"], 64)
		if ttfb > taken {
			t.Errorf("%s: time-to-first-byte %v after time-taken %v", w.url, ttfb, taken)
		}
	}
	if len(lines) != want {
		t.Errorf("%d lines, want %d", len(lines), want)
	}
	api := byID[ids[6]]
	for f, v := range map[string]string{"cs(Cookie)": "session=abc;%20theme=dark", "x-forwarded-for": "203.0.113.9", "cs-uri-stem": "/api/hello",
		"cs-uri-query": "x=1&y=a%2520b", "cs(Referer)": "https://ref.example/page", "cs(User-Agent)": "logs%20test/1.0"} {
		if api[f] != v {
			t.Errorf("api request: %s = %q, want %q", f, api[f], v)
		}
	}
	if q := byID[ids[11]]["cs-uri-query"]; !strings.Contains(q, "Signature=") || !strings.Contains(q, "Key-Pair-Id=K1") {
		t.Errorf("signed request: cs-uri-query %q, want the query as the viewer sent it", q)
	}
	for _, i := range []int{19, 20} { // blocked by the web ACL: the edge's own error body, and its head
		l := byID[ids[i]]
		if n, err := strconv.ParseInt(l["sc-bytes"], 10, 64); err != nil || n <= bodies[i] || l["sc-content-len"] != strconv.FormatInt(bodies[i], 10) {
			t.Errorf("%s: sc-bytes %s, sc-content-len %s; want the %d bytes of the body and more for the head", work[i].url, l["sc-bytes"], l["sc-content-len"], bodies[i])
		}
	}
	if r := byID[ids[4]]; r["sc-range-end"] != "5" || r["sc-content-len"] != "4" {
		t.Errorf("range request: end %s, content-len %s", r["sc-range-end"], r["sc-content-len"])
	}

	// What an operator checks on /metrics, against the log.
	for _, c := range []struct {
		labels string
		want   float64
	}{
		{`openfront_requests_total{distribution="logged",protocol="http1.1",result="Hit",status_class="2xx"}`, 4},
		{`openfront_requests_total{distribution="logged",protocol="http2",result="Hit",status_class="2xx"}`, 2},
		{`openfront_requests_total{distribution="logged",protocol="http3",result="Hit",status_class="2xx"}`, 1},
		{`openfront_requests_total{distribution="logged",protocol="http1.1",result="Miss",status_class="2xx"}`, 4},
		{`openfront_requests_total{distribution="logged",protocol="http1.1",result="Error",status_class="4xx"}`, 5},
		{`openfront_requests_total{distribution="logged",protocol="http2",result="Error",status_class="4xx"}`, 1},
		{`openfront_waf_requests_total{action="block",distribution="logged",rule="blocked",web_acl="guard"}`, 1},
		{`openfront_waf_requests_total{action="block",distribution="logged",rule="slow-down",web_acl="guard"}`, 1},
		{`openfront_requests_total{distribution="logged",protocol="http1.1",result="Error",status_class="5xx"}`, 2},
		{`openfront_requests_total{distribution="logged",protocol="http1.1",result="Redirect",status_class="3xx"}`, 1},
		{`openfront_requests_total{distribution="quiet",protocol="http1.1",result="Miss",status_class="2xx"}`, 1},
		{`openfront_response_bytes_total{distribution="logged"}`, scBytes},
		{`openfront_request_bytes_total{distribution="logged"}`, csBytes},
		{`openfront_origin_request_duration_seconds_count{distribution="logged",origin="app"}`, 2},
		{`openfront_origin_errors_total{distribution="logged",kind="http_5xx",origin="app"}`, 1},
		{`openfront_origin_errors_total{distribution="logged",kind="connect",origin="down"}`, 1},
		{`openfront_signature_denials_total{reason="missing-key-pair-id"}`, 1},
	} {
		if got, ok := metrics[c.labels]; !ok || got != c.want {
			t.Errorf("%s = %v (present %v), want %v; distribution series: %v", c.labels, got, ok, c.want, seriesOf(metrics, c.labels[:strings.IndexByte(c.labels, ',')]))
		}
	}
	for series := range metrics {
		if strings.Contains(series, "nobody") {
			t.Errorf("series for an unknown host: %s", series)
		}
	}
	for _, s := range []string{`openfront_cache_size_bytes{tier="memory"}`, `openfront_cache_objects{tier="memory"}`} {
		if metrics[s] <= 0 {
			t.Errorf("%s = %v, want > 0", s, metrics[s])
		}
	}

	goaccess := testenv.Tool(t, "goaccess")
	var text bytes.Buffer
	text.Write(accesslog.Web.Header())
	for _, l := range raw {
		text.WriteString(l + "\n")
	}
	valid, failed, bad := goAccess(t, goaccess, text.Bytes())
	if failed != 0 || valid != len(raw) {
		t.Errorf("goaccess: %d valid, %d invalid of %d lines:\n%s", valid, failed, len(raw), bad)
	}
}

// webSocketEcho opens a WebSocket to url through client's transport,
// has a message echoed and closes; it returns the handshake's answer.
// echoWebSocket is a WebSocket origin that echoes every message.
func echoWebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil || c.Write(r.Context(), typ, msg) != nil {
			return
		}
	}
}

func webSocketEcho(t *testing.T, client *http.Client, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: client.Transport}})
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "ping" {
		t.Fatalf("%s: echo %q, %v", url, msg, err)
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("%s: close: %v", url, err)
	}
	return resp
}

// h3WebSocketEcho opens a WebSocket to url (wss://) through client's
// HTTP/3 transport as RFC 9220 has it (CONNECT with :protocol websocket),
// has a message echoed and ends the stream; it returns the handshake's
// answer.
func h3WebSocketEcho(t *testing.T, client *http.Client, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	toOrigin, viewer := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, http.MethodConnect, "https"+strings.TrimPrefix(url, "wss"), toOrigin)
	req.Proto = "websocket"
	req.Header.Set("Sec-WebSocket-Version", "13")
	resp, err := client.Transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if got := exchangeText(t, viewer, resp.Body, "ping", len("ping")); got != "ping" {
			t.Fatalf("%s: echo %q", url, got)
		}
	}
	// The end of the viewer's side ends the joined connection, and the
	// edge logs it.
	viewer.Close()
	io.Copy(io.Discard, resp.Body)
	return resp
}

// scrape reads a Prometheus text exposition into series (name{labels}
// with labels sorted, as the registry writes them) and values.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	return scrapeWith(t, http.DefaultClient, url)
}

// scrapeWith is scrape with client.
func scrapeWith(t *testing.T, client *http.Client, url string) map[string]float64 {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", l, err)
		}
		out[l[:i]] = v
	}
	return out
}

// goAccess has goaccess (--log-format=CLOUDFRONT) read an uncompressed
// log; 000 lines need --no-strict-status, as CloudFront's own do.
func goAccess(t *testing.T, goaccess string, log []byte) (valid, failed int, bad string) {
	t.Helper()
	dir := t.TempDir()
	in, out, invalid := filepath.Join(dir, "access.log"), filepath.Join(dir, "report.json"), filepath.Join(dir, "invalid.log")
	if err := os.WriteFile(in, log, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goaccess, in, "--log-format=CLOUDFRONT", "--no-strict-status", "--no-progress", "--invalid-requests="+invalid, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("goaccess: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		General struct {
			Valid  int `json:"valid_requests"`
			Failed int `json:"failed_requests"`
		} `json:"general"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	badLines, _ := os.ReadFile(invalid)
	return report.General.Valid, report.General.Failed, string(badLines)
}

// TestAccessLogsUploadedOnShutdown: with logging.bucket on an
// S3-compatible endpoint (versitygw checks SigV4), Shutdown flushes the
// lines and uploads the files before returning; nothing stays local.
func TestAccessLogsUploadedOnShutdown(t *testing.T) {
	s3 := testenv.StartS3(t)
	if err := os.MkdirAll(filepath.Join(s3.Root, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`package cdn

distributions: up: {
	aliases: ["up.test"]
	logging: {enabled: true, bucket: "logs", endpoint: %q, region: "us-east-1", prefix: "edge/up"}
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
}
`, s3.Endpoint)
	os.MkdirAll(filepath.Join(dir, "site"), 0o755)
	os.WriteFile(filepath.Join(dir, "site", "index.html"), []byte("up\n"), 0o644)
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	logDir := filepath.Join(dir, "logs")
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", NodeName: "UP1", LogDir: logDir, Logger: warnLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	const requests = 5
	for range requests {
		req, _ := http.NewRequest("GET", "http://"+n.Addr("http").String()+"/index.html", nil)
		req.Host = "up.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if local, _ := filepath.Glob(filepath.Join(logDir, "edge", "up", "*")); len(local) != 0 {
		t.Errorf("files left locally after the upload: %v", local)
	}
	objects, _ := filepath.Glob(filepath.Join(s3.Root, "logs", "edge", "up", "up.*.gz"))
	if len(objects) != 1 {
		t.Fatalf("objects in the bucket: %v", objects)
	}
	lines, _ := readWebLogs(t, filepath.Join(s3.Root, "logs", "edge", "up"))
	if len(lines) != requests {
		t.Errorf("%d lines uploaded, want %d", len(lines), requests)
	}
}

// seriesOf lists the scraped series that start with prefix.
func seriesOf(metrics map[string]float64, prefix string) []string {
	var out []string
	for s, v := range metrics {
		if strings.HasPrefix(s, prefix) {
			out = append(out, fmt.Sprintf("%s %v", s, v))
		}
	}
	return out
}

// sumOf adds up the scraped series that start with prefix.
func sumOf(metrics map[string]float64, prefix string) float64 {
	var n float64
	for s, v := range metrics {
		if strings.HasPrefix(s, prefix) {
			n += v
		}
	}
	return n
}
