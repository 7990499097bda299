package rtmp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestMetricsShowAtZero: a streaming distribution's byte and skipped-frame
// counters are on /metrics at 0 once it is in the table, before its first
// client, so that rate() counts the first session's bytes (a series born
// with them shows no increase); they leave with the distribution.
func TestMetricsShowAtZero(t *testing.T) {
	dir := t.TempDir()
	pool := origin.NewPool(dir)
	t.Cleanup(pool.Close)
	srv := NewServer(Config{Origins: pool, Log: testLogger(t)})
	reg := prometheus.NewRegistry()
	for _, c := range srv.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	srv.SetTable(testenv.Compile(t, dir, fmt.Sprintf(baseConfig, "http://127.0.0.1:1", streamKeySHA(), "", "")))
	var want strings.Builder
	for _, m := range []struct{ name, help string }{
		{"openfront_rtmp_received_bytes_total", "Bytes received from RTMP clients, by streaming distribution."},
		{"openfront_rtmp_sent_bytes_total", "Bytes sent to RTMP clients, by streaming distribution."},
		{"openfront_rtmp_skipped_frames_total", "Media messages live players skipped because they fell behind, by streaming distribution."},
	} {
		fmt.Fprintf(&want, "# HELP %s %s\n# TYPE %[1]s counter\n", m.name, m.help)
		for _, d := range []string{"tv", "vodonly"} {
			fmt.Fprintf(&want, "%s{distribution=%q} 0\n", m.name, d)
		}
	}
	names := []string{"openfront_rtmp_received_bytes_total", "openfront_rtmp_sent_bytes_total", "openfront_rtmp_skipped_frames_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String()), names...); err != nil {
		t.Error(err)
	}
	// Without vodonly: its series go.
	srv.SetTable(testenv.Compile(t, t.TempDir(), `package cdn

streamingDistributions: tv: {
	aliases: ["tv.test"]
	s3Origin: {domainName: "127.0.0.1", endpoint: "http://127.0.0.1:1", bucket: "media", region: "us-east-1"}
}
`))
	if n, err := testutil.GatherAndCount(reg, names...); err != nil || n != 3 {
		t.Errorf("%d series after vodonly left (%v), want tv's 3", n, err)
	}
}
