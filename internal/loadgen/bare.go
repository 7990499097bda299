package loadgen

import (
	"net/http"
	"strings"
)

// Bare is the ceiling for a Go server: it writes each object's header and
// body from memory with nothing in between (no routing table, no cache
// lookup), assigning prebuilt header values so it allocates no more than
// net/http itself does.
type Bare struct {
	objects map[string]bareObject // by size segment: "1k", "100k"
}

type bareObject struct {
	header http.Header
	body   []byte
}

// NewBare serves /obj/SIZE/... for each of sizes ("1k", "100k").
func NewBare(sizes ...string) (*Bare, error) {
	b := &Bare{objects: map[string]bareObject{}}
	for _, s := range sizes {
		n, err := ParseSize(s)
		if err != nil {
			return nil, err
		}
		b.objects[s] = bareObject{header: ObjectHeader(n), body: Body(n)}
	}
	return b, nil
}

// EdgeHeaders are the fields an openfront hit adds to the origin's, with
// fixed values: a bare server sending them too shows what the count of
// header fields costs in net/http, apart from any work of the edge's.
var EdgeHeaders = http.Header{
	"Accept-Ranges":  {"bytes"},
	"Age":            {"0"},
	"Alt-Svc":        {`h3=":8443"; ma=86400`},
	"Via":            {"1.1 bench (openfront)"},
	"X-Cache":        {"Hit from openfront"},
	"X-Openfront-Id": {"k3vJ0m1cQ2s8Xb7yLr5nTw4p"},
}

// WithEdgeHeaders makes b send EdgeHeaders with every object.
func (b *Bare) WithEdgeHeaders() {
	for _, o := range b.objects {
		for k, vs := range EdgeHeaders {
			o.header[k] = vs
		}
	}
}

func (b *Bare) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, _ := strings.CutPrefix(r.URL.Path, "/obj/")
	size, _, _ := strings.Cut(rest, "/")
	obj, ok := b.objects[size]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	for k, vs := range obj.header {
		hdr[k] = vs
	}
	if r.Method != http.MethodHead {
		w.Write(obj.body)
	}
}
