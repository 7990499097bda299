package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"1k", 1024, false},
		{"100k", 100 << 10, false},
		{"2m", 2 << 20, false},
		{"4096", 4096, false},
		{"0", 0, false},
		{"-1", 0, true},
		{"1g", 0, true},
		{"65m", 0, true}, // over the 64 MiB an origin will make
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestObjectPath(t *testing.T) {
	tests := []struct {
		in    string
		size  string
		delay int
		ok    bool
	}{
		{"/obj/1k/bench", "1k", 0, true},
		{"/slow/200/100k/x", "100k", 200, true},
		{"/obj/1k", "", 0, false},
		{"/slow/x/1k/a", "", 0, false},
		{"/other/1k/a", "", 0, false},
	}
	for _, tt := range tests {
		size, delay, ok := objectPath(tt.in)
		if size != tt.size || delay != tt.delay || ok != tt.ok {
			t.Errorf("objectPath(%q) = %q, %d, %v; want %q, %d, %v", tt.in, size, delay, ok, tt.size, tt.delay, tt.ok)
		}
	}
}

func TestBodyIsTheSameForEveryServer(t *testing.T) {
	a, b := Body(100<<10), Body(100<<10)
	if len(a) != 100<<10 || string(a) != string(b) {
		t.Fatalf("Body is not deterministic or has the wrong length (%d)", len(a))
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\topenfront\nVmPeak:\t  900000 kB\nVmHWM:\t  165000 kB\nVmRSS:\t  160000 kB\nThreads:\t8\n"
	m, err := parseStatus([]byte(status))
	if err != nil || m.HWM != 165000<<10 || m.RSS != 160000<<10 {
		t.Errorf("parseStatus = %+v, %v", m, err)
	}
	if _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatus accepted a status without VmRSS/VmHWM")
	}
}

func TestParseProcStat(t *testing.T) {
	busy, err := parseProcStat([]byte("cpu  100 5 50 1000 40 3 2 1 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"))
	if err != nil || busy != 100+5+50+3+2+1 {
		t.Errorf("parseProcStat = %d, %v; want 161 (idle and iowait left out)", busy, err)
	}
	// A command name with spaces and parentheses must not shift the fields.
	ticks, err := parsePIDStat([]byte("42 (nginx: worker (x)) S 1 42 42 0 -1 4194560 100 0 0 0 700 300 0 0 20 0 1 0"))
	if err != nil || ticks != 1000 {
		t.Errorf("parsePIDStat = %d, %v; want 1000", ticks, err)
	}
}

const wrkOutput = `Running 10s test @ http://127.0.0.1:18080/obj/1k/bench
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   650.30us  470.09us   7.24ms   75.71%
    Req/Sec    83.20k     4.55k   95.20k    82.64%
  832000 requests in 10.00s, 1.01GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  83200.12
Transfer/sec:    103.50MB
`

// h2load -D 5s: 3 requests answered 404, one timed out, one in flight at
// the end (started, not done). h2load counts a timed-out request in
// errored, and an errored one in failed.
const h2loadOutput = `Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 5.00s, 47532.20 req/s, 50.12MB/s
requests: 237662 total, 237662 started, 237661 done, 237657 succeeded, 4 failed, 1 errored, 1 timeout
status codes: 237657 2xx, 0 3xx, 3 4xx, 0 5xx
traffic: 50.12MB (52555682) total, 1.62MB (1700000) headers (space savings 96.25%), 48.10MB (50435000) data
req/s           :     950.00     951.00     950.64       0.30    60.00%
`

