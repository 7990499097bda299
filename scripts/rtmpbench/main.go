// Command rtmpbench is the RTMP benchmark's helper (scripts/bench-rtmp.sh):
//
//	rtmpbench serve -config DIR -addr ADDR      runs openfront's RTMP server alone
//	rtmpbench play -url URL -tcurl URL -n N     runs N cheap players, prints frames received
//
// The players are a few lines over go-rtmp's chunk layer: one goroutine and
// no decoding each, so 200 of them cost far less than 200 ffmpegs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/yutopp/go-rtmp/message"

	"openfront.dev/compiler"
	"openfront.dev/daemon/origin"
	ortmp "openfront.dev/daemon/rtmp"
	"openfront.dev/daemon/rtmp/rtmptest"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: rtmpbench serve|play ...")
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "play":
		play(os.Args[2:])
	default:
		log.Fatalf("unknown mode %q", os.Args[1])
	}
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("config", "", "config directory")
	addr := fs.String("addr", "127.0.0.1:1935", "listen address")
	profile := fs.String("cpuprofile", "", "write a CPU profile here until the end")
	flush := fs.Duration("flush", 0, "Config.FlushInterval (0: the default)")
	fs.Parse(args)
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	res, err := compiler.New(*dir).Compile()
	if err != nil {
		log.Fatal(err)
	}
	pool := origin.NewPool(*dir)
	srv := ortmp.NewServer(ortmp.Config{Origins: pool, Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), FlushInterval: *flush})
	srv.SetTable(res.Table)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil {
		log.Print(err)
	}
}

func play(args []string) {
	fs := flag.NewFlagSet("play", flag.ExitOnError)
	url := fs.String("url", "", "rtmp://HOST:PORT/APP/STREAM")
	tcURL := fs.String("tcurl", "", "tcUrl to send (default: from -url)")
	n := fs.Int("n", 1, "players")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after")
	fs.Parse(args)
	rest := strings.TrimPrefix(*url, "rtmp://")
	hostport, path, _ := strings.Cut(rest, "/")
	app, stream, _ := strings.Cut(path, "/")
	if *tcURL == "" {
		*tcURL = "rtmp://" + hostport + "/" + app
	}
	frames := make([]int, *n)
	errs := make([]string, *n)
	var wg sync.WaitGroup
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			frames[i], err = player(hostport, app, *tcURL, stream, *timeout)
			if err != nil {
				errs[i] = err.Error()
			}
		}()
		time.Sleep(2 * time.Millisecond) // don't trip the listen backlog
	}
	fmt.Fprintf(os.Stderr, "rtmpbench: %d players connected\n", *n)
	wg.Wait()
	sorted := append([]int(nil), frames...)
	sort.Ints(sorted)
	json.NewEncoder(os.Stdout).Encode(map[string]any{"players": *n, "min": sorted[0], "median": sorted[len(sorted)/2],
		"max": sorted[len(sorted)-1], "frames": frames, "errors": errs})
}

// player plays one stream and returns the video messages received, until
// the publisher stops (UnpublishNotify, StreamEOF or the connection ends).
func player(hostport, app, tcURL, stream string, timeout time.Duration) (int, error) {
	p, err := rtmptest.Dial(hostport, app, tcURL, timeout)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if err := p.Play(stream, -1000); err != nil {
		return 0, err
	}
	frames := 0
	for {
		m, _, err := p.Next()
		if err != nil {
			if err == io.EOF || frames > 0 {
				return frames, nil
			}
			return frames, err
		}
		switch m := m.(type) {
		case *message.VideoMessage:
			frames++
		case *message.UserCtrl:
			if _, eof := m.Event.(*message.UserCtrlEventStreamEOF); eof && frames > 0 {
				return frames, nil
			}
		}
		if rtmptest.Status(m) == "NetStream.Play.UnpublishNotify" && frames > 0 {
			return frames, nil
		}
	}
}
