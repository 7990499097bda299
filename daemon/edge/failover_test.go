package edge

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/internal/testenv"
)

// TestOriginGroupFailover runs a behavior whose target is an origin group,
// with and without the cache: the secondary is asked when the primary
// answers a listed status, cannot be reached or times out, and its answer
// is the viewer's whatever it is. A body (OPTIONS) reaches both.
func TestOriginGroupFailover(t *testing.T) {
	var primaryHits, secondaryHits atomic.Int32
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		primaryHits.Add(1)
		io.Copy(io.Discard, r.Body) // the body is read before the answer, as a server does
		switch r.URL.Path {
		case "/unavailable", "/busy":
			http.Error(w, "primary 503", http.StatusServiceUnavailable)
		case "/missing":
			http.Error(w, "primary 404", http.StatusNotFound)
		case "/slow":
			time.Sleep(1500 * time.Millisecond)
			io.WriteString(w, "primary late")
		default:
			io.WriteString(w, "primary "+r.URL.Path)
		}
	}))
	t.Cleanup(primary.Close)
	secondary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secondaryHits.Add(1)
		if r.URL.Path == "/unavailable" {
			http.Error(w, "secondary 500", http.StatusInternalServerError)
			return
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "secondary %s %s%s", r.Method, r.URL.Path, b)
	}))
	t.Cleanup(secondary.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String() // closed: nothing listens
	ln.Close()
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [
		{id: "primary", domainName: %q, connectionAttempts: 1, customOriginConfig: {originProtocolPolicy: "http-only", originReadTimeout: 1}},
		{id: "down", domainName: %q, connectionAttempts: 1, customOriginConfig: originProtocolPolicy: "http-only"},
		{id: "secondary", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
	]
	originGroups: [
		{id: "g", failoverCriteria: statusCodes: [500, 502, 503, 504], members: [{originId: "primary"}, {originId: "secondary"}]},
		{id: "gdown", failoverCriteria: statusCodes: [503], members: [{originId: "down"}, {originId: "secondary"}]},
	]
	defaultCacheBehavior: {targetOriginId: "g", viewerProtocolPolicy: "allow-all", allowedMethods: ["GET", "HEAD", "OPTIONS"], minTTL: 0, defaultTTL: 0, maxTTL: 0}
	cacheBehaviors: [{pathPattern: "/down/*", targetOriginId: "gdown", viewerProtocolPolicy: "allow-all", minTTL: 0, defaultTTL: 0, maxTTL: 0}]
}
`, strings.TrimPrefix(primary.URL, "http://"), down, strings.TrimPrefix(secondary.URL, "http://")))
	tests := []struct {
		name, method, path string
		reqBody            string
		status             int
		body               string
		primary, secondary int32
	}{
		{"a success is the primary's", "GET", "/ok", "", 200, "primary /ok", 1, 0},
		{"an unlisted error is the primary's", "GET", "/missing", "", 404, "primary 404\n", 1, 0},
		{"a listed status fails over, the secondary's error is returned", "GET", "/unavailable", "", 500, "secondary 500\n", 1, 1},
		{"a response timeout fails over", "GET", "/slow", "", 200, "secondary GET /slow", 1, 1},
		{"a connection failure fails over", "GET", "/down/x", "", 200, "secondary GET /down/x", 0, 1},
		{"the secondary gets the body the primary read", "OPTIONS", "/busy", " payload", 200, "secondary OPTIONS /busy payload", 1, 1},
		{"a body over the bound kept for the secondary goes to the primary alone", "OPTIONS", "/busy", strings.Repeat("x", maxFailoverBody+1), 503, "primary 503\n", 1, 0},
	}
	for _, e := range bothEdges(t, dir, tb) {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("cached=%v/%s", e.cached, tt.name), func(t *testing.T) {
				p0, s0 := primaryHits.Load(), secondaryHits.Load()
				resp, b := siteRequest(t, e.url, tt.method, tt.path, nil, strings.NewReader(tt.reqBody))
				if resp.StatusCode != tt.status || b != tt.body {
					t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, tt.status, tt.body)
				}
				if p, s := primaryHits.Load()-p0, secondaryHits.Load()-s0; p != tt.primary || s != tt.secondary {
					t.Errorf("primary asked %d times, secondary %d; want %d, %d", p, s, tt.primary, tt.secondary)
				}
			})
		}
	}
}

// TestOriginGroupUnsafeMethods: CloudFront fails over only a GET, HEAD or
// OPTIONS ("Optimizing high availability with CloudFront origin
// failover"). vet keeps other methods off a configured group's behavior,
// but a viewer-request function may send any request to a group, its own
// (createRequestOriginGroup) or the distribution's
// (selectRequestOriginById): a POST, PUT, PATCH or DELETE then gets the
// primary's answer, and the secondary never sees it.
func TestOriginGroupUnsafeMethods(t *testing.T) {
	var secondaryHits atomic.Int32
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "primary 503", http.StatusServiceUnavailable)
	}))
	t.Cleanup(primary.Close)
	secondary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secondaryHits.Add(1)
		fmt.Fprintf(w, "secondary %s", r.Method)
	}))
	t.Cleanup(secondary.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

functions: route: functionCode: """
	import cf from 'cloudfront';
	function handler(event) {
	    if (event.request.uri === '/made') {
	        cf.createRequestOriginGroup({originIds: [{originId: 'primary'}, {originId: 'secondary'}], failoverCriteria: {statusCodes: [503]}});
	    } else {
	        cf.selectRequestOriginById('g');
	    }
	    return event.request;
	}
	"""

distributions: site: {
	aliases: ["site.test"]
	origins: [
		{id: "primary", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
		{id: "secondary", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
	]
	originGroups: [{id: "g", failoverCriteria: statusCodes: [503], members: [{originId: "primary"}, {originId: "secondary"}]}]
	defaultCacheBehavior: {targetOriginId: "primary", viewerProtocolPolicy: "allow-all", minTTL: 0, defaultTTL: 0, maxTTL: 0,
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
		functionAssociations: [{eventType: "viewer-request", functionName: "route"}]}
}
`, primary.Listener.Addr().String(), secondary.Listener.Addr().String()))
	tests := []struct {
		method, path string
		status       int
		body         string
		secondary    int32
	}{
		{"GET", "/made", 200, "secondary GET", 1},
		{"GET", "/configured", 200, "secondary GET", 1},
		{"POST", "/made", 503, "primary 503\n", 0},
		{"POST", "/configured", 503, "primary 503\n", 0},
		{"PUT", "/made", 503, "primary 503\n", 0},
		{"PATCH", "/configured", 503, "primary 503\n", 0},
		{"DELETE", "/made", 503, "primary 503\n", 0},
	}
	for _, e := range bothEdges(t, dir, tb) {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("cached=%v/%s %s", e.cached, tt.method, tt.path), func(t *testing.T) {
				s0 := secondaryHits.Load()
				var body io.Reader
				if tt.method != "GET" && tt.method != "DELETE" {
					body = strings.NewReader("payload")
				}
				resp, b := siteRequest(t, e.url, tt.method, tt.path, nil, body)
				if resp.StatusCode != tt.status || b != tt.body {
					t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, tt.status, tt.body)
				}
				if s := secondaryHits.Load() - s0; s != tt.secondary {
					t.Errorf("secondary asked %d times, want %d", s, tt.secondary)
				}
			})
		}
	}
}

