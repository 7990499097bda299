package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/watch"
	"openfront.dev/internal/testenv"
)

// source is a node's view with a fixed table.
type source struct{ t *table.Table }

func (s source) Table() *table.Table        { return s.t }
func (s source) AppliedAt() time.Time       { return time.Time{} }
func (s source) ConfigStatus() watch.Status { return watch.Status{} }

const testConfig = `package cdn

distributions: site: {
	aliases: ["www.example.com", "example.com"]
	origins: [{id: "app", domainName: "127.0.0.1:9", customOriginConfig: originProtocolPolicy: "http-only"},
		{id: "assets", domainName: "127.0.0.1:9", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
distributions: other: {
	aliases: ["other.example.com"]
	origins: [{id: "app", domainName: "127.0.0.1:9", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`

func compileTable(t *testing.T, src string) *table.Table { return testenv.Compile(t, "", src) }

// recorder is the cache: it records what each invalidation matches
// among a few request paths.
type recorder struct {
	mu    sync.Mutex
	calls []string // "dist: matched paths"
}

func (r *recorder) InvalidatePaths(dist string, p cache.Paths) int {
	var hit []string
	for _, path := range []string{"/index.html", "/images/a.jpg", "/images/b/c.png", "/caf%C3%A9.html", "/a%20b.txt"} {
		if p.Match(path) {
			hit = append(hit, path)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, dist+": "+strings.Join(hit, " "))
	return len(hit)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		return ""
	}
	return r.calls[len(r.calls)-1]
}

type apiClient struct {
	t     *testing.T
	url   string
	token string
}

