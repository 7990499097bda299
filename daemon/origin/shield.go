package origin

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"

	"openfront.dev/compiler/table"
)

// Signer makes the shield authenticator of a request: its method, the Host
// it is sent with, and its target (path and query as sent).
type Signer func(method, host, target string) string

// shieldFetcher sends an origin's requests to the shield node of its
// region, which answers from its cache or asks the origin: the request as
// the origin would get it (method, path, query, forwarded header), under
// the viewer's Host, with the authenticator in AuthHeader.
type shieldFetcher struct {
	client
	base       *url.URL
	authHeader string
	sign       Signer
}

// Shield returns the fetcher of origin o's requests through the shield
// node at base; authHeader names the header sign's authenticator goes in.
// The connection to the shield is the origin's to time out: its
// connectionTimeout, and its response timeout once for each of the
// connectionAttempts the shield may spend on the origin. The shield's
// certificate verifies against the system's roots and --origin-ca.
func (p *Pool) Shield(o *table.Origin, base *url.URL, authHeader string, sign Signer) Fetcher {
	ts := shieldTimeoutsOf(o)
	p.mu.Lock()
	defer p.mu.Unlock()
	key := shieldKey{base.String(), ts}
	hc, ok := p.shields[key]
	if !ok {
		dialer := &net.Dialer{Timeout: ts.dial, KeepAlive: 30 * time.Second}
		hc = &http.Client{CheckRedirect: noRedirect, Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.roots},
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: ts.read,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true,
		}}
		if p.shields == nil {
			p.shields = map[shieldKey]*http.Client{}
		}
		p.shields[key] = hc
	}
	return &shieldFetcher{base: base, authHeader: authHeader, sign: sign,
		client: client{origin: o.ID, attempts: 1, readTimeout: ts.read, http: hc}}
}

// shieldKey is a connection pool to a shield: its base URL and the
// timeouts of the origins sent there.
type shieldKey struct {
	base string
	shieldTimeouts
}

type shieldTimeouts struct{ read, dial time.Duration }

// shieldTimeoutsOf is the timeouts of the connection to the shield for o.
func shieldTimeoutsOf(o *table.Origin) shieldTimeouts {
	read := 30 * time.Second
	if c := o.Spec.CustomOriginConfig; c != nil {
		read = time.Duration(c.OriginReadTimeout) * time.Second
	} else if o.Spec.S3OriginConfig != nil {
		read = s3ResponseTimeout(o)
	}
	return shieldTimeouts{
		read: read * time.Duration(max(o.Spec.ConnectionAttempts, 1)),
		dial: time.Duration(max(o.Spec.ConnectionTimeout, 1)) * time.Second,
	}
}

// pruneShields closes the pools to shields that no origin of t with an
// Origin Shield would use: their timeouts are no such origin's (a shield's
// base URL is the node's for its life, set by --origin-shield). Called
// with p.mu held.
func (p *Pool) pruneShields(t *table.Table) {
	live := map[shieldTimeouts]bool{}
	for d := range t.Distributions() {
		for _, o := range d.Origins {
			if o.Spec.ShieldRegion() != "" {
				live[shieldTimeoutsOf(o)] = true
			}
		}
	}
	for k, c := range p.shields {
		if !live[k.shieldTimeouts] {
			c.CloseIdleConnections()
			delete(p.shields, k)
		}
	}
}

func (s *shieldFetcher) Fetch(ctx context.Context, req *Request) (*http.Response, error) {
	raw := s.base.Path + escapeRawPath(req.Path)
	u := &url.URL{Scheme: s.base.Scheme, Host: s.base.Host, RawQuery: req.RawQuery}
	u.Path, _ = url.PathUnescape(raw)
	u.RawPath = raw
	target := u.RequestURI()
	body := req.Body != nil && req.Body != http.NoBody
	return s.do(ctx, req.Method, body, func(ctx context.Context) (*http.Request, error) {
		hr, err := newHTTPRequest(ctx, req, u.String())
		if err != nil {
			return nil, err
		}
		hr.Host = req.ViewerHost
		hr.Header[s.authHeader] = []string{s.sign(req.Method, hr.Host, target)}
		return hr, nil
	})
}
