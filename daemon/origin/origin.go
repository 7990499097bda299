// Package origin fetches objects from a distribution's origins: custom HTTP
// servers, S3 buckets, local directories and the live packager.
package origin

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"openfront.dev/compiler/table"
)

// Request is what the edge asks of an origin, already reduced to what the
// behavior forwards: the query and headers hold only forwarded values.
type Request struct {
	Method string
	// Path is the viewer's path (raw, as sent), after the default root object.
	Path     string
	RawQuery string
	Header   http.Header
	Body     io.Reader
	// ContentLength is the body's length, -1 when unknown (chunked).
	ContentLength int64
	// ViewerHTTPS says the viewer connected with TLS (match-viewer origins).
	ViewerHTTPS bool
	// PeerIP, the address the edge's connection came from (the viewer or
	// the nearest proxy), is appended to X-Forwarded-For, as a proxy does:
	// behind a trusted proxy the origin sees "viewer, proxy".
	PeerIP string
	// Upgrade, when set ("websocket"), asks a custom origin to switch to
	// that protocol (Connection: Upgrade): a 101 response's Body is then
	// the connection, an io.ReadWriteCloser. Other origins ignore it.
	Upgrade string
	// ForwardHost sends the viewer's Host instead of the origin's domainName.
	ForwardHost bool
	ViewerHost  string
	// GRPC sends the request to a custom origin as a gRPC call: HTTP/2
	// over TLS, streamed both ways, no response timeout.
	GRPC bool
}

