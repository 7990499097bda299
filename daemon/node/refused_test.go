package node

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/accesslog"
)

// TestRefusedRequestsLogged: a request the HTTP/1 server refuses itself
// is logged and counted for the distribution its Host, or else its TLS
// connection's SNI, names, as CloudFront logs an invalid request (Error,
// InvalidRequestHeader or InvalidRequest); one that names none, and one
// over the header size limit (CloudFront "can't log the request"), is
// answered and not logged.
func TestRefusedRequestsLogged(t *testing.T) {
	e := startLogs(t)
	plain, secure := e.node.Addr("http").String(), e.node.Addr("https").String()
	tests := []struct {
		name, raw string
		tls       bool
		status    int
		detail    string // "": not logged
		method    string // cs-method
		host      string // x-host-header
		version   string // cs-protocol-version
	}{
		{"folded field", "GET /folded HTTP/1.1\r\nHost: logged.test\r\nUser-Agent: ua\r\nX-A: 1\r\n 2\r\n\r\n", false, 400, accesslog.InvalidRequestHeader, "GET", "logged.test", "HTTP/1.1"},
		{"unknown coding", "POST /coding HTTP/1.1\r\nHost: logged.test\r\nTransfer-Encoding: gzip\r\n\r\n", false, 501, accesslog.InvalidRequestHeader, "POST", "logged.test", "HTTP/1.1"},
		{"version", "GET /version HTTP/2.0\r\nHost: logged.test\r\n\r\n", false, 505, accesslog.InvalidRequest, "GET", "logged.test", "-"},
		{"bad Host, SNI names the distribution", "GET /sni HTTP/1.1\r\nHost: a b\r\n\r\n", true, 400, accesslog.InvalidRequestHeader, "GET", "-", "HTTP/1.1"},
		{"bad Host, no SNI to go by", "GET /nohost HTTP/1.1\r\nHost: a b\r\n\r\n", false, 400, "", "", "", ""},
		{"unknown host", "GET /unknown HTTP/1.1\r\nHost: nobody.test\r\nX-A: 1\r\n 2\r\n\r\n", false, 400, "", "", "", ""},
		{"head over the limit", "GET /large HTTP/1.1\r\nHost: logged.test\r\nX-Big: " + strings.Repeat("b", 21000) + "\r\n\r\n", false, 413, "", "", "", ""},
	}
	for _, tt := range tests {
		var c net.Conn
		var err error
		if tt.tls {
			c, err = tls.Dial("tcp", secure, &tls.Config{ServerName: "logged.test", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		} else {
			c, err = net.Dial("tcp", plain)
		}
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tt.raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		io.Copy(io.Discard, resp.Body)
		c.Close()
		if resp.StatusCode != tt.status || !resp.Close {
			t.Errorf("%s: %d, close %v; want %d, Connection: close", tt.name, resp.StatusCode, resp.Close, tt.status)
		}
		if tt.status != 413 && resp.Header.Get("X-Cache") != "Error from openfront" {
			t.Errorf("%s: X-Cache %q; want the edge's error answer", tt.name, resp.Header.Get("X-Cache"))
		}
	}

	want := map[string]float64{
		`openfront_requests_total{distribution="logged",protocol="http1.1",result="Error",status_class="4xx"}`: 2,
		`openfront_requests_total{distribution="logged",protocol="http1.1",result="Error",status_class="5xx"}`: 2,
	}
	var metrics map[string]float64
	for range 100 {
		metrics = scrape(t, "http://"+e.node.Addr("admin").String()+"/metrics")
		if sumOf(metrics, "openfront_requests_total{") == 4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for s, n := range want {
		if metrics[s] != n {
			t.Errorf("%s = %v, want %v; series: %v", s, metrics[s], n, seriesOf(metrics, "openfront_requests_total{"))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	lines, _ := readWebLogs(t, filepath.Join(e.logDir, "web"))
	byPath := map[string]logLine{}
	for _, l := range lines {
		byPath[l["cs-uri-stem"]] = l
	}
	for _, tt := range tests {
		path := strings.Fields(tt.raw)[1]
		l, ok := byPath[path]
		if tt.detail == "" {
			if ok {
				t.Errorf("%s logged, want not: %v", tt.name, l)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: no log line", tt.name)
			continue
		}
		protocol := "http"
		if tt.tls {
			protocol = "https"
		}
		for f, v := range map[string]string{"sc-status": itoa(tt.status), "x-edge-result-type": "Error", "x-edge-response-result-type": "Error",
			"x-edge-detailed-result-type": tt.detail, "cs-method": tt.method, "x-host-header": tt.host, "cs(Host)": "logged.test",
			"cs-protocol": protocol, "cs-protocol-version": tt.version, "c-ip": "127.0.0.1", "sc-content-type": "text/plain;%20charset=utf-8"} {
			if l[f] != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, f, l[f], v)
			}
		}
		if tt.name == "folded field" && l["cs(User-Agent)"] != "ua" {
			t.Errorf("%s: cs(User-Agent) %q, want ua", tt.name, l["cs(User-Agent)"])
		}
		if l["cs-bytes"] != itoa(len(tt.raw)) {
			t.Errorf("%s: cs-bytes %s, want the head's %d", tt.name, l["cs-bytes"], len(tt.raw))
		}
	}
	if len(lines) != 4 {
		t.Errorf("%d lines, want 4", len(lines))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestContinueWhenEdgeReads: over HTTP/1.1, a viewer that waits for 100
// Continue gets it once the edge reads its body to send it to the
// origin; a request the edge refuses first (a GET with a body: CloudFront
// "returns an HTTP status code 403") gets its 403 without sending the
// body, and the connection closes.
func TestContinueWhenEdgeReads(t *testing.T) {
	done := make(chan bodyRead, 4)
	e, _, _ := startLogging(t, bodyOrigin(done), time.Second)
	addr := e.node.Addr("http").String()
	for _, tt := range []struct {
		method  string
		want100 bool
		status  int
	}{{"POST", true, 200}, {"GET", false, 403}} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tt.method+" /up HTTP/1.1\r\nHost: site.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.method, err)
		}
		if got := resp.StatusCode == http.StatusContinue; got != tt.want100 {
			t.Fatalf("%s: first answer %d; want 100 %v", tt.method, resp.StatusCode, tt.want100)
		}
		if tt.want100 {
			io.WriteString(c, "hello")
			if resp, err = http.ReadResponse(br, nil); err != nil {
				t.Fatalf("%s: %v", tt.method, err)
			}
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tt.status || tt.want100 == resp.Close {
			t.Errorf("%s: %d %q, close %v; want %d, kept only when the body was sent", tt.method, resp.StatusCode, body, resp.Close, tt.status)
		}
		if tt.want100 && string(body) != "POST 5 bytes\n" {
			t.Errorf("%s: origin answered %q", tt.method, body)
		}
	}
}