func TestParseLoadOutput(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want LoadOutput
		err  bool
	}{
		{"wrk, with errors", wrkOutput, LoadOutput{RPS: 83200.12, Requests: 832000, Errors: 7}, false},
		{"edgebench h3load", "rps=31000.5 requests=310005 errors=0 bytes=1 elapsed=10.00s\n", LoadOutput{RPS: 31000.5, Requests: 310005}, false},
		{"h2load, with errors", h2loadOutput, LoadOutput{RPS: 47532.2, Requests: 237661, Errors: 4}, false},
		{"h2load, no summary", "starting benchmark...\nfinished in 5.00s, 47532.20 req/s, 50.12MB/s\n", LoadOutput{}, true},
		{"neither", "connection refused\n", LoadOutput{}, true},
	}
	for _, tt := range tests {
		got, err := ParseLoadOutput(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%s: ParseLoadOutput = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestReportTakesRatiosWithinRounds(t *testing.T) {
	// Round 2 ran on a slower minute: both targets at half speed. The
	// ratio is 0.8 in both rounds, whatever the medians of req/s say.
	runs := []Run{
		{Label: "h1/1k/bare", Round: 1, RPS: 100, ServerUSPerReq: 10},
		{Label: "h1/1k/openfront", Round: 1, RPS: 80, ServerUSPerReq: 12.5},
		{Label: "h1/1k/bare", Round: 2, RPS: 50, ServerUSPerReq: 20},
		{Label: "h1/1k/openfront", Round: 2, RPS: 40, ServerUSPerReq: 25},
		{Label: "h1/1k/bare", Round: 3, RPS: 100, ServerUSPerReq: 10},
		{Label: "h1/1k/openfront", Round: 3, RPS: 80, ServerUSPerReq: 12.5, Errors: 2},
	}
	out := Report(runs, "openfront")
	for _, want := range []string{
		"| h1 | 1k | bare | 100 | 10.00 | 0.80× | 0.80× | 3 | 0 |",
		"| h1 | 1k | openfront | 80 | 12.50 |  |  | 3 | 2 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Four rounds or more: the CPU ratio's quartiles over rounds.
	for r := 4; r <= 5; r++ {
		runs = append(runs, Run{Label: "h1/1k/bare", Round: r, RPS: 100, ServerUSPerReq: 10},
			Run{Label: "h1/1k/openfront", Round: r, RPS: 100, ServerUSPerReq: 10 * (1 + float64(r)/10)})
	}
	if out := Report(runs, "openfront"); !strings.Contains(out, "| 0.80× | 0.80× (0.71–0.80) | 5 |") {
		t.Errorf("report lacks the quartiles of 0.80, 0.80, 0.80, 0.71, 0.67:\n%s", out)
	}
	// The subject's row comes after its baselines'.
	if strings.Index(out, "| openfront |") < strings.Index(out, "| bare |") {
		t.Errorf("subject before baseline:\n%s", out)
	}
}

// TestProcCPU: a process's CPU time grows by about what it spins. The
// spin is counted in CPU time (getrusage), not wall time: on a busy
// machine 50 ms of wall time may give this process almost none.
func TestProcCPU(t *testing.T) {
	pid := os.Getpid()
	r0 := rusageCPU(t)
	before, err := procCPU([]int{pid})
	if err != nil {
		t.Fatal(err)
	}
	const spin = 50 * time.Millisecond
	for deadline := time.Now().Add(20 * time.Second); rusageCPU(t)-r0 < spin; {
		if time.Now().After(deadline) {
			t.Fatalf("the process got %v of CPU in 20 s", rusageCPU(t)-r0)
		}
	}
	after, err := procCPU([]int{pid})
	if err != nil {
		t.Fatal(err)
	}
	used := rusageCPU(t) - r0
	// Both count the same kernel clock; a tick (10 ms) of slack for the
	// /proc/PID/stat fallback.
	if d := after - before; d < spin-clockTick || d > used+clockTick {
		t.Errorf("procCPU grew by %v while the process spun %v and used %v of CPU", d, spin, used)
	}
}

// rusageCPU is the process's user and system time, as getrusage says.
func rusageCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRateLoad: the requests go at the rate asked, whatever the server
// could take, and a status other than 2xx is an error.
func TestRateLoad(t *testing.T) {
	var hosts = make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hosts <- r.Host:
		default:
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	res, err := RateLoad(context.Background(), RateOptions{URL: srv.URL + "/x", Host: "site.test", Conns: 4, Rate: 1000, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Requests < 250 || res.Requests > 300 || res.Bytes != 5*res.Requests {
		t.Errorf("%+v: want 300 requests at most, about as many answered, 5 bytes each, no error", res)
	}
	if h := <-hosts; h != "site.test" {
		t.Errorf("Host %q, want site.test", h)
	}
	res, _ = RateLoad(context.Background(), RateOptions{URL: srv.URL + "/missing", Conns: 2, Rate: 100, Duration: 50 * time.Millisecond})
	if res.Errors != 2 || res.Requests != 0 || !strings.Contains(res.FirstError, "404") {
		t.Errorf("%+v: want each connection to stop at its 404", res)
	}
}
