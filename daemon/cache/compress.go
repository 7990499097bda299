package cache

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
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

var compressibleTypes = []string{
	"application/atom+xml", "application/dash+xml", "application/ecmascript", "application/javascript",
	"application/json", "application/ld+json", "application/manifest+json", "application/rss+xml",
	"application/vnd.apple.mpegurl", "application/vnd.ms-fontobject", "application/wasm",
	"application/x-font-opentype", "application/x-font-truetype", "application/x-font-ttf",
	"application/x-javascript", "application/x-mpegurl", "application/xhtml+xml", "application/xml",
	"font/eot", "font/opentype", "font/otf", "font/ttf", "image/svg+xml", "image/vnd.microsoft.icon",
	"image/x-icon", "text/cache-manifest",
}

func compressible(ctype string) bool {
	t, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return false
	}
	return strings.HasPrefix(t, "text/") || slices.Contains(compressibleTypes, t)
}

// compressFor says whether the cache compresses this kind of response
// (candidate: then every coding, identity included, is a variant), and
// which coding (br or gzip) it uses for this request, "" for none.
func compressFor(r *http.Request, p Policy, resp *http.Response, cc directives) (enc string, candidate bool) {
	if !p.Compress || !compressedStatus(resp.StatusCode) || cc.noTransform {
		return "", false
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
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
	if enc := negotiate(r.Header["Accept-Encoding"]); enc != "identity" {
		return enc, true
	}
	return "", true
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
	addVary(h, "Accept-Encoding")
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
		addVary(h, "Accept-Encoding")
	}
}

func addVary(h http.Header, name string) {
	for _, n := range varyNames(h) {
		if n == name {
			return
		}
	}
	h["Vary"] = append(slices.Clip(h["Vary"]), name)
}

var (
	gzipPool   sync.Pool
	brotliPool sync.Pool
)

// compressor wraps w in the coding enc; Close flushes it and returns it
// to its pool.
type compressor struct {
	io.Writer
	close func() error
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
		return &compressor{z, func() error { err := z.Close(); gzipPool.Put(z); return err }}
	case "br":
		b, _ := brotliPool.Get().(*brotli.Writer)
		if b == nil {
			b = brotli.NewWriterLevel(w, 5)
		} else {
			b.Reset(w)
		}
		return &compressor{b, func() error { err := b.Close(); brotliPool.Put(b); return err }}
	}
	return nil
}
