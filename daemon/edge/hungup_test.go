package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// TestViewerHungUpRequest: a viewer whose request body breaks off while
// it is forwarded (it hung up) fails the origin request, which is not
// the origin's fault: the log says ClientHungUpRequest
// (standard-logs-reference: "The viewer stopped prematurely while sending
// the request"), not OriginCommError.
func TestViewerHungUpRequest(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		io.WriteString(w, "got it\n")
	}))
	t.Cleanup(app.Close)
	h, logs, logDir := loggedSite(t, app.Listener.Addr().String(), `allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]`)
	bodies := []struct {
		path string
		body io.Reader
	}{
		{"/whole", strings.NewReader("all of it")},
		{"/broken", io.MultiReader(strings.NewReader("part"), iotest.ErrReader(errors.New("connection reset by peer")))},
	}
	for _, b := range bodies {
		r := httptest.NewRequest("POST", "http://site.test"+b.path, io.NopCloser(b.body))
		r.ContentLength = 1 << 10
		if b.path == "/whole" {
			r.ContentLength = int64(len("all of it"))
		}
		serveRecovering(h, httptest.NewRecorder(), r)
	}
	if err := logs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := readLogLines(t, logDir)
	want := map[string]string{"/whole": "200 Miss Miss", "/broken": "502 Error ClientHungUpRequest"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines logged, want %d: %q", len(lines), len(want), lines)
	}
	for _, l := range lines {
		if got := l["sc-status"] + " " + l["x-edge-result-type"] + " " + l["x-edge-detailed-result-type"]; got != want[l["cs-uri-stem"]] {
			t.Errorf("%s: logged %q, want %q", l["cs-uri-stem"], got, want[l["cs-uri-stem"]])
		}
	}
}
