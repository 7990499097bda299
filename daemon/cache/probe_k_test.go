package cache

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestProbePieceCompress(t *testing.T) {
	page := strings.Repeat("<p>openfront compresses text</p>\n", 200)
	p := defaultPolicy
	p.Compress = true
	hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "max-age=60")
		h.Set("Content-Type", "text/html")
		h.Set("ETag", `"p1"`)
		fmt.Printf("  origin: Range=%q AE=%q\n", r.Header.Get("Range"), r.Header.Get("Accept-Encoding"))
		if rg := r.Header.Get("Range"); rg != "" {
			var a int
			fmt.Sscanf(rg, "bytes=%d-", &a)
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, len(page)-1, len(page)))
			h.Set("Content-Length", strconv.Itoa(len(page)-a))
			w.WriteHeader(206)
			io.WriteString(w, page[a:])
			return
		}
		h.Set("Content-Range", fmt.Sprintf("bytes 0-99/%d", len(page)))
		h.Set("Content-Length", "100")
		w.WriteHeader(206)
		io.WriteString(w, page[:100])
	})
	show := func(label string, method string, hdr ...string) {
		w := hs.do(method, "/c", hdr...)
		h := w.Result().Header
		body := w.Body.Bytes()
		ok := "?"
		if enc := h.Get("Content-Encoding"); w.Code == 200 {
			ok = fmt.Sprint(decode(t, enc, body) == page)
		}
		fmt.Printf("%-30s %d X=%s CE=%q CL=%q CR=%q ET=%q Vary=%q body=%d whole-ok=%s\n", label, w.Code, h.Get("X-Cache"), h.Get("Content-Encoding"), h.Get("Content-Length"), h.Get("Content-Range"), h.Get("ETag"), h.Get("Vary"), w.Body.Len(), ok)
		hs.waitBackground()
	}
	show("gzip range", "GET", "Accept-Encoding", "gzip", "Range", "bytes=0-9")
	show("gzip range again", "GET", "Accept-Encoding", "gzip", "Range", "bytes=0-9")
	show("gzip whole", "GET", "Accept-Encoding", "gzip")
	show("gzip whole again", "GET", "Accept-Encoding", "gzip")
	show("identity whole", "GET")
	show("identity range", "GET", "Range", "bytes=0-9")
	show("gzip range after", "GET", "Accept-Encoding", "gzip", "Range", "bytes=0-9")
}
