package origin

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// maxNamedClients bounds the connection pools a custom origin keeps for
// forwarded Hosts: a wildcard alias lets viewers name any number. Past
// it one pool is closed (its requests in flight finish).
const maxNamedClients = 64

// namedClients are a custom origin's connection pools for HTTPS requests
// that forward the viewer's Host, one per host. As CloudFront, the
// origin's certificate may then name either the origin's domainName or
// that Host ("One of the domain names in the certificate must match one
// or both of the following values: ... Origin Domain Name ... the value
// of the Host header if you configured CloudFront to forward the Host
// header", http-502-bad-gateway.md), and the Host is the server name
// (SNI) sent, so that an origin with a certificate per site (an ALB, an
// nginx with one server block a site) picks the site's. A connection
// made for one Host never carries another's requests.
type namedClients struct {
	base   *http.Transport // the origin's own, cloned for each name
	roots  *x509.CertPool
	domain string // the domainName's host, the other name a certificate may have

	mu      sync.Mutex
	clients map[string]*http.Client
}

func newNamedClients(base *http.Transport, roots *x509.CertPool, domainName string) *namedClients {
	return &namedClients{base: base, roots: roots, domain: hostOnly(domainName), clients: map[string]*http.Client{}}
}

// forwarded is the server name for req, sent to target, when it is the
// viewer's Host rather than the domainName's.
func (n *namedClients) forwarded(req *Request, target *url.URL) (string, bool) {
	if !req.ForwardHost || target.Scheme != "https" {
		return "", false
	}
	name := hostOnly(req.ViewerHost)
	return name, name != "" && name != n.domain
}

// client is the pool for the server name name.
func (n *namedClients) client(name string) *http.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.clients[name]; ok {
		return c
	}
	if len(n.clients) >= maxNamedClients {
		for k, c := range n.clients { // any one: map order
			c.CloseIdleConnections()
			delete(n.clients, k)
			break
		}
	}
	tr := n.base.Clone()
	tr.TLSClientConfig.ServerName = name // not sent when an IP address, as RFC 6066 says
	// Verified below, against either name.
	tr.TLSClientConfig.InsecureSkipVerify = true
	tr.TLSClientConfig.VerifyConnection = verifyEitherName(n.roots, name, n.domain)
	c := &http.Client{Transport: tr, CheckRedirect: noRedirect}
	n.clients[name] = c
	return c
}

func (n *namedClients) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, c := range n.clients {
		c.CloseIdleConnections()
		delete(n.clients, k)
	}
}

// verifyEitherName checks a server's certificate chain against roots (the
// system's when nil) and that the certificate names one of names.
func verifyEitherName(roots *x509.CertPool, names ...string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: the origin sent no certificate")
		}
		leaf := cs.PeerCertificates[0]
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := leaf.Verify(opts); err != nil {
			return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
		}
		var first error
		for _, name := range names {
			err := leaf.VerifyHostname(name)
			if err == nil {
				return nil
			}
			if first == nil {
				first = err
			}
		}
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: first}
	}
}

// hostOnly is a Host or domainName without its port, lower case.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		hostport = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(hostport, "[]"), "."))
}