func (c apiClient) do(method, path, body string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// waitCompleted polls an invalidation until it completes.
func (c apiClient) waitCompleted(loc string) Invalidation {
	c.t.Helper()
	for range 500 {
		_, b := c.do("GET", strings.TrimPrefix(loc, c.url), "")
		var inv Invalidation
		if err := json.Unmarshal(b, &inv); err != nil {
			c.t.Fatalf("%s: %v: %s", loc, err, b)
		}
		if inv.Status == StatusCompleted {
			return inv
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("%s never completed", loc)
	return Invalidation{}
}

func startAdmin(t *testing.T, opts Options) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	if opts.Cache == nil {
		opts.Cache = rec
	}
	srv := httptest.NewServer(Handler("testnode", source{compileTable(t, testConfig)}, nil, nil, opts))
	t.Cleanup(srv.Close)
	return srv, rec
}

func tokenFile(t *testing.T, token string) string {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInvalidationAuth(t *testing.T) {
	noFile, _ := startAdmin(t, Options{})
	withFile, _ := startAdmin(t, Options{TokenFile: tokenFile(t, "s3cret")})
	empty, _ := startAdmin(t, Options{TokenFile: tokenFile(t, "")})
	blank, _ := startAdmin(t, Options{TokenFile: tokenFile(t, " \t\n ")})
	missing, _ := startAdmin(t, Options{TokenFile: filepath.Join(t.TempDir(), "none")})
	rotated := tokenFile(t, "old")
	rotating, _ := startAdmin(t, Options{TokenFile: rotated})
	if err := os.WriteFile(rotated, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `{"paths": ["/index.html"], "callerReference": "r1"}`
	tests := []struct {
		name   string
		srv    *httptest.Server
		token  string
		status int
		says   string
	}{
		{"no token file", noFile, "s3cret", 403, "--admin-token-file"},
		{"empty token file", empty, "", 503, "--admin-token-file"},
		{"blank token file, blank token", blank, "", 503, "--admin-token-file"},
		{"missing token file", missing, "s3cret", 503, "--admin-token-file"},
		{"rotated: old token", rotating, "old", 401, "bearer token"},
		{"rotated: new token", rotating, "new", 201, `"status"`},
		{"no Authorization", withFile, "", 401, "bearer token"},
		{"wrong token", withFile, "guess", 401, "bearer token"},
		{"right token", withFile, "s3cret", 201, `"status"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := apiClient{t, tt.srv.URL, tt.token}.do("POST", "/distributions/site/invalidations", body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.says) {
				t.Errorf("%d %s, want %d saying %q", resp.StatusCode, b, tt.status, tt.says)
			}
		})
	}
}

// The auth scheme is case-insensitive (RFC 9110 11.1); the token is not.
// A 401 challenges for a bearer token, with invalid_token when one was
// sent (RFC 6750 3.1).
func TestBearerScheme(t *testing.T) {
	srv, _ := startAdmin(t, Options{TokenFile: tokenFile(t, "s3cret")})
	const challenge = `Bearer realm="openfront admin"`
	for _, tt := range []struct {
		authorization string
		status        int
		challenge     string
	}{
		{"Bearer s3cret", 200, ""},
		{"bearer s3cret", 200, ""},
		{"BEARER  s3cret", 200, ""},
		{"Bearer S3CRET", 401, challenge + `, error="invalid_token"`},
		{"Bearer s3cret2", 401, challenge + `, error="invalid_token"`},
		{"Basic s3cret", 401, challenge},
		{"Bearers3cret", 401, challenge},
		{"", 401, challenge},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/distributions/site/invalidations", nil)
		req.Header.Set("Authorization", tt.authorization)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != tt.status || got != tt.challenge {
			t.Errorf("Authorization: %s: %d %q, want %d %q", tt.authorization, resp.StatusCode, got, tt.status, tt.challenge)
		}
	}
}

func TestInvalidationRequests(t *testing.T) {
	srv, rec := startAdmin(t, Options{TokenFile: tokenFile(t, "s3cret")})
	c := apiClient{t, srv.URL, "s3cret"}
	many := make([]string, maxPaths+1)
	for i := range many {
		many[i] = fmt.Sprintf("/p%d", i)
	}
	tooMany, _ := json.Marshal(InvalidationBatch{Paths: many, CallerReference: "many"})
	allowed, _ := json.Marshal(InvalidationBatch{Paths: many[:maxPaths], CallerReference: "max"})
	tooBig := `{"paths": ["/` + strings.Repeat("a", maxBatchBytes) + `"], "callerReference": "big"}`
	tests := []struct {
		name, dist, body string
		status           int
		says             string
		matched          string // what the cache was asked to remove
	}{
		{"unknown distribution", "nope", `{"paths": ["/a"], "callerReference": "x"}`, 404, "NoSuchDistribution", ""},
		{"not JSON", "site", `paths=/a`, 400, "MalformedInput", ""},
		{"body too large", "site", tooBig, 413, "BatchTooLarge", ""},
		{"unknown field", "site", `{"Paths": {"Items": ["/a"]}, "callerReference": "x", "extra": 1}`, 400, "MalformedInput", ""},
		{"a field named twice", "site", `{"paths": ["/a"], "callerReference": "x", "paths": ["/*"]}`, 400, `field \"paths\" is given twice`, ""},
		{"a field in another case", "site", `{"Paths": ["/*"], "callerReference": "x"}`, 400, `unknown field \"Paths\"`, ""},
		{"paths not a list", "site", `{"paths": "/a", "callerReference": "x"}`, 400, "MalformedInput", ""},
		{"callerReference not a string", "site", `{"paths": ["/a"], "callerReference": 7}`, 400, "MalformedInput", ""},
		{"a list, not an object", "site", `[{"paths": ["/a"], "callerReference": "x"}]`, 400, "MalformedInput", ""},
		{"two objects", "site", `{"paths": ["/a"], "callerReference": "x"} {"paths": ["/b"], "callerReference": "y"}`, 400, "MalformedInput", ""},
		{"text after the object", "site", `{"paths": ["/a"], "callerReference": "x"} and /b`, 400, "MalformedInput", ""},
		{"no paths", "site", `{"paths": [], "callerReference": "x"}`, 400, "1 to 3000 paths", ""},
		// A script splits a batch that is BatchTooLarge (413), as CloudFront answers it.
		{"too many paths", "site", string(tooMany), 413, `"BatchTooLarge"`, ""},
		{"no body", "site", "", 400, `"MissingBody"`, ""},
		{"a body of spaces", "site", " \n", 400, `"MissingBody"`, ""},
		{"cut short", "site", `{"paths": ["/a"]`, 400, `"MalformedInput"`, ""},
		{"no callerReference", "site", `{"paths": ["/a"]}`, 400, "callerReference is required", ""},
		{"relative path", "site", `{"paths": ["images/*"], "callerReference": "x"}`, 400, "does not start with /", ""},
		{"star inside", "site", `{"paths": ["/images/*.jpg"], "callerReference": "x"}`, 400, "last character", ""},
		{"query string and star", "site", `{"paths": ["/a.jpg?v=*"], "callerReference": "x"}`, 400, `takes no *; \"/a.jpg\" removes every query variant`, ""},
		{"fragment", "site", `{"paths": ["/a.html#top"], "callerReference": "x"}`, 400, "fragment", ""},
		{"whitespace after the object", "site", "{\"paths\": [\"/b\"], \"callerReference\": \"ws\"}\n\t ", 201, `"ws"`, "site: "},
		{"exact and prefix", "site", `{"paths": ["/images/*", "/index.html"], "callerReference": "deploy-1"}`, 201, `"callerReference": "deploy-1"`, "site: /index.html /images/a.jpg /images/b/c.png"},
		{"encoded as viewers send it", "site", `{"paths": ["/café.html", "/a b.txt"], "callerReference": "utf8"}`, 201, `"callerReference": "utf8"`, "site: /caf%C3%A9.html /a%20b.txt"},
		{"already encoded", "site", `{"paths": ["/caf%C3%A9.html"], "callerReference": "enc"}`, 201, `"paths"`, "site: /caf%C3%A9.html"},
		{"3000 paths", "site", string(allowed), 201, `"max"`, "site: "},
		{"other distribution", "other", `{"paths": ["/*"], "callerReference": "deploy-1"}`, 201, `"distributionId": "other"`, "other: /index.html /images/a.jpg /images/b/c.png /caf%C3%A9.html /a%20b.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := c.do("POST", "/distributions/"+tt.dist+"/invalidations", tt.body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.says) {
				t.Fatalf("%d %s, want %d saying %q", resp.StatusCode, b, tt.status, tt.says)
			}
			if tt.status != 201 {
				return
			}
			loc := resp.Header.Get("Location")
			var inv Invalidation
			json.Unmarshal(b, &inv)
			if inv.Status != StatusInProgress && inv.Status != StatusCompleted {
				t.Errorf("status %q", inv.Status)
			}
			if !strings.HasPrefix(inv.ID, "I") || len(inv.ID) != 14 || loc != "/distributions/"+tt.dist+"/invalidations/"+inv.ID {
				t.Errorf("id %q, Location %q", inv.ID, loc)
			}
			if done := c.waitCompleted(loc); done.ID != inv.ID {
				t.Errorf("GET %s is %s", loc, done.ID)
			}
			if got := strings.TrimSpace(rec.last()); got != strings.TrimSpace(tt.matched) {
				t.Errorf("the cache removed %q, want %q", got, tt.matched)
			}
		})
	}
}

// TestInvalidationIdempotence: a repeated callerReference is the same
// invalidation, or a conflict when the paths differ, as in CloudFront.
func TestInvalidationIdempotence(t *testing.T) {
	srv, rec := startAdmin(t, Options{TokenFile: tokenFile(t, "s3cret")})
	c := apiClient{t, srv.URL, "s3cret"}
	post := func(body string) (int, Invalidation, string) {
		resp, b := c.do("POST", "/distributions/site/invalidations", body)
		var inv Invalidation
		json.Unmarshal(b, &inv)
		return resp.StatusCode, inv, string(b)
	}
	_, first, _ := post(`{"paths": ["/index.html", "/images/*"], "callerReference": "r1"}`)
	c.waitCompleted(srv.URL + "/distributions/site/invalidations/" + first.ID)
	calls := rec.count()

	status, again, _ := post(`{"paths": ["/images/*", "/index.html"], "callerReference": "r1"}`)
	if status != 201 || again.ID != first.ID || again.Status != StatusCompleted || again.Removed != 3 {
		t.Errorf("repeat: %d %+v, want the first invalidation %s, completed", status, again, first.ID)
	}
	if rec.count() != calls {
		t.Errorf("a repeat ran the invalidation again")
	}
	status, _, body := post(`{"paths": ["/other.html"], "callerReference": "r1"}`)
	if status != 409 || !strings.Contains(body, "InvalidationBatchAlreadyExists") || !strings.Contains(body, first.ID) {
		t.Errorf("same reference, other paths: %d %s", status, body)
	}
	_, second, _ := post(`{"paths": ["/other.html"], "callerReference": "r2"}`)
	c.waitCompleted(srv.URL + "/distributions/site/invalidations/" + second.ID)

	resp, b := c.do("GET", "/distributions/site/invalidations", "")
	var list InvalidationList
	if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	if list.Quantity != 2 || list.Items[0].ID != second.ID || list.Items[1].ID != first.ID {
		t.Errorf("list %+v, want %s then %s", list, second.ID, first.ID)
	}
	// Pages, as ListInvalidations gives them (Marker, MaxItems).
	resp, b = c.do("GET", "/distributions/site/invalidations?MaxItems=1", "")
	var page InvalidationList
	if err := json.Unmarshal(b, &page); err != nil || resp.StatusCode != 200 || page.Quantity != 1 || page.Items[0].ID != second.ID || !page.IsTruncated || page.NextMarker != second.ID || page.MaxItems != 1 {
		t.Errorf("first page: %d %s", resp.StatusCode, b)
	}
	resp, b = c.do("GET", "/distributions/site/invalidations?MaxItems=1&Marker="+page.NextMarker, "")
	page = InvalidationList{}
	if err := json.Unmarshal(b, &page); err != nil || resp.StatusCode != 200 || page.Quantity != 1 || page.Items[0].ID != first.ID || page.IsTruncated || page.NextMarker != "" || page.Marker != second.ID {
		t.Errorf("second page: %d %s", resp.StatusCode, b)
	}
	for _, q := range []string{"MaxItems=0", "MaxItems=x", "Marker=INOPE"} {
		if resp, b := c.do("GET", "/distributions/site/invalidations?"+q, ""); resp.StatusCode != 400 || !strings.Contains(string(b), "InvalidArgument") {
			t.Errorf("?%s: %d %s, want 400 InvalidArgument", q, resp.StatusCode, b)
		}
	}
	if _, b := c.do("GET", "/distributions/other/invalidations", ""); !strings.Contains(string(b), `"quantity": 0`) {
		t.Errorf("other distribution's list: %s", b)
	}
	for _, path := range []string{"/distributions/other/invalidations/" + first.ID, "/distributions/site/invalidations/INOPE"} {
		if resp, b := c.do("GET", path, ""); resp.StatusCode != 404 || !strings.Contains(string(b), "NoSuchInvalidation") {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
}

// reloading is a source whose table a reload replaces.
type reloading struct {
	source
	cur *atomic.Pointer[table.Table]
}

func (r reloading) Table() *table.Table { return r.cur.Load() }

// TestInvalidationsSurviveReload: a reload replaces the table, not what
// the node remembers of its invalidations; a distribution the new table
// drops has none to show.
func TestInvalidationsSurviveReload(t *testing.T) {
	var cur atomic.Pointer[table.Table]
	cur.Store(compileTable(t, testConfig))
	srv := httptest.NewServer(Handler("testnode", reloading{cur: &cur}, nil, nil, Options{TokenFile: tokenFile(t, "s3cret"), Cache: &recorder{}}))
	t.Cleanup(srv.Close)
	c := apiClient{t, srv.URL, "s3cret"}
	resp, _ := c.do("POST", "/distributions/site/invalidations", `{"paths": ["/index.html"], "callerReference": "before"}`)
	loc := resp.Header.Get("Location")
	before := c.waitCompleted(loc)

	cur.Store(compileTable(t, strings.Replace(testConfig, `"example.com"]`, `"example.com", "new.example.com"]`, 1)))
	if after := c.waitCompleted(loc); after.ID != before.ID || after.Removed != before.Removed {
		t.Errorf("after a reload: %+v, want %+v", after, before)
	}
	if _, b := c.do("GET", "/distributions/site/invalidations", ""); !strings.Contains(string(b), before.ID) {
		t.Errorf("after a reload the list is %s, without %s", b, before.ID)
	}
	if resp, b := c.do("POST", "/distributions/site/invalidations", `{"paths": ["/index.html"], "callerReference": "before"}`); resp.StatusCode != 201 || !strings.Contains(string(b), before.ID) {
		t.Errorf("a repeat after a reload: %d %s, want %s", resp.StatusCode, b, before.ID)
	}

	cur.Store(compileTable(t, testConfig[:strings.Index(testConfig, "distributions: other")]+"\n"))
	if resp, b := c.do("GET", "/distributions/other/invalidations", ""); resp.StatusCode != 404 || !strings.Contains(string(b), "NoSuchDistribution") {
		t.Errorf("a dropped distribution: %d %s", resp.StatusCode, b)
	}
}

// TestInvalidationsBounded: only the most recent completed ones are
// remembered.
func TestInvalidationsBounded(t *testing.T) {
	s := newInvalidations(source{}, Options{})
	var ids []string
	for i := range keptCompleted + 5 {
		inv, _, _ := s.add("site", InvalidationBatch{Paths: []string{"/a"}, CallerReference: fmt.Sprint(i)})
		s.run(inv, cache.Paths{})
		ids = append(ids, inv.ID)
	}
	if len(s.all) != keptCompleted || len(s.byID) != keptCompleted || len(s.byRef) != keptCompleted {
		t.Errorf("kept %d/%d/%d, want %d", len(s.all), len(s.byID), len(s.byRef), keptCompleted)
	}
	if s.byID[ids[0]] != nil || s.byID[ids[len(ids)-1]] == nil {
		t.Errorf("the oldest should go, the newest stay")
	}

	// Big invalidations (3,000 paths of 4,000 bytes, 12 MB each) are kept
	// to keptBytes, not to 1,000 of them.
	big := make([]string, maxPaths)
	for i := range big {
		big[i] = "/" + strings.Repeat("x", maxPathLen-1)
	}
	s = newInvalidations(source{}, Options{})
	for i := range 20 {
		inv, _, _ := s.add("site", InvalidationBatch{Paths: big, CallerReference: fmt.Sprint("big", i)})
		s.run(inv, cache.Paths{})
	}
	if n := len(s.all); n == 0 || n*maxPaths*maxPathLen > keptBytes || s.bytes > keptBytes {
		t.Errorf("kept %d big invalidations, %d bytes; want at most %d bytes", n, s.bytes, keptBytes)
	}
	if len(s.byID) != len(s.all) || len(s.byRef) != len(s.all) {
		t.Errorf("indexes %d/%d for %d kept", len(s.byID), len(s.byRef), len(s.all))
	}
}

// TestInvalidationsInProgressKept: an invalidation in progress is never
// forgotten, whatever comes after it (its caller polls it); past a bound
// a new one is refused, as CloudFront refuses, until some complete.
func TestInvalidationsInProgressKept(t *testing.T) {
	big := make([]string, maxPaths)
	for i := range big {
		big[i] = fmt.Sprintf("/%d/%s", i, strings.Repeat("x", maxPathLen-10))
	}
	for _, tt := range []struct {
		name  string
		paths []string
	}{
		{"many", []string{"/a"}},
		{"large", big},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newInvalidations(source{}, Options{})
			var running []*Invalidation
			var refused error
			for i := range keptCompleted + 1 { // none runs
				inv, _, err := s.add("site", InvalidationBatch{Paths: tt.paths, CallerReference: fmt.Sprint(i)})
				if err != nil {
					refused = err
					break
				}
				running = append(running, inv)
			}
			for _, inv := range running {
				if s.byID[inv.ID] != inv {
					t.Fatalf("%s, in progress, was forgotten", inv.ID)
				}
			}
			if refused == nil || !strings.Contains(refused.Error(), "TooManyInvalidationsInProgress") {
				t.Fatalf("after %d in progress: %v, want TooManyInvalidationsInProgress", len(running), refused)
			}
			s.run(running[0], cache.Paths{})
			if _, _, err := s.add("site", InvalidationBatch{Paths: tt.paths, CallerReference: "after"}); err != nil {
				t.Errorf("once one completed: %v", err)
			}
		})
	}
}

func TestStatusPage(t *testing.T) {
	srv, _ := startAdmin(t, Options{})
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tests := []struct{ path, ctype, has string }{
		{"/", "text/html", `<script src="/ui/app.js"`},
		{"/ui/app.js", "text/javascript", "/status/traffic"},
		{"/ui/style.css", "text/css", ".chart"},
	}
	for _, tt := range tests {
		resp, body := get(tt.path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(body, tt.has) {
			t.Errorf("GET %s: %d %s, want %s with %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.ctype, tt.has)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", tt.path, csp)
		}
	}
	// Everything is embedded: no page part names another host.
	_, html := get("/")
	for _, attr := range []string{`src="`, `href="`} {
		for _, part := range strings.Split(html, attr)[1:] {
			if !strings.HasPrefix(part, "/ui/") && !strings.HasPrefix(part, "data:") {
				t.Errorf("the page loads %s%s", attr, part[:min(len(part), 40)])
			}
		}
	}
	if resp, _ := get("/nothing-here"); resp.StatusCode != 404 {
		t.Errorf("GET /nothing-here: %d, want 404", resp.StatusCode)
	}
}
