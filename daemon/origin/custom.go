package origin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"openfront.dev/compiler/table"
)

// custom fetches from an HTTP(S) server with a keep-alive pool of its own.
type custom struct {
	origin *table.Origin
	client
	// grpc carries gRPC calls: HTTP/2 over TLS only, one connection
	// multiplexing every call, and no response timeout (a stream may wait
	// for its first message as long as the caller's deadline allows).
	grpc *http.Client
	// named and namedGRPC carry HTTPS requests and gRPC calls that
	// forward the viewer's Host, whose connections name that host
	// (namedClients).
	named, namedGRPC *namedClients
}

// tlsVersions maps CloudFront's originSslProtocols to Go's TLS versions;
// SSLv3 is not offered by Go and is treated as TLS 1.0.
var tlsVersions = map[string]uint16{"SSLv3": tls.VersionTLS10, "TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12}

func newCustom(o *table.Origin, roots *x509.CertPool) *custom {
	c := o.Spec.CustomOriginConfig
	minTLS := uint16(tls.VersionTLS13)
	for _, p := range c.OriginSSLProtocols {
		if v, ok := tlsVersions[p]; ok && v < minTLS {
			minTLS = v
		}
	}
	dialer := &net.Dialer{Timeout: time.Duration(o.Spec.ConnectionTimeout) * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: minTLS, RootCAs: roots},
		TLSHandshakeTimeout:   time.Duration(o.Spec.ConnectionTimeout) * time.Second,
		ResponseHeaderTimeout: time.Duration(c.OriginReadTimeout) * time.Second,
		IdleConnTimeout:       time.Duration(c.OriginKeepaliveTimeout) * time.Second,
		MaxIdleConnsPerHost:   256,
		// HTTP/1.1 only, as CloudFront to a custom origin: no HTTP/2
		// through ALPN, whose one connection would carry every fetch.
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
		// The edge decides about compression; pass the origin's bytes through.
		DisableCompression: true,
	}
	var h2only http.Protocols
	h2only.SetHTTP2(true)
	grpc := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tr.TLSClientConfig.Clone(),
		TLSHandshakeTimeout: tr.TLSHandshakeTimeout,
		IdleConnTimeout:     tr.IdleConnTimeout,
		Protocols:           &h2only,
		DisableCompression:  true,
	}
	return &custom{
		origin:    o,
		grpc:      &http.Client{Transport: grpc, CheckRedirect: noRedirect},
		named:     newNamedClients(tr, roots, o.Spec.DomainName),
		namedGRPC: newNamedClients(grpc, roots, o.Spec.DomainName),
		client: client{
			origin:      o.ID,
			attempts:    max(o.Spec.ConnectionAttempts, 1),
			readTimeout: time.Duration(c.OriginReadTimeout) * time.Second,
			completion:  time.Duration(o.Spec.ResponseCompletionTimeout) * time.Second,
			http: &http.Client{
				Transport:     tr,
				CheckRedirect: noRedirect,
			},
		},
	}
}

// noRedirect sends redirects back to the viewer, as CloudFront does.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// target is the origin URL for a request: scheme and port per
// originProtocolPolicy, the originPath prefix, the forwarded query.
func (c *custom) target(req *Request) *url.URL {
	cfg := c.origin.Spec.CustomOriginConfig
	https := req.GRPC || cfg.OriginProtocolPolicy == "https-only" || cfg.OriginProtocolPolicy == "match-viewer" && req.ViewerHTTPS
	scheme, port := "http", cfg.HTTPPort
	if https {
		scheme, port = "https", cfg.HTTPSPort
	}
	host := c.origin.Spec.DomainName
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, strconv.Itoa(port))
	}
	raw := escapeRawPath(c.origin.Spec.OriginPath + req.Path)
	u := &url.URL{Scheme: scheme, Host: host, RawQuery: req.RawQuery}
	u.Path, _ = url.PathUnescape(raw) // raw's escapes are all valid
	u.RawPath = raw
	return u
}

