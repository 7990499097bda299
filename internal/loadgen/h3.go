package loadgen

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// SelfSigned is a throwaway certificate for localhost and 127.0.0.1.
func SelfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// LoadOptions shape an HTTP/3 load run: Conns QUIC connections, each with
// Streams requests in flight, for Duration.
type LoadOptions struct {
	URL      string
	Conns    int
	Streams  int
	Duration time.Duration
	// Host, when set, is sent as :authority (the TLS server name stays the
	// URL's host).
	Host string
}

// LoadResult counts a run's completed requests.
type LoadResult struct {
	Requests int64 // 2xx with the whole body read
	Errors   int64 // transport errors, other statuses, short bodies
	Bytes    int64
	Elapsed  time.Duration
	// FirstError says what went wrong first, for the report.
	FirstError string
}

// RPS is completed requests per second.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// H3Load drives an HTTP/3 server with quic-go's http3.Transport: one
// transport per connection (a transport keeps one connection per host),
// each shared by Streams goroutines looping on GETs until Duration ends.
func H3Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if o.Conns < 1 || o.Streams < 1 || o.Duration <= 0 {
		return LoadResult{}, errors.New("conns, streams and duration must be positive")
	}
	var transports []*http3.Transport
	defer func() {
		for _, t := range transports {
			t.Close()
		}
	}()
	for range o.Conns {
		t := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableCompression: true}
		transports = append(transports, t)
		// Handshake first, so the run measures requests, not dials.
		req, err := newLoadRequest(ctx, o)
		if err != nil {
			return LoadResult{}, err
		}
		if _, n, err := roundTrip(t, req); err != nil {
			return LoadResult{}, fmt.Errorf("first request: %w", err)
		} else if n == 0 {
			return LoadResult{}, errors.New("first request: empty body")
		}
	}
	var res LoadResult
	var reqs, errs, bytes atomic.Int64
	var firstErr sync.Once
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for _, t := range transports {
		for range o.Streams {
			wg.Go(func() {
				for runCtx.Err() == nil {
					req, err := newLoadRequest(ctx, o)
					if err != nil {
						return
					}
					_, n, err := roundTrip(t, req)
					if err != nil {
						errs.Add(1)
						firstErr.Do(func() { res.FirstError = err.Error() })
						continue
					}
					reqs.Add(1)
					bytes.Add(n)
				}
			})
		}
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests, res.Errors, res.Bytes = reqs.Load(), errs.Load(), bytes.Load()
	return res, nil
}

func newLoadRequest(ctx context.Context, o LoadOptions) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return nil, err
	}
	if o.Host != "" {
		req.Host = o.Host
	}
	return req, nil
}

// roundTrip does one GET and reads the whole body, which must be as long
// as Content-Length says.
func roundTrip(rt http.RoundTripper, req *http.Request) (int, int64, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return resp.StatusCode, n, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, n, fmt.Errorf("status %d", resp.StatusCode)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return resp.StatusCode, n, fmt.Errorf("short body: %d of %d bytes", n, resp.ContentLength)
	}
	return resp.StatusCode, n, nil
}
