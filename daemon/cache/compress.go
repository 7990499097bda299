package cache

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/counting"
)

// Compression as CloudFront does it (compress: true): for 200, 403 and 404
// responses of compressible types with a Content-Length of 1,000 to
// 10,000,000 bytes, when the viewer accepts brotli or gzip and the origin
// sent the body uncompressed.
// The compressed body is its own variant (Vary: Accept-Encoding), with a
// weak ETag since it is a different representation of the same resource.

const (
	minCompress = 1000
	maxCompress = 10_000_000
)

// compressibleTypes are the Content-Type values CloudFront compresses
// ("File types that CloudFront compresses", ServingCompressedFiles): that
// list and no more, no text/* beyond it (text/markdown is not, nor
// application/wasm). vnd.apple.mpegurl, without a type, is in it too.
var compressibleTypes = map[string]bool{
	"application/dash+xml": true, "application/eot": true, "application/font": true,
	"application/font-sfnt": true, "application/javascript": true, "application/json": true,
	"application/opentype": true, "application/otf": true, "application/pkcs7-mime": true,
	"application/protobuf": true, "application/rss+xml": true, "application/truetype": true,
	"application/ttf": true, "application/vnd.apple.mpegurl": true, "application/vnd.ms-fontobject": true,
	"application/xhtml+xml": true, "application/xml": true, "application/x-font-opentype": true,
	"application/x-font-truetype": true, "application/x-font-ttf": true, "application/x-httpd-cgi": true,
	"application/x-javascript": true, "application/x-mpegurl": true, "application/x-opentype": true,
	"application/x-otf": true, "application/x-perl": true, "application/x-ttf": true,
	"font/eot": true, "font/opentype": true, "font/otf": true, "font/ttf": true,
	"image/svg+xml": true, "text/css": true, "text/csv": true, "text/html": true,
	"text/javascript": true, "text/js": true, "text/plain": true, "text/richtext": true,
	"text/tab-separated-values": true, "text/xml": true, "text/x-component": true,
	"text/x-java-source": true, "text/x-script": true, "vnd.apple.mpegurl": true,
}

// compressible: ctype's media type, parameters aside and in any case, is
// one CloudFront compresses.
func compressible(ctype string) bool {
	t, _, _ := strings.Cut(ctype, ";")
	return compressibleTypes[strings.ToLower(strings.TrimSpace(t))]
}

// compressFor says whether the cache compresses this kind of response
// (candidate: then every coding, identity included, is a variant), and
// which coding (br or gzip) it uses for this request, "" for none.
func compressFor(r *http.Request, p Policy, resp *http.Response, cc directives) (enc string, candidate bool) {
	if !p.Compress || !compressedStatus(resp.StatusCode) || cc.noTransform {
		return "", false
	}
	// "CloudFront does not compress a file if the response includes a
	// Content-Encoding header, regardless of the header's value" (identity
	// too).
	if _, ok := resp.Header["Content-Encoding"]; ok {
		return "", false
	}
	if resp.Header.Get("Content-Range") != "" || !compressible(resp.Header.Get("Content-Type")) {
		return "", false
	}
	if n := resp.ContentLength; n < minCompress || n > maxCompress {
		// Without a Content-Length CloudFront does not compress either
		// (ServingCompressedFiles): a streamed body is passed on as it
		// comes, not held back in the compressor's buffer.
		return "", false
	}
	if enc := p.negotiate(r.Header["Accept-Encoding"]); enc != "identity" {
		return enc, true
	}
	return "", true
}

// relayCoding is the coding a response the cache does not keep goes out
// in ("" for as it came), with hdr, the viewer's header, made what a
// stored variant's would be. ServingCompressedFiles ties compression to
// the response alone, not to its being cached; only GET and HEAD are
// compressed, as only they are ever stored.
func relayCoding(r *http.Request, p Policy, resp *http.Response, hdr http.Header) string {
	if !p.Compress {
		return ""
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		varyOriginCoding(hdr, p)
		return ""
	}
	enc, _ := codedHeader(r, p, resp, parseCacheControl(resp.Header), hdr)
	return enc
}

