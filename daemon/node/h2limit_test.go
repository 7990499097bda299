package node

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestH2HeaderLimitPerStream: over HTTP/2, a request whose header block
// is past the 20 KiB limit gets CloudFront's 413 on its own stream, however the
// client cuts the block into frames (browsers and nghttp2 send
// CONTINUATIONs of 16 KiB), and a request on another stream of the same
// connection is served.
func TestH2HeaderLimitPerStream(t *testing.T) {
	e := start(t)
	for _, tt := range []struct {
		fields, frame int // 1000-byte fields, the largest frame
		want          string
	}{
		{10, 16384, "200"},
		{30, 1 << 20, "413"},
		{30, 16384, "413"},
		{30, 4096, "413"},
		{60, 16384, "413"},
	} {
		t.Run(fmt.Sprintf("%d KB in frames of %d", tt.fields, tt.frame), func(t *testing.T) {
			got := h2Exchange(t, e.node.Addr("https").String(), tt.fields, tt.frame)
			slices.Sort(got) // the streams are answered in any order
			if want := []string{"stream 1: " + tt.want, "stream 3: 200"}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("frames %q, want %q", got, want)
			}
		})
	}
}

// h2Exchange sends, on one HTTP/2 connection, a GET of n 1000-byte fields
// on stream 1 in frames of at most frame bytes, then a plain GET on
// stream 3, and returns the answers' statuses, a GOAWAY, a RST_STREAM or
// the read error, as they come.
func h2Exchange(t *testing.T, addr string, n, frame int) []string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "site.test", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	block := func(extra int) []byte {
		buf.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "site.test"}, {":path", "/api/hello"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		for i := range extra {
			enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-big-%d", i), Value: strings.Repeat("a", 1000)})
		}
		return bytes.Clone(buf.Bytes())
	}
	b := block(n)
	for first := true; len(b) > 0; first = false {
		k := min(frame, len(b))
		if first {
			err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:k], EndStream: true, EndHeaders: k == len(b)})
		} else {
			err = fr.WriteContinuation(1, k == len(b), b[:k])
		}
		if err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(0), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	dec := hpack.NewDecoder(4096, nil)
	var got []string
	for ended := 0; ended < 2; {
		f, err := fr.ReadFrame()
		if err != nil {
			return append(got, err.Error())
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil || len(fields) == 0 {
				t.Fatalf("stream %d: header block %v: %v", f.StreamID, fields, err)
			}
			got = append(got, fmt.Sprintf("stream %d: %s", f.StreamID, fields[0].Value))
		case *http2.GoAwayFrame:
			return append(got, "GOAWAY "+f.ErrCode.String())
		case *http2.RSTStreamFrame:
			got = append(got, fmt.Sprintf("RST_STREAM %d %v", f.StreamID, f.ErrCode))
			ended++
		}
		if h, ok := f.(interface{ StreamEnded() bool }); ok && h.StreamEnded() {
			ended++
		}
	}
	return got
}
