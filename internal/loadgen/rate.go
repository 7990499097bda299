package loadgen

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A load generator that saturates the server (wrk) measures throughput,
// but on a 2-core machine it also measures the load generator: the
// slower the server, the more often the client's core goes idle, and each
// response then pays for waking it. RateLoad sends a fixed number of
// requests per second instead, below what the server can do, so two
// targets see the same request pattern and the server CPU per request
// differs by what the server does, and nothing else.

// RateOptions shape a fixed-rate HTTP/1.1 keep-alive run: Rate GETs per
// second spread over Conns connections, for Duration.
type RateOptions struct {
	URL      string
	Host     string // sent as Host when set
	Conns    int
	Rate     float64
	Duration time.Duration
}

// RateLoad runs o and counts the requests answered 2xx with the whole
// body; the rest are errors.
func RateLoad(ctx context.Context, o RateOptions) (LoadResult, error) {
	if o.Conns < 1 || o.Rate <= 0 || o.Duration <= 0 {
		return LoadResult{}, errors.New("conns, rate and duration must be positive")
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "http" {
		return LoadResult{}, fmt.Errorf("want an http URL, not %q", o.URL)
	}
	host := cmp.Or(o.Host, u.Host)
	req := []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: edgebench\r\n\r\n")
	var res LoadResult
	var requests, errs, bytes atomic.Int64
	var firstErr sync.Once
	every := time.Duration(float64(o.Conns) / o.Rate * float64(time.Second))
	start := time.Now()
	end := start.Add(o.Duration)
	var wg sync.WaitGroup
	for i := range o.Conns {
		// Connections start spread over one interval, not in step.
		first := start.Add(every * time.Duration(i) / time.Duration(o.Conns))
		wg.Go(func() {
			err := paced(ctx, u.Host, req, first, every, end, &requests, &bytes)
			if err != nil {
				errs.Add(1)
				firstErr.Do(func() { res.FirstError = err.Error() })
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests, res.Errors, res.Bytes = requests.Load(), errs.Load(), bytes.Load()
	return res, nil
}

// paced sends req on one connection at first, first+every, … until end:
// late sends go at once, so the rate holds on average. It returns at the
// first error (the connection is not reopened).
func paced(ctx context.Context, addr string, req []byte, first time.Time, every time.Duration, end time.Time, requests, bytes *atomic.Int64) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	for next := first; next.Before(end) && ctx.Err() == nil; next = next.Add(every) {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		if _, err := c.Write(req); err != nil {
			return err
		}
		n, err := readResponse(br)
		if err != nil {
			return err
		}
		requests.Add(1)
		bytes.Add(n)
	}
	return nil
}

// readResponse reads one response with a Content-Length body and
// returns the body's size; any other status or framing is an error.
func readResponse(br *bufio.Reader) (int64, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || line[9] != '2' {
		return 0, fmt.Errorf("status %q", strings.TrimSpace(string(line)))
	}
	length := int64(-1)
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("Content-Length: %w", err)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("no Content-Length")
	}
	_, err = br.Discard(int(length))
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return length, err
}
