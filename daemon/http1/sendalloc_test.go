//go:build linux && !race

package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestFileAnswerAllocates: an answer sent with sendfile allocates no more
// than a small one written from memory: the connection's sender is made
// once, not per answer.
func TestFileAnswerAllocates(t *testing.T) {
	const fileLen, memLen = 100 << 10, 1 << 10
	name := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(name, make([]byte, fileLen), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr := io.NewSectionReader(f, 0, fileLen)
	body := make([]byte, memLen)
	fileSize, memSize := []string{strconv.Itoa(fileLen)}, []string{strconv.Itoa(memLen)}
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/file" {
			w.Header()["Content-Length"] = fileSize
			sr.Seek(0, io.SeekStart)
			w.(io.ReaderFrom).ReadFrom(sr)
			return
		}
		w.Header()["Content-Length"] = memSize
		w.Write(body)
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 8<<10)
	get := func(path string, n int) func() {
		req := []byte("GET " + path + " HTTP/1.1\r\nHost: a.test\r\n\r\n")
		return func() {
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			if err := skipAnswer(br, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	getFile, getMem := get("/file", fileLen), get("/memory", memLen)
	getFile() // the connection's sender, pooled buffers
	getMem()
	file := testing.AllocsPerRun(100, getFile)
	mem := testing.AllocsPerRun(100, getMem)
	if file > mem {
		t.Errorf("a sendfile answer allocates %.1f times, one from memory %.1f", file, mem)
	}
}
