package origin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// localTree makes DIR/config/site with a few files, and DIR/outside with a
// secret the origin must never serve. It returns the config dir.
func localTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	site := filepath.Join(config, "site")
	outside := filepath.Join(dir, "outside")
	files := map[string]string{
		"site/index.html":      "<h1>home</h1>\n",
		"site/style.css":       "body{}\n",
		"site/data.json":       `{"a":1}` + "\n",
		"site/a/b.txt":         "0123456789abcdefghij",
		"site/a b/c d.txt":     "spaces\n",
		"site/noext":           "plain\n",
		"outside/secret.txt":   "SECRET\n",
		"outside/dir/leak.txt": "SECRET\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, "config", filepath.FromSlash(name))
		if strings.HasPrefix(name, "outside/") {
			p = filepath.Join(dir, filepath.FromSlash(name))
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"escape.txt":   filepath.Join(outside, "secret.txt"),     // absolute, outside
		"rel-escape":   "../../outside/secret.txt",               // relative, outside
		"outdir":       outside,                                  // a directory outside
		"inner.html":   "index.html",                             // inside
		"a/up.css":     "../style.css",                           // inside, through ..
		"a/loop":       "loop",                                   // a loop
		"dangling.txt": filepath.Join(outside, "does-not-exist"), // outside, dangling
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(site, filepath.FromSlash(name))); err != nil {
			t.Skipf("symlinks: %v", err)
		}
	}
	return config
}

func localFetcher(t *testing.T, configDir string) Fetcher {
	t.Helper()
	d := &table.Distribution{ID: "d"}
	o := &table.Origin{DistributionID: "d", ID: "files", Kind: table.OriginLocal,
		Spec: &schema.Origin{ID: "files", LocalOriginConfig: &schema.LocalOriginConfig{Path: "site"}}}
	f, err := NewPool(configDir).Fetcher(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func fetch(t *testing.T, f Fetcher, method, path string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := f.Fetch(ctx, &Request{Method: method, Path: path, Header: h})
	if err != nil {
		t.Fatalf("Fetch %s %q: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("Fetch %s %q: read body: %v", method, path, err)
	}
	return resp, body
}

func TestLocalConfinement(t *testing.T) {
	f := localFetcher(t, localTree(t))
	tests := []struct {
		path string
		want int    // status
		body string // when 200
	}{
		{"/index.html", 200, "<h1>home</h1>\n"},
		{"/a%20b/c%20d.txt", 200, "spaces\n"},
		{"/a/./b.txt", 200, "0123456789abcdefghij"},
		{"//a//b.txt", 200, "0123456789abcdefghij"},
		{"/../etc/passwd", 400, ""},
		{"/../outside/secret.txt", 400, ""},
		{"/a/../../outside/secret.txt", 400, ""},
		{"/a/../index.html", 400, ""}, // ".." is refused even when it stays inside
		{"/%2e%2e/outside/secret.txt", 400, ""},
		{"/%2E%2E/x", 400, ""},
		{"/a/%2e%2e/%2e%2e/outside/secret.txt", 400, ""},
		{"/a/%2f/..", 400, ""},
		{"/a%2Fb.txt", 400, ""},
		{"/a%5cb.txt", 400, ""},
		{"/a%5Cb.txt", 400, ""},
		{`/a\b.txt`, 400, ""},
		{`/..\outside\secret.txt`, 400, ""},
		{"/index.html%00.txt", 400, ""},
		{"/%00", 400, ""},
		{"/bad%zzescape", 400, ""},
		{"relative.txt", 400, ""},
		{"/escape.txt", 403, ""},
		{"/rel-escape", 403, ""},
		{"/outdir/secret.txt", 403, ""},
		{"/outdir/dir/leak.txt", 403, ""},
		{"/dangling.txt", 403, ""},
		{"/a/loop", 403, ""},
		{"/inner.html", 200, "<h1>home</h1>\n"}, // a link inside the root is served
		{"/a/up.css", 200, "body{}\n"},          // even through ".." inside the root
		{"/missing.html", 404, ""},
		{"/", 404, ""},
		{"/a", 404, ""}, // a directory
		{"/a/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := fetch(t, f, http.MethodGet, tt.path, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.want, body)
			}
			if bytes.Contains(body, []byte("SECRET")) {
				t.Fatalf("served a file outside the root: %q", body)
			}
			if tt.want == 200 && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
	t.Run("raw NUL byte", func(t *testing.T) {
		resp, body := fetch(t, f, http.MethodGet, "/index.html\x00", nil)
		if resp.StatusCode == 200 {
			t.Errorf("a path with a NUL byte was served: %q", body)
		}
	})
}

// TestLocalMethods: other methods get 405 with Allow; OPTIONS (a CORS
// preflight) 204 with Allow, for a response headers policy to answer.
func TestLocalMethods(t *testing.T) {
	f := localFetcher(t, localTree(t))
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		want := http.StatusMethodNotAllowed
		if m == "OPTIONS" {
			want = http.StatusNoContent
		}
		resp, body := fetch(t, f, m, "/index.html", nil)
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", m, resp.StatusCode, want)
		}
		if a := resp.Header.Get("Allow"); a != "GET, HEAD, OPTIONS" {
			t.Errorf("%s: Allow %q", m, a)
		}
		if m == "OPTIONS" && len(body) != 0 {
			t.Errorf("OPTIONS: body %q", body)
		}
	}
}

func TestLocalHeaders(t *testing.T) {
	f := localFetcher(t, localTree(t))
	tests := []struct {
		path, contentType string
	}{
		{"/index.html", "text/html; charset=utf-8"},
		{"/style.css", "text/css; charset=utf-8"},
		{"/data.json", "application/json"},
		{"/a/b.txt", "text/plain; charset=utf-8"},
		{"/noext", "text/plain; charset=utf-8"}, // sniffed
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := fetch(t, f, http.MethodGet, tt.path, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if _, err := http.ParseTime(resp.Header.Get("Last-Modified")); err != nil {
				t.Errorf("Last-Modified %q: %v", resp.Header.Get("Last-Modified"), err)
			}
			if resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Length") == "" {
				t.Errorf("ContentLength %d, Content-Length %q, body %d bytes", resp.ContentLength, resp.Header.Get("Content-Length"), len(body))
			}
		})
	}
}

