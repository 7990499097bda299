package origin

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// client sends requests to one origin as CloudFront does
// (RequestAndResponseBehaviorCustomOrigin.md, "Origin Connection Timeout
// and Attempts" and "Origin Response Timeout"): a connection that cannot
// be made is tried connectionAttempts times; a GET or HEAD whose response
// does not start within the response timeout (the transport's
// ResponseHeaderTimeout) is tried again, up to connectionAttempts times;
// and a response body the origin stops sending for the response timeout
// is cut off.
type client struct {
	origin      string // the origin's id, for errors
	http        *http.Client
	attempts    int
	readTimeout time.Duration
	// completion, when set, bounds the whole response, every attempt and
	// the body included (responseCompletionTimeout).
	completion time.Duration
}

// do sends the request build makes, building it again for each attempt.
// body says the request has one: it is never sent twice, but a
// connection that fails before any of it was read is tried again, as
// CloudFront tries every request's connection connectionAttempts times
// ("For all requests, CloudFront attempts to establish a connection ...
// makes two additional attempts", RequestAndResponseBehaviorS3Origin.md).
func (c *client) do(ctx context.Context, method string, body bool, build func(context.Context) (*http.Request, error)) (*http.Response, error) {
	var lastErr error
	replayable := !body && (method == http.MethodGet || method == http.MethodHead)
	var bodyRead atomic.Bool
	var lastBody io.ReadCloser
	var handshakeFailed *atomic.Bool
	var deadline time.Time
	if c.completion > 0 {
		deadline = time.Now().Add(c.completion)
	}
	for attempt := 0; attempt < c.attempts; attempt++ {
		var actx context.Context
		var cancel context.CancelFunc
		if deadline.IsZero() {
			actx, cancel = context.WithCancel(ctx)
		} else {
			actx, cancel = context.WithDeadline(ctx, deadline)
		}
		actx, handshakeFailed = traceHandshake(actx)
		hr, err := build(actx)
		if err != nil {
			cancel()
			if _, ok := err.(*Error); ok {
				return nil, err
			}
			return nil, &Error{Origin: c.origin, Err: err}
		}
		if body && hr.Body != nil && hr.Body != http.NoBody {
			lastBody = hr.Body
			hr.Body = heldBody{hr.Body, &bodyRead}
		}
		resp, err := c.http.Do(hr)
		if err == nil {
			if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
				// An upgraded connection (a WebSocket) is the caller's,
				// for as long as it lasts: no response timeout; its
				// context ends when the caller closes it.
				resp.Body = upgraded{rwc, cancel}
			} else if resp.Body != nil && resp.Body != http.NoBody && c.readTimeout > 0 {
				resp.Body = newIdleBody(resp.Body, c.readTimeout, cancel)
			} else if resp.Body != nil && resp.Body != http.NoBody {
				// No read timeout (a gRPC stream may be quiet as long as
				// its ends want): the context ends with the body.
				resp.Body = cancelOnClose{resp.Body, cancel}
			} else {
				cancel()
			}
			return resp, nil
		}
		cancel()
		lastErr = err
		// Only a request that never reached the origin, or a GET or HEAD
		// it did not answer, is tried again: another may have had effects.
		if ctx.Err() != nil || !(isDialError(err) && !bodyRead.Load() || replayable && isTimeout(err)) {
			break
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			break // no retry past the response completion timeout
		}
	}
	unsent := !bodyRead.Load() && (isDialError(lastErr) || handshakeFailed.Load())
	if lastBody != nil && !unsent {
		lastBody.Close() // as the transport closes a failed request's body
	}
	return nil, &Error{Origin: c.origin, Timeout: isTimeout(lastErr), Handshake: handshakeFailed.Load(), Unsent: unsent, Err: lastErr}
}

// heldBody is a request body as an attempt's transport gets it: it notes
// whether any of it was read, and the transport's Close, which follows a
// failed connection too, leaves it whole for the next attempt.
type heldBody struct {
	rc   io.ReadCloser
	read *atomic.Bool
}

func (b heldBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (heldBody) Close() error { return nil }

// traceHandshake notes in the bool whether a TLS handshake that a request
// under ctx started failed: Go's transport does not mark its errors.
func traceHandshake(ctx context.Context) (context.Context, *atomic.Bool) {
	failed := new(atomic.Bool) // the trace may run on the transport's goroutine
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
		if err != nil {
			failed.Store(true)
		}
	}}), failed
}

// setReadTimeout changes the response timeout (tests use less than a second).
func (c *client) setReadTimeout(d time.Duration) {
	c.readTimeout = d
	c.http.Transport.(*http.Transport).ResponseHeaderTimeout = d
}

// idleBody is a response body that fails with a timeout when the origin
// sends nothing for d while it is being read. Time the reader spends
// elsewhere (a slow viewer) does not count.
type idleBody struct {
	rc     io.ReadCloser
	d      time.Duration
	timer  *time.Timer
	fired  atomic.Bool
	cancel context.CancelFunc
}

func newIdleBody(rc io.ReadCloser, d time.Duration, cancel context.CancelFunc) *idleBody {
	b := &idleBody{rc: rc, d: d, cancel: cancel}
	b.timer = time.AfterFunc(d, func() {
		b.fired.Store(true)
		cancel()
	})
	b.timer.Stop()
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.d)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && b.fired.Load() {
		err = errReadTimeout
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel()
	return err
}

// upgraded is the connection of an origin that switched protocols: the
// transport's body, readable and writable.
type upgraded struct {
	io.ReadWriteCloser
	cancel context.CancelFunc
}

func (u upgraded) Close() error {
	err := u.ReadWriteCloser.Close()
	u.cancel()
	return err
}

// cancelOnClose is a response body whose request context ends when the
// caller closes it.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// errReadTimeout ends a body the origin stopped sending.
var errReadTimeout error = readTimeoutError{}

type readTimeoutError struct{}

func (readTimeoutError) Error() string   { return "origin response timeout: the origin stopped sending" }
func (readTimeoutError) Timeout() bool   { return true }
func (readTimeoutError) Temporary() bool { return true }
