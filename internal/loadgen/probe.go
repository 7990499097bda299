package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BurstResult is what n simultaneous requests for one key got.
type BurstResult struct {
	Requests int
	// Statuses and XCache count the answers by status and X-Cache value.
	Statuses map[int]int
	XCache   map[string]int
	// Bodies counts distinct body digests: 1 when everyone got the same bytes.
	Bodies int
	Errors int
}

// Burst sends n GETs for url at once, each on its own connection: the
// connections are opened and warmed (warmURL, a cached object) first, then
// every request is released by one channel close.
func Burst(ctx context.Context, rawURL, warmURL string, n int) (BurstResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	// Warm n connections in parallel so n idle ones sit in the pool.
	var wg sync.WaitGroup
	var warmErr atomic.Value
	for range n {
		wg.Go(func() {
			if _, _, _, err := get(ctx, client, warmURL); err != nil {
				warmErr.Store(err)
			}
		})
	}
	wg.Wait()
	if err, ok := warmErr.Load().(error); ok {
		return BurstResult{}, fmt.Errorf("warming connections: %w", err)
	}
	type answer struct {
		status int
		xcache string
		digest [32]byte
		err    error
	}
	answers := make([]answer, n)
	release := make(chan struct{})
	var ready sync.WaitGroup
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-release
			a := &answers[i]
			var body []byte
			a.status, a.xcache, body, a.err = get(ctx, client, rawURL)
			a.digest = sha256.Sum256(body)
		})
	}
	ready.Wait()
	close(release)
	wg.Wait()
	res := BurstResult{Requests: n, Statuses: map[int]int{}, XCache: map[string]int{}}
	digests := map[[32]byte]bool{}
	for _, a := range answers {
		if a.err != nil {
			res.Errors++
			continue
		}
		res.Statuses[a.status]++
		res.XCache[a.xcache]++
		digests[a.digest] = true
	}
	res.Bodies = len(digests)
	return res, nil
}

func get(ctx context.Context, c *http.Client, u string) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Cache"), body, err
}

// OriginCount asks an Origin how many requests it got for path.
func OriginCount(ctx context.Context, origin, path string) (OriginStats, error) {
	var st OriginStats
	_, _, body, err := get(ctx, http.DefaultClient, origin+"/_stats?path="+url.QueryEscape(path))
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(body, &st)
	return st, err
}

// FillResult is what requesting many distinct objects did.
type FillResult struct {
	Requests, Errors int64
	Bytes            int64
	Elapsed          time.Duration
	// PeakRSS is the highest VmRSS sampled while filling, PeakFiles the
	// highest sum of unlinked file sizes, PeakTotal of the two together
	// (bytes).
	PeakRSS, PeakFiles, PeakTotal int64
}

// Fill requests base+"/obj/"+size+"/"+prefix+I for I in [0, n), conc at a
// time, and samples the resident size of process pid (0: none) meanwhile.
func Fill(ctx context.Context, base, size, prefix string, n, conc, pid int) (FillResult, error) {
	want, err := ParseSize(size)
	if err != nil {
		return FillResult{}, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	var res FillResult
	var next, errs, reqs, bytes atomic.Int64
	var peakRSS, peakFiles, peakTotal int64 // the sampler's: read after it stopped
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if pid > 0 {
				if m, err := ReadMem(pid); err == nil {
					peakRSS, peakFiles, peakTotal = max(peakRSS, m.RSS), max(peakFiles, m.Files), max(peakTotal, m.RSS+m.Files)
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				status, _, body, err := get(ctx, client, base+"/obj/"+size+"/"+prefix+strconv.FormatInt(i, 10))
				if err != nil || status != http.StatusOK || len(body) != want {
					errs.Add(1)
					continue
				}
				reqs.Add(1)
				bytes.Add(int64(len(body)))
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	close(stop)
	<-sampled
	res.Requests, res.Errors, res.Bytes = reqs.Load(), errs.Load(), bytes.Load()
	res.PeakRSS, res.PeakFiles, res.PeakTotal = peakRSS, peakFiles, peakTotal
	return res, nil
}

// Mem is a process's resident size now and its high-water mark, and the
// bytes of the unlinked files it holds open (memfds and O_TMPFILEs: where
// openfront keeps large cached bodies), which RSS does not count, in bytes.
type Mem struct {
	RSS, HWM, Files int64
}

// ReadMem reads VmRSS and VmHWM from /proc/PID/status and sums the sizes
// of the memfds and unlinked files among /proc/PID/fd.
func ReadMem(pid int) (Mem, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/status")
	if err != nil {
		return Mem{}, err
	}
	m, err := parseStatus(b)
	if err != nil {
		return m, err
	}
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return m, err
	}
	for _, fd := range fds {
		p := dir + "/fd/" + fd.Name()
		target, err := os.Readlink(p)
		if err != nil || !(strings.HasPrefix(target, "/memfd:") || strings.HasSuffix(target, " (deleted)")) {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			m.Files += st.Size()
		}
	}
	return m, nil
}

func parseStatus(b []byte) (Mem, error) {
	var m Mem
	var found int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("no VmRSS/VmHWM in status")
	}
	return m, nil
}