func TestLocalConditionalAndRange(t *testing.T) {
	f := localFetcher(t, localTree(t))
	first, _ := fetch(t, f, http.MethodGet, "/a/b.txt", nil)
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	later := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	earlier := time.Unix(0, 0).UTC().Format(http.TimeFormat)
	tests := []struct {
		name         string
		header       http.Header
		status       int
		body         string
		contentRange string
	}{
		{"If-None-Match same", http.Header{"If-None-Match": {etag}}, 304, "", ""},
		{"If-None-Match among others", http.Header{"If-None-Match": {`"x", ` + etag}}, 304, "", ""},
		{"If-None-Match *", http.Header{"If-None-Match": {"*"}}, 304, "", ""},
		{"If-None-Match other", http.Header{"If-None-Match": {`"other"`}}, 200, "0123456789abcdefghij", ""},
		{"If-Modified-Since later", http.Header{"If-Modified-Since": {later}}, 304, "", ""},
		{"If-Modified-Since the same time", http.Header{"If-Modified-Since": {lastMod}}, 304, "", ""},
		{"If-Modified-Since earlier", http.Header{"If-Modified-Since": {earlier}}, 200, "0123456789abcdefghij", ""},
		{"If-Match other", http.Header{"If-Match": {`"other"`}}, 412, "", ""},
		{"Range first ten", http.Header{"Range": {"bytes=0-9"}}, 206, "0123456789", "bytes 0-9/20"},
		{"Range suffix", http.Header{"Range": {"bytes=-5"}}, 206, "fghij", "bytes 15-19/20"},
		{"Range open end", http.Header{"Range": {"bytes=18-"}}, 206, "ij", "bytes 18-19/20"},
		{"Range past the end", http.Header{"Range": {"bytes=50-60"}}, 416, "", "bytes */20"},
		{"If-Range matching", http.Header{"Range": {"bytes=0-1"}, "If-Range": {etag}}, 206, "01", "bytes 0-1/20"},
		{"If-Range stale", http.Header{"Range": {"bytes=0-1"}, "If-Range": {`"old"`}}, 200, "0123456789abcdefghij", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, f, http.MethodGet, "/a/b.txt", tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if tt.status != 416 && tt.status != 412 && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if got := resp.Header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if tt.status == 304 && resp.Header.Get("ETag") != etag {
				t.Errorf("304 ETag %q, want %q", resp.Header.Get("ETag"), etag)
			}
		})
	}
	t.Run("a changed file has a new ETag", func(t *testing.T) {
		dir := localTree(t)
		f := localFetcher(t, dir)
		before, _ := fetch(t, f, http.MethodGet, "/a/b.txt", nil)
		p := filepath.Join(dir, "site", "a", "b.txt")
		if err := os.WriteFile(p, []byte("changed"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
		after, body := fetch(t, f, http.MethodGet, "/a/b.txt", http.Header{"If-None-Match": {before.Header.Get("ETag")}})
		if after.StatusCode != 200 || string(body) != "changed" {
			t.Errorf("after a change: status %d body %q, want 200 \"changed\"", after.StatusCode, body)
		}
	})
}

func TestLocalHead(t *testing.T) {
	f := localFetcher(t, localTree(t))
	resp, body := fetch(t, f, http.MethodHead, "/a/b.txt", nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Fatalf("HEAD: status %d, %d body bytes; want 200 and none", resp.StatusCode, len(body))
	}
	if resp.Header.Get("Content-Length") != "20" {
		t.Errorf("HEAD Content-Length %q, want 20", resp.Header.Get("Content-Length"))
	}
}

// TestLocalLargeFile streams 10 MiB: the bytes are right and the fetch does
// not allocate anything like the file's size.
func TestLocalLargeFile(t *testing.T) {
	dir := localTree(t)
	const size = 10 << 20
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "site", "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	data = nil
	f := localFetcher(t, dir)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := f.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/big.bin", Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != size {
		t.Fatalf("status %d, ContentLength %d", resp.StatusCode, resp.ContentLength)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, resp.Body, make([]byte, 32<<10))
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatal("the streamed bytes differ from the file")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/2 {
		t.Errorf("streaming %d bytes allocated %d bytes: the file is buffered", size, alloc)
	}

	t.Run("closing early stops the stream", func(t *testing.T) {
		resp, err := f.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/big.bin", Header: http.Header{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
			t.Error("read after Close succeeded")
		}
	})
	t.Run("a file cut short while served fails the body", func(t *testing.T) {
		cut := filepath.Join(dir, "site", "cut.bin")
		if err := os.WriteFile(cut, make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
		resp, err := f.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/cut.bin", Header: http.Header{}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, 32<<10)); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(cut, 100<<10); err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("after %d more bytes the body ended with %v, want io.ErrUnexpectedEOF", n, err)
		}
	})
	t.Run("range in the middle", func(t *testing.T) {
		resp, body := fetch(t, f, http.MethodGet, "/big.bin", http.Header{"Range": {"bytes=5242880-5242889"}})
		if resp.StatusCode != 206 || len(body) != 10 || resp.Header.Get("Content-Range") != "bytes 5242880-5242889/10485760" {
			t.Errorf("status %d, %d bytes, Content-Range %q", resp.StatusCode, len(body), resp.Header.Get("Content-Range"))
		}
	})
}

