// Package loadgen holds the parts of the edge benchmark
// (scripts/bench-edge.sh, docs/benchmarks.md): a test origin, a bare Go
// server that writes the same objects from memory (the ceiling for a Go
// server), an HTTP/3 load client, and the coalescing and memory probes.
package loadgen

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Objects are addressed /obj/SIZE/NAME (SIZE: 1k, 100k, 4096, ...); the
// origin also answers /slow/MS/SIZE/NAME after MS milliseconds, so that
// concurrent misses overlap. The body depends on the size only: the bare
// server and every cache send byte-identical bodies.

// ParseSize reads 1k, 100k, 2m or a byte count.
func ParseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = s[:len(s)-1], 1<<10
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], 1<<20
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 64<<20/mult {
		return 0, fmt.Errorf("bad object size %q", s)
	}
	return n * mult, nil
}

// Body is the object of n bytes: a printable pattern, so a short read or a
// shifted copy shows.
func Body(n int) []byte {
	const pat = "openfront edge benchmark object 0123456789abcdefghijklmnopqrstuvwxyz\n"
	return bytes.Repeat([]byte(pat), n/len(pat)+1)[:n]
}

// ObjectHeader is what the origin sends with every object: cacheable for a
// day, validators, a type compress: true would leave alone.
func ObjectHeader(n int) http.Header {
	return http.Header{
		"Content-Type":   {"application/octet-stream"},
		"Content-Length": {strconv.Itoa(n)},
		"Cache-Control":  {"public, max-age=86400"},
		"Etag":           {`"obj-` + strconv.Itoa(n) + `"`},
		"Last-Modified":  {"Mon, 01 Jan 2024 00:00:00 GMT"},
	}
}

// objectPath splits /obj/SIZE/NAME or /slow/MS/SIZE/NAME into the size
// segment and the delay in milliseconds.
func objectPath(p string) (size string, delayMS int, ok bool) {
	if rest, found := strings.CutPrefix(p, "/slow/"); found {
		ms, rest, found := strings.Cut(rest, "/")
		d, err := strconv.Atoi(ms)
		if !found || err != nil || d < 0 {
			return "", 0, false
		}
		if size, _, found = strings.Cut(rest, "/"); !found {
			return "", 0, false
		}
		return size, d, true
	}
	rest, found := strings.CutPrefix(p, "/obj/")
	if !found {
		return "", 0, false
	}
	if size, _, found = strings.Cut(rest, "/"); !found {
		return "", 0, false
	}
	return size, 0, true
}
