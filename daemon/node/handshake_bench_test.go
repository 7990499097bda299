package node

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"openfront.dev/internal/tlsfp"
)

// startBenchNode runs a node with a distribution on a named certificate,
// one on a wildcard certificate and one on the default certificate.
func startBenchNode(b *testing.B) *Node {
	b.Helper()
	dir, certs := b.TempDir(), b.TempDir()
	writeCert(b, certs, "site", "site.test")
	writeCert(b, certs, "wild", "*.wild.test")
	conf := `package cdn

_origin: {
	origins: [{id: "o", domainName: "o.example", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}
}
distributions: site: _origin & {aliases: ["site.test"], viewerCertificate: certificateName: "site"}
distributions: wild: _origin & {aliases: ["*.wild.test"], viewerCertificate: certificateName: "wild"}
distributions: deflt: _origin & {aliases: ["default.test"]}
`
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", CertsDir: certs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CacheBodyDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Shutdown(b.Context()) })
	return n
}

// benchSNIs are the names the handshake benchmarks present.
var benchSNIs = []struct{ name, sni string }{
	{"named", "site.test"},
	{"wildcard", "a.wild.test"},
	{"default", "default.test"},
	{"unknown", "nomatch.example"},
}

// BenchmarkConfigForClient is the work the node adds to a TCP handshake:
// GetConfigForClient, then the certificate of the config it returned, as
// crypto/tls picks it.
func BenchmarkConfigForClient(b *testing.B) {
	n := startBenchNode(b)
	get := n.certs.configForClient(false)
	for _, s := range benchSNIs {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hello := &tls.ClientHelloInfo{ServerName: s.sni, SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
					Conn: &tlsfp.Conn{}}
				cfg, err := get(hello)
				if err != nil {
					b.Fatal(err)
				}
				if cfg.GetCertificate != nil {
					if _, err := cfg.GetCertificate(hello); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkHandshake is a whole TLS 1.3 handshake over net.Pipe with the
// node's server config, its client crypto/tls's without session resumption.
func BenchmarkHandshake(b *testing.B) {
	n := startBenchNode(b)
	srvCfg := &tls.Config{GetConfigForClient: n.certs.configForClient(false), NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: n.certs.defaultCert.get}
	for _, s := range benchSNIs {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			cliCfg := &tls.Config{ServerName: s.sni, InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}
			for b.Loop() {
				c, sc := net.Pipe()
				done := make(chan error, 1)
				go func() {
					done <- tls.Server(&tlsfp.Conn{Conn: sc}, srvCfg).Handshake()
					sc.Close()
				}()
				err := tls.Client(c, cliCfg).Handshake()
				c.Close()
				if serr := <-done; err == nil {
					err = serr
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