// escapeRawPath keeps the viewer's path as sent, escapes and all (%2F stays
// %2F), escaping only the bytes a request line cannot carry (space, "{",
// "|", raw UTF-8, a "%" that starts no escape), so that net/url sends it
// as RawPath instead of escaping its decoded form again.
func escapeRawPath(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/!$&'()*+,;=:@[]", c) >= 0 ||
			c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2])
		if ok && b.Len() == 0 {
			continue // unchanged so far: no copy
		}
		if b.Len() == 0 {
			b.Grow(len(raw) + 8)
			b.WriteString(raw[:i])
		}
		if ok {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() == 0 {
		return raw
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (c *custom) close() {
	c.http.CloseIdleConnections()
	c.grpc.CloseIdleConnections()
	c.named.close()
	c.namedGRPC.close()
}

func (c *custom) Fetch(ctx context.Context, req *Request) (*http.Response, error) {
	target := c.target(req)
	u := target.String()
	if req.GRPC {
		grpc := c.grpc
		if name, ok := c.namedGRPC.forwarded(req, target); ok {
			grpc = c.namedGRPC.client(name)
		}
		return c.call(ctx, grpc, req, u)
	}
	body := req.Body != nil && req.Body != http.NoBody
	cl := c.client
	if name, ok := c.named.forwarded(req, target); ok {
		cl.http = c.named.client(name)
	}
	if req.Upgrade != "" {
		cl.completion = 0 // an upgraded connection lasts as long as its ends want
	}
	return cl.do(ctx, req.Method, body, func(ctx context.Context) (*http.Request, error) {
		return c.request(ctx, req, u)
	})
}

// call sends a gRPC call with "TE: trailers", which gRPC servers require
// of their clients, through client.do: its body is a stream, never sent
// twice, but a connection that fails before any of it was read is tried
// again, as for any request. No response timeout: a stream may be quiet
// for as long as its ends want. The response's Trailer holds the call's
// status once its body is read.
func (c *custom) call(ctx context.Context, grpc *http.Client, req *Request, u string) (*http.Response, error) {
	cl := c.client
	cl.http, cl.readTimeout, cl.completion = grpc, 0, 0
	body := req.Body != nil && req.Body != http.NoBody
	return cl.do(ctx, req.Method, body, func(ctx context.Context) (*http.Request, error) {
		hr, err := c.request(ctx, req, u)
		if err == nil {
			hr.Header["Te"] = []string{"trailers"}
		}
		return hr, err
	})
}

// request is the origin's request for req, at URL u.
func (c *custom) request(ctx context.Context, req *Request, u string) (*http.Request, error) {
	hr, err := newHTTPRequest(ctx, req, u)
	if err != nil {
		return nil, err
	}
	hr.Host = c.origin.Spec.DomainName
	if req.ForwardHost {
		hr.Host = req.ViewerHost
	}
	for _, h := range c.origin.Spec.CustomHeaders {
		hr.Header.Set(h.HeaderName, h.HeaderValue)
	}
	if req.Upgrade != "" {
		// Hop-by-hop, so never among the forwarded fields: the
		// edge asks for the upgrade itself, as CloudFront does.
		hr.Header["Connection"] = []string{"Upgrade"}
		hr.Header["Upgrade"] = []string{req.Upgrade}
	}
	return hr, nil
}

// newHTTPRequest is req as an HTTP request to URL u: its method, body
// and header, with X-Forwarded-For (setForwardedFor).
func newHTTPRequest(ctx context.Context, req *Request, u string) (*http.Request, error) {
	hr, err := http.NewRequestWithContext(ctx, req.Method, u, req.Body)
	if err != nil {
		return nil, err
	}
	if req.Body != nil {
		hr.ContentLength = req.ContentLength
	}
	hr.Header = req.Header.Clone()
	if hr.Header == nil {
		hr.Header = http.Header{}
	}
	setForwardedFor(hr.Header, req)
	return hr, nil
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) || strings.Contains(fmt.Sprint(err), "timeout awaiting response headers")
}
