// Command rtmpbench is the RTMP benchmark's helper (scripts/bench-rtmp.sh):
//
//	rtmpbench serve -config DIR -addr ADDR      runs openfront's RTMP server alone
//	rtmpbench play -url URL -tcurl URL -n N     runs N cheap players, prints frames received
//
// The players are a few lines over go-rtmp's chunk layer: one goroutine and
// no decoding each, so 200 of them cost far less than 200 ffmpegs.
package main

import (
	"bufio"
	"bytes"
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

	"github.com/yutopp/go-amf0"
	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	"github.com/yutopp/go-rtmp/message"

	"openfront.dev/compiler"
	"openfront.dev/daemon/origin"
	ortmp "openfront.dev/daemon/rtmp"
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
	c, err := net.Dial("tcp", hostport)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
		return 0, fmt.Errorf("handshake: %w", err)
	}
	cs := rtmp.NewChunkStreamer(bufio.NewReaderSize(c, 64<<10), bufio.NewWriter(c), nil)
	command := func(sid uint32, name string, txn int64, args ...any) error {
		var body bytes.Buffer
		enc := amf0.NewEncoder(&body)
		for _, a := range args {
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		return cs.Write(context.Background(), 3, 0, &rtmp.ChunkMessage{StreamID: sid, Message: &message.CommandMessage{
			CommandName: name, TransactionID: txn, Encoding: message.EncodingTypeAMF0, Body: &body}})
	}
	if err := command(0, "connect", 1, map[string]any{"app": app, "tcUrl": tcURL, "flashVer": "LNX 9,0,124,2",
		"capabilities": 15.0, "audioCodecs": 4071.0, "videoCodecs": 252.0, "videoFunction": 1.0}); err != nil {
		return 0, err
	}
	if err := command(0, "createStream", 2, nil); err != nil {
		return 0, err
	}
	frames, playing := 0, false
	var cmsg rtmp.ChunkMessage
	for {
		if _, _, err := cs.Read(&cmsg); err != nil {
			if err == io.EOF || frames > 0 {
				return frames, nil
			}
			return frames, err
		}
		switch m := cmsg.Message.(type) {
		case *message.SetChunkSize:
			cs.PeerState().SetChunkSize(m.ChunkSize)
		case *message.VideoMessage:
			frames++
		case *message.UserCtrl:
			if _, eof := m.Event.(*message.UserCtrlEventStreamEOF); eof && frames > 0 {
				return frames, nil
			}
		case *message.CommandMessage:
			b, _ := io.ReadAll(m.Body)
			switch {
			case m.CommandName == "_result" && m.TransactionID == 2 && !playing:
				// createStream's result: null, stream id
				d := amf0.NewDecoder(bytes.NewReader(b))
				var null any
				var sid float64
				d.Decode(&null)
				d.Decode(&sid)
				if err := command(uint32(sid), "play", 0, nil, stream, -1000.0); err != nil {
					return 0, err
				}
				playing = true
			case m.CommandName == "_error":
				return 0, fmt.Errorf("server error: %q", b)
			case bytes.Contains(b, []byte("NetStream.Play.UnpublishNotify")) && frames > 0:
				return frames, nil
			}
		}
	}
}