func TestLocalMissingDirectory(t *testing.T) {
	d := &table.Distribution{ID: "d"}
	o := &table.Origin{DistributionID: "d", ID: "files", Kind: table.OriginLocal,
		Spec: &schema.Origin{ID: "files", LocalOriginConfig: &schema.LocalOriginConfig{Path: "nope"}}}
	if _, err := NewPool(t.TempDir()).Fetcher(d, o); err == nil {
		t.Error("a local origin on a missing directory was accepted")
	}
}

// The response's header is the one written: changes the writer makes after
// WriteHeader do not reach (or race) the reader.
func TestPipeWriterHeaderIsACopy(t *testing.T) {
	w := newPipeWriter()
	w.Header().Set("X-A", "1")
	w.WriteHeader(http.StatusTeapot)
	w.Header().Set("X-A", "changed")
	w.Header().Set("X-B", "late")
	resp := w.response()
	go w.finish()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-A") != "1" || resp.Header.Get("X-B") != "" {
		t.Errorf("status %d, header %v; want 418 with X-A: 1 only", resp.StatusCode, resp.Header)
	}
}

// TestPipeResponse: serve's error before any header is PipeResponse's
// own; after the header, the body's reader gets it, never an early EOF.
func TestPipeResponse(t *testing.T) {
	boom := errors.New("boom")
	if resp, err := PipeResponse(func(http.ResponseWriter) error { return boom }); resp != nil || !errors.Is(err, boom) {
		t.Errorf("before the header: %v, %v; want boom", resp, err)
	}
	resp, err := PipeResponse(func(w http.ResponseWriter) error {
		w.Header().Set("X-A", "1")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "part")
		return boom
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-A") != "1" || string(b) != "part" || !errors.Is(err, boom) {
		t.Errorf("after the header: %d %v %q %v; want 418, X-A, part, boom", resp.StatusCode, resp.Header, b, err)
	}
}

