package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"openfront.dev/compiler/table"
)

// local serves files from a directory beside the config. os.Root confines
// every open to the directory: "..", encoded dots and symlinks that point
// outside all fail.
type local struct {
	dir  string
	mu   sync.RWMutex // held by opens: close waits for them
	root *os.Root     // nil once closed
}

func newLocal(configDir string, o *table.Origin) (*local, error) {
	dir := filepath.Join(configDir, filepath.FromSlash(o.Spec.LocalOriginConfig.Path))
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("local origin: %w", err)
	}
	return &local{dir: dir, root: root}, nil
}

// close releases the directory once the opens in flight are done: every
// table swap closes the local fetchers, and a node reloading often must
// not hold a descriptor per swap.
func (l *local) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.root != nil {
		l.root.Close()
		l.root = nil
	}
}

// open opens name, a regular file, in the directory; a request that got
// the fetcher just before a swap closed it opens the directory again.
func (l *local) open(name string) (*os.File, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	root := l.root
	if root == nil {
		var err error
		if root, err = os.OpenRoot(l.dir); err != nil {
			return nil, err
		}
		defer root.Close()
	}
	// Regular files only: opening a FIFO would block the request forever.
	if fi, err := root.Stat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, fs.ErrNotExist
	}
	return root.Open(name)
}

func (l *local) Fetch(ctx context.Context, req *Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return otherMethod(req.Method, "a local origin serves GET and HEAD only\n"), nil
	}
	name, ok := cleanPath(req.Path)
	if !ok {
		return textResponse(http.StatusBadRequest, "bad path\n"), nil
	}
	f, err := l.open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return textResponse(http.StatusNotFound, "not found\n"), nil
		}
		// Escapes outside the root end here too.
		return textResponse(http.StatusForbidden, "forbidden\n"), nil
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		f.Close()
		return textResponse(http.StatusNotFound, "not found\n"), nil
	}
	// http.ServeContent does Range, If-None-Match, If-Modified-Since and
	// content types. It writes into a pipe, so the file streams to the
	// viewer and is never held in memory whole.
	hr, _ := http.NewRequestWithContext(ctx, req.Method, "/", nil)
	for _, h := range ConditionalHeaders {
		if v := req.Header.Get(h); v != "" {
			hr.Header.Set(h, v)
		}
	}
	w := newPipeWriter()
	w.head = req.Method == http.MethodHead
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	go func() {
		defer f.Close()
		http.ServeContent(w, hr, fi.Name(), fi.ModTime(), f)
		w.finish()
	}()
	return w.response(), nil
}

// pipeWriter is an http.ResponseWriter whose body is read from a pipe: the
// response is available as soon as the header is written.
type pipeWriter struct {
	header  http.Header
	sent    http.Header // the header as written, the reader's own copy
	length  int64       // its Content-Length, -1 when none
	status  int
	head    bool  // a HEAD request: no body follows the header
	written int64 // body bytes
	pr      *io.PipeReader
	pw      *io.PipeWriter
	ready   chan struct{}
	once    sync.Once
	err     error // set before ready closes when nothing was written (abort)
}

func newPipeWriter() *pipeWriter {
	pr, pw := io.Pipe()
	return &pipeWriter{header: http.Header{}, pr: pr, pw: pw, ready: make(chan struct{})}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone() // later changes must not race the reader
		// Read now: once sent, the copy is the reader's to change.
		w.length = contentLength(w.sent)
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	n, err := w.pw.Write(b)
	w.written += int64(n)
	return n, err
}

// finish ends the body. http.ServeContent ignores a failed read of the
// file, and a file cut shorter while it is served (a deploy rewriting it
// in place) ends early: the reader then gets an error, not an early EOF
// that the cache would keep as the whole object.
func (w *pipeWriter) finish() {
	w.WriteHeader(http.StatusOK)
	if want := w.length; !w.head && want >= 0 && w.written < want {
		w.pw.CloseWithError(fmt.Errorf("local origin: the file ended after %d of %d bytes: %w", w.written, want, io.ErrUnexpectedEOF))
		return
	}
	w.pw.Close()
}

// abort ends the response with err: before its header, PipeResponse
// returns err; after it, the body's reader gets err.
func (w *pipeWriter) abort(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.ready)
	})
	w.pw.CloseWithError(err)
}

// PipeResponse runs serve, in a goroutine of its own, with a
// ResponseWriter whose answer it returns as soon as serve writes its
// header, the body streaming from what serve writes after it: so another
// handler's answer (the cache's) is had as an origin's is, without being
// held in memory whole. serve's error before any header is PipeResponse's;
// after it, the body's reader gets it. The caller closes the body.
func PipeResponse(serve func(w http.ResponseWriter) error) (*http.Response, error) {
	w := newPipeWriter()
	go func() {
		if err := serve(w); err != nil {
			w.abort(err)
			return
		}
		w.finish()
	}()
	resp := w.response()
	if w.err != nil {
		return nil, w.err
	}
	return resp, nil
}

func (w *pipeWriter) response() *http.Response {
	<-w.ready
	return &http.Response{StatusCode: w.status, Status: http.StatusText(w.status), Header: w.sent,
		Body: w.pr, ContentLength: w.length, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

func contentLength(h http.Header) int64 {
	var n int64 = -1
	fmt.Sscan(h.Get("Content-Length"), &n)
	return n
}

// cleanPath turns a raw URL path into a name inside the root. Encoded
// slashes and backslashes are refused rather than guessed at.
func cleanPath(raw string) (string, bool) {
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(raw, "\\") || strings.Contains(lower, "%00") {
		return "", false
	}
	p, err := url.PathUnescape(raw)
	if err != nil || !strings.HasPrefix(p, "/") {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", false
		}
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		name = "."
	}
	return name, true
}

// otherMethod answers a method other than GET and HEAD on the node's own
// origins (local, live): OPTIONS with 204 and the methods allowed, so that
// a CORS preflight succeeds where a behavior's response headers policy
// adds the CORS headers; the rest 405 (RFC 9110 15.5.6: with Allow).
func otherMethod(method, body string) *http.Response {
	if method == http.MethodOptions {
		return &http.Response{StatusCode: http.StatusNoContent, Status: http.StatusText(http.StatusNoContent),
			Header: http.Header{"Allow": {"GET, HEAD, OPTIONS"}}, Body: http.NoBody, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	}
	resp := textResponse(http.StatusMethodNotAllowed, body)
	resp.Header.Set("Allow", "GET, HEAD, OPTIONS")
	return resp
}

func textResponse(status int, body string) *http.Response {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}