// codedHeader makes header, the origin's, that of the variant r gets, and
// returns its coding ("" for as it came) and its body's size (-1 once
// compression makes it unknown).
func codedHeader(r *http.Request, p Policy, resp *http.Response, cc directives, header http.Header) (string, int64) {
	enc, candidate := compressFor(r, p, resp, cc)
	switch {
	case enc != "":
		compressedHeader(header, enc)
		return enc, -1
	case candidate:
		// The identity variant of what others get compressed.
		AddVary(header, "Accept-Encoding")
	default:
		varyOriginCoding(header, p)
	}
	return "", resp.ContentLength
}

// copyCompressed streams body to w in the coding enc: memory stays at the
// compressor's window whatever the size. It returns the bytes sent.
func copyCompressed(w http.ResponseWriter, enc string, body io.Reader) (int64, error) {
	cw := &counting.Writer{W: w}
	comp := newCompressor(enc, cw)
	_, err := copyFlushing(compressingWriter{w, comp}, body)
	if err == nil {
		err = comp.close()
	} // else no trailer: a cut body must not decode as a whole one
	return cw.N, err
}

// compressingWriter sends what is written through a compressor; Flush
// empties the compressor first, so a slow origin's bytes still reach the
// viewer as they come.
type compressingWriter struct {
	http.ResponseWriter
	c *compressor
}

func (cw compressingWriter) Write(p []byte) (int, error) { return cw.c.Write(p) }

func (cw compressingWriter) Flush() {
	if cw.c.flush() != nil {
		return
	}
	if f, ok := cw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// compressedStatus: "CloudFront compresses objects only when the HTTP status
// code of the response is 200, 403, or 404" (ServingCompressedFiles).
func compressedStatus(status int) bool {
	return status == http.StatusOK || status == http.StatusForbidden || status == http.StatusNotFound
}

// compressedHeader turns the origin's header into the compressed variant's.
func compressedHeader(h http.Header, enc string) http.Header {
	h["Content-Encoding"] = []string{enc}
	delete(h, "Content-Length")
	AddVary(h, "Accept-Encoding")
	// As CloudFront: a strong ETag becomes weak, a weak one stays, an
	// invalid one goes.
	switch et := h.Get("Etag"); {
	case strings.HasPrefix(et, `"`):
		h["Etag"] = []string{"W/" + et}
	case et != "" && !strings.HasPrefix(et, "W/"):
		delete(h, "Etag")
	}
	return h
}

// varyOriginCoding: a body the origin compressed is never served to a
// viewer that did not ask for it, whatever the origin's Vary says.
func varyOriginCoding(h http.Header, p Policy) {
	if p.Compress && h.Get("Content-Encoding") != "" {
		AddVary(h, "Accept-Encoding")
	}
}

// AddVary adds name to h's Vary unless it is there (any case) or Vary is
// "*", as table.AddVary, which the response headers policy's CORS headers
// use too. The slice is replaced, never appended to in place: a stored
// entry's header shares its values.
func AddVary(h http.Header, name string) { table.AddVary(h, name) }

var (
	gzipPool   sync.Pool
	brotliPool sync.Pool
)

// compressor wraps w in the coding enc; flush sends what it holds so
// far, close ends the coding and returns it to its pool.
type compressor struct {
	io.Writer
	flush, close func() error
}

func newCompressor(enc string, w io.Writer) *compressor {
	switch enc {
	case "gzip":
		z, _ := gzipPool.Get().(*gzip.Writer)
		if z == nil {
			z, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
		} else {
			z.Reset(w)
		}
		return &compressor{z, z.Flush, func() error { err := z.Close(); gzipPool.Put(z); return err }}
	case "br":
		b, _ := brotliPool.Get().(*brotli.Writer)
		if b == nil {
			b = brotli.NewWriterLevel(w, 5)
		} else {
			b.Reset(w)
		}
		return &compressor{b, b.Flush, func() error { err := b.Close(); brotliPool.Put(b); return err }}
	}
	return nil
}