// TestLocalFIFO: a FIFO in the directory is not a file to serve, and opening
// one must not block the request.
func TestLocalFIFO(t *testing.T) {
	dir := localTree(t)
	if err := exec.Command("mkfifo", filepath.Join(dir, "site", "fifo")).Run(); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	f := localFetcher(t, dir)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := f.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/fifo", Header: http.Header{}})
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	select {
	case resp := <-done:
		if resp != nil && resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("fetching a FIFO blocks")
	}
}

// TestLocalPrunedReleasesDirectory: a table swap closes the local fetchers
// (they are opened again under the new table); each must let go of its
// directory at once, or a node reloading often runs out of descriptors.
// A request that got its fetcher before the swap is still served.
func TestLocalPrunedReleasesDirectory(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	config := localTree(t)
	site := filepath.Join(config, "site")
	opened := func() int {
		n := 0
		des, _ := os.ReadDir("/proc/self/fd")
		for _, de := range des {
			if target, _ := os.Readlink(filepath.Join("/proc/self/fd", de.Name())); target == site {
				n++
			}
		}
		return n
	}
	p := NewPool(config)
	d := &table.Distribution{ID: "d"}
	empty := testenv.Compile(t, "", "package cdn\n") // no distribution: every fetcher goes
	var fetchers []Fetcher
	for range 20 {
		o := &table.Origin{DistributionID: "d", ID: "files", Kind: table.OriginLocal,
			Spec: &schema.Origin{ID: "files", LocalOriginConfig: &schema.LocalOriginConfig{Path: "site"}}}
		f, err := p.Fetcher(d, o)
		if err != nil {
			t.Fatal(err)
		}
		fetchers = append(fetchers, f)
		p.Prune(empty)
	}
	if n := opened(); n != 0 {
		t.Errorf("%d descriptors of the directory open after 20 swaps, want 0", n)
	}
	for _, f := range fetchers[:2] {
		if resp, body := fetch(t, f, http.MethodGet, "/index.html", nil); resp.StatusCode != 200 || string(body) != "<h1>home</h1>\n" {
			t.Errorf("a fetcher of an older table: %d %q, want its file", resp.StatusCode, body)
		}
	}
	if n := opened(); n != 0 {
		t.Errorf("%d descriptors of the directory open after the late fetches, want 0", n)
	}
}