// Error is an origin failure the edge turns into 502 or 504.
type Error struct {
	Origin  string
	Timeout bool
	// Handshake says the TLS handshake with the origin failed (a
	// certificate that does not verify, a server that does not speak
	// TLS): the connection could not be made, as a refused dial.
	Handshake bool
	// Unsent says the request never left: no connection was made (a
	// refused dial, DNS, a failed handshake) and none of its body was
	// read, which is left open for the caller to send elsewhere.
	Unsent bool
	// Reason, when set, is shown to the viewer: what an operator must fix.
	Reason string
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("origin %q: %v", e.Origin, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ConditionalHeaders always reach the origin: they do not change the
// representation, only whether and how much of it is sent.
var ConditionalHeaders = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"}

// nodeHeaders are what the edge says of itself in every origin request
// (Via, its request id, its User-Agent unless the viewer's is forwarded),
// which S3 origins get too, as CloudFront sends them X-Amz-Cf-Id and Via.
var nodeHeaders = []string{"Via", "X-Openfront-Id", "User-Agent"}

// setForwardedFor sets X-Forwarded-For to the forwarded value (every
// line of it) with req.PeerIP appended, as a proxy does.
func setForwardedFor(h http.Header, req *Request) {
	if req.PeerIP == "" {
		return
	}
	if prior := strings.Join(req.Header.Values("X-Forwarded-For"), ", "); prior != "" {
		h.Set("X-Forwarded-For", prior+", "+req.PeerIP)
	} else {
		h.Set("X-Forwarded-For", req.PeerIP)
	}
}

// Fetcher fetches from one origin.
type Fetcher interface {
	Fetch(ctx context.Context, req *Request) (*http.Response, error)
}

// Pool holds a fetcher per origin, with its connection pool, shared by
// every table that has the same origin: a config swap keeps warm connections.
type Pool struct {
	configDir string
	mu        sync.Mutex
	fetchers  map[fetcherKey]Fetcher
	// specs memoizes specKey per origin row: rows of unchanged
	// distributions are the same pointers from table to table.
	specs map[*table.Origin]string
	live  LiveSource
	// roots verify custom origins' certificates; nil is the system's.
	roots *x509.CertPool
	// log takes what fetchers find out on their own (an S3 bucket's
	// region); nil is slog's default.
	log *slog.Logger
	// endpoints are the connection pools of origins functions made
	// (dynamic.go), the least recently used first out.
	endpoints endpoints
	// shields are the connection pools to shield nodes, by base URL and
	// the timeouts of the origins sent there (Shield); under mu.
	shields map[shieldKey]*http.Client
}

type fetcherKey struct {
	distribution, origin, spec string
}

// NewPool returns a pool; configDir resolves local origins' paths.
func NewPool(configDir string) *Pool {
	return &Pool{configDir: configDir, fetchers: map[fetcherKey]Fetcher{}, specs: map[*table.Origin]string{}}
}

// TrustRoots makes custom origins' certificates verify against roots
// instead of the system's (serve --origin-ca: origins behind a private
// CA). Fetchers made before keep theirs.
func (p *Pool) TrustRoots(roots *x509.CertPool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roots = roots
}

// SetLogger makes fetchers made from now on log to log (the node's).
func (p *Pool) SetLogger(log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = log
}

// logger is the fetchers' logger; p.mu is held.
func (p *Pool) logger() *slog.Logger {
	if p.log == nil {
		return slog.Default()
	}
	return p.log
}

// ErrUnsupported marks an origin kind this node cannot fetch from yet.
var ErrUnsupported = errors.New("origin kind not supported by this node yet")

// Fetcher returns the fetcher for o, creating it on first use.
func (p *Pool) Fetcher(d *table.Distribution, o *table.Origin) (Fetcher, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o.FromFunction {
		return p.endpoints.fetcher(d, o, p.roots), nil
	}
	key := fetcherKey{d.ID, o.ID, p.specKey(o)}
	if f, ok := p.fetchers[key]; ok {
		return f, nil
	}
	var f Fetcher
	var err error
	switch o.Kind {
	case table.OriginLocal:
		f, err = newLocal(p.configDir, o)
	case table.OriginCustom:
		f = newCustom(o, p.roots)
	case table.OriginS3:
		f, err = newS3(o, p.logger())
	case table.OriginLive:
		f = newLive(p, o)
	default:
		return nil, &Error{Origin: o.ID, Err: fmt.Errorf("%s origin: %w", o.Kind, ErrUnsupported)}
	}
	if err != nil {
		return nil, &Error{Origin: o.ID, Err: err}
	}
	p.fetchers[key] = f
	return f, nil
}

// SetLive sets the live packager that live origins serve from (the RTMP
// server's *hls.Registry); until then they answer 502.
func (p *Pool) SetLive(src LiveSource) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = src
}

// Prune drops the fetchers of origins the table t no longer has (web
// distributions' and streaming distributions' s3Origins), closing
// their files and idle connections, and the pools to shields none of
// its origins would use; the others keep their pools.
func (p *Pool) Prune(t *table.Table) {
	p.mu.Lock()
	defer p.mu.Unlock()
	live := map[fetcherKey]bool{}
	specs := map[*table.Origin]string{}
	for d := range t.Distributions() {
		for _, o := range d.Origins {
			k := p.specKey(o)
			specs[o] = k
			live[fetcherKey{d.ID, o.ID, k}] = true
		}
	}
	p.specs = specs // rows of older tables are forgotten
	for sd := range t.StreamingDistributions() {
		live[streamingKey(sd)] = true
	}
	p.pruneShields(t)
	for k, f := range p.fetchers {
		// A local origin's directory may sit behind a link a deploy has
		// just re-pointed (serve --git): open it again under every table.
		if _, isLocal := f.(*local); !live[k] || isLocal {
			if c, ok := f.(interface{ close() }); ok {
				c.close()
			}
			delete(p.fetchers, k)
		}
	}
}

// Close closes every fetcher's idle connections and files.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, f := range p.fetchers {
		if c, ok := f.(interface{ close() }); ok {
			c.close()
		}
		delete(p.fetchers, k)
	}
	p.endpoints.closeAll()
	for _, c := range p.shields {
		c.CloseIdleConnections()
	}
}

// specKey identifies an origin's configuration by value (its JSON: the
// nested configs are pointers, whose addresses change with every compile),
// so a changed origin gets a new fetcher while an unchanged one keeps its
// connections. Called with p.mu held.
func (p *Pool) specKey(o *table.Origin) string {
	if k, ok := p.specs[o]; ok {
		return k
	}
	b, _ := json.Marshal(o.Spec)
	k := string(b)
	p.specs[o] = k
	return k
}