// TestOriginGroupS3ResponseTimeout: an S3 origin's originReadTimeout
// (API_S3OriginConfig: 1 to 120 seconds, 30 by default) is how long the
// node waits for its answer, so a bucket endpoint that does not answer
// fails over to the secondary after it, as a custom origin's does.
func TestOriginGroupS3ResponseTimeout(t *testing.T) {
	release := make(chan struct{})
	bucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers before the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(bucket.Close)
	t.Cleanup(func() { close(release) })
	secondary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "secondary %s", r.URL.Path)
	}))
	t.Cleanup(secondary.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [
		{id: "bucket", domainName: "bucket", connectionAttempts: 1,
			s3OriginConfig: {endpoint: %q, bucket: "bucket", region: "us-east-1", signRequests: false, originReadTimeout: 1}},
		{id: "secondary", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
	]
	originGroups: [{id: "g", failoverCriteria: statusCodes: [503], members: [{originId: "bucket"}, {originId: "secondary"}]}]
	defaultCacheBehavior: {targetOriginId: "g", viewerProtocolPolicy: "allow-all", minTTL: 0, defaultTTL: 0, maxTTL: 0}
}
`, bucket.URL, secondary.Listener.Addr().String()))
	for _, e := range bothEdges(t, dir, tb) {
		resp, b := siteRequest(t, e.url, "GET", "/object", nil, nil)
		if resp.StatusCode != 200 || b != "secondary /object" {
			t.Errorf("cached=%v: got %d %q, want the secondary's object", e.cached, resp.StatusCode, b)
		}
	}
}
