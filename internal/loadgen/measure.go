package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A benchmark run on a shared 2-core machine is only worth keeping when
// nothing else ran meanwhile: Measure counts the CPU the server and the
// load generator used, and what the rest of the machine used ("foreign"),
// and runs again when the latter was too much.

// clockTick is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTick = 10 * time.Millisecond

// Run is one load run's figures.
type Run struct {
	Label    string  `json:"label"`
	Round    int     `json:"round"`
	RPS      float64 `json:"rps"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	// ServerCPU and LoadCPU are cores used on average (1.0: one core busy).
	ServerCPU float64 `json:"serverCPU"`
	LoadCPU   float64 `json:"loadCPU"`
	// Foreign is the cores the rest of the machine used meanwhile.
	Foreign float64 `json:"foreign"`
	// ServerUSPerReq is server CPU per request in microseconds: unlike
	// RPS it holds when the load generator, not the server, is the limit.
	ServerUSPerReq float64 `json:"serverUsPerReq"`
	Tries          int     `json:"tries"`
	Elapsed        float64 `json:"elapsed"`
}

// MeasureOptions say what to run and what to watch.
type MeasureOptions struct {
	Label      string
	Round      int
	Command    []string // the load generator (wrk or edgebench h3load), already pinned
	ServerPIDs []int
	// MaxForeign is the most foreign CPU (cores) a kept run may have seen.
	MaxForeign float64
	Tries      int
}

// Measure runs the load generator until a run sees at most MaxForeign
// foreign CPU, or Tries runs were made (the last is kept and says so).
func Measure(ctx context.Context, o MeasureOptions) (Run, error) {
	var run Run
	for try := 1; try <= max(o.Tries, 1); try++ {
		waitQuiet(ctx, o.MaxForeign, 60*time.Second)
		r, err := measureOnce(ctx, o)
		if err != nil {
			return r, err
		}
		r.Tries = try
		run = r
		if r.Foreign <= o.MaxForeign {
			break
		}
	}
	return run, nil
}

func measureOnce(ctx context.Context, o MeasureOptions) (Run, error) {
	r := Run{Label: o.Label, Round: o.Round}
	srv0, err := procCPU(o.ServerPIDs)
	if err != nil {
		return r, err
	}
	busy0, err := machineBusyTicks()
	if err != nil {
		return r, err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, o.Command[0], o.Command[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("%s: %w", strings.Join(o.Command, " "), err)
	}
	elapsed := time.Since(start)
	srv1, err := procCPU(o.ServerPIDs)
	if err != nil {
		return r, err
	}
	busy1, err := machineBusyTicks()
	if err != nil {
		return r, err
	}
	load := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	srv := srv1 - srv0
	busy := time.Duration(busy1-busy0) * clockTick
	r.Elapsed = elapsed.Seconds()
	r.ServerCPU = srv.Seconds() / elapsed.Seconds()
	r.LoadCPU = load.Seconds() / elapsed.Seconds()
	r.Foreign = max(0, (busy-srv-load).Seconds()/elapsed.Seconds())
	lr, err := ParseLoadOutput(out.String())
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s", o.Label, err, out.String())
	}
	r.RPS, r.Requests, r.Errors = lr.RPS, lr.Requests, lr.Errors
	if r.Requests > 0 {
		r.ServerUSPerReq = float64(srv.Microseconds()) / float64(r.Requests)
	}
	return r, nil
}

// waitQuiet waits, up to limit, for a second in which the machine's CPU
// use stays under maxBusy cores.
func waitQuiet(ctx context.Context, maxBusy float64, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b0, err := machineBusyTicks()
		if err != nil {
			return
		}
		time.Sleep(time.Second)
		b1, err := machineBusyTicks()
		if err != nil || float64(b1-b0)*clockTick.Seconds() <= maxBusy {
			return
		}
	}
}

// machineBusyTicks is the CPU time all cores spent busy (not idle or
// waiting on I/O), from the first line of /proc/stat.
func machineBusyTicks() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseProcStat(b)
}

func parseProcStat(b []byte) (int64, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("unexpected /proc/stat")
	}
	var busy int64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return busy, nil
}

// procCPU is the CPU time the processes used so far: the nanoseconds
// each thread ran (/proc/PID/task/TID/schedstat), where utime and stime
// count 10 ms ticks, 2 % of a second's run at half a core. Without
// schedstat it falls back to the ticks.
func procCPU(pids []int) (time.Duration, error) {
	if !haveSchedstat {
		ticks, err := procTicks(pids)
		return time.Duration(ticks) * clockTick, err
	}
	var sum time.Duration
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/task"
		tasks, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		for _, t := range tasks {
			b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
			if errors.Is(err, os.ErrNotExist) {
				continue // a thread that ended meanwhile
			}
			if err != nil {
				return 0, err
			}
			f, _, _ := bytes.Cut(b, []byte(" "))
			ns, err := strconv.ParseInt(string(f), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s/%s/schedstat: %w", dir, t.Name(), err)
			}
			sum += time.Duration(ns)
		}
	}
	return sum, nil
}

var haveSchedstat = func() bool {
	_, err := os.Stat("/proc/self/schedstat")
	return err == nil
}()

// procTicks sums utime and stime of the processes (all their threads).
func procTicks(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return 0, err
		}
		n, err := parsePIDStat(b)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", pid, err)
		}
		sum += n
	}
	return sum, nil
}

func parsePIDStat(b []byte) (int64, error) {
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return u + s, nil
}

// LoadOutput is what a load generator printed.
type LoadOutput struct {
	RPS      float64
	Requests int64
	Errors   int64
}

var (
	wrkRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkRequests = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in`)
	wrkNon2xx   = regexp.MustCompile(`(?m)Non-2xx or 3xx responses:\s+([0-9]+)`)
	wrkSocket   = regexp.MustCompile(`(?m)Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
	h3Line      = regexp.MustCompile(`(?m)^rps=([0-9.]+) requests=([0-9]+) errors=([0-9]+)`)
	h2loadRPS   = regexp.MustCompile(`(?m)^finished in [0-9.]+m?s, ([0-9.]+) req/s`)
	// failed counts every request that did not succeed: errored ones
	// (timed-out ones among them) and non-2xx/3xx statuses (h2load(1)).
	h2loadRequests = regexp.MustCompile(`(?m)^requests: [0-9]+ total, [0-9]+ started, ([0-9]+) done, [0-9]+ succeeded, ([0-9]+) failed, [0-9]+ errored, [0-9]+ timeout`)
)

// ParseLoadOutput reads wrk's or h2load's report, or edgebench h3load's line.
func ParseLoadOutput(s string) (LoadOutput, error) {
	var o LoadOutput
	if m, n := h2loadRPS.FindStringSubmatch(s), h2loadRequests.FindStringSubmatch(s); m != nil && n != nil {
		o.RPS, _ = strconv.ParseFloat(m[1], 64)
		o.Requests, _ = strconv.ParseInt(n[1], 10, 64)
		o.Errors, _ = strconv.ParseInt(n[2], 10, 64)
		return o, nil
	}
	if m := h3Line.FindStringSubmatch(s); m != nil {
		o.RPS, _ = strconv.ParseFloat(m[1], 64)
		o.Requests, _ = strconv.ParseInt(m[2], 10, 64)
		o.Errors, _ = strconv.ParseInt(m[3], 10, 64)
		return o, nil
	}
	m := wrkRPS.FindStringSubmatch(s)
	n := wrkRequests.FindStringSubmatch(s)
	if m == nil || n == nil {
		return o, errors.New("no Requests/sec in the load generator's output")
	}
	o.RPS, _ = strconv.ParseFloat(m[1], 64)
	o.Requests, _ = strconv.ParseInt(n[1], 10, 64)
	if e := wrkNon2xx.FindStringSubmatch(s); e != nil {
		k, _ := strconv.ParseInt(e[1], 10, 64)
		o.Errors += k
	}
	if e := wrkSocket.FindStringSubmatch(s); e != nil {
		for _, v := range e[1:] {
			k, _ := strconv.ParseInt(v, 10, 64)
			o.Errors += k
		}
	}
	return o, nil
}

// ReadRuns reads the JSON lines Measure's runs were written as.
func ReadRuns(path string) ([]Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []Run
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Run
		if err := jsonUnmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}
