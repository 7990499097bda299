// openfront: this file is openfront's, not upstream's.

package rtmp

import (
	"bufio"
	"bytes"
	"net"
	"testing"
)

type buffersTo struct{ w *bytes.Buffer }

func (b buffersTo) WriteBuffers(v *net.Buffers) (int64, error) { return v.WriteTo(b.w) }

// testBatches are messages of every size class: empty, small (copied
// beside their header), one chunk, several chunks, on two chunk streams.
func testBatches() [][]RawMessage {
	body := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		return b
	}
	var batches [][]RawMessage
	ts := uint32(0)
	for _, sizes := range [][]int{{0, 10}, {300, 5000, 1023, 1024}, {20000, 4096, 4097}, {9000}} {
		var batch []RawMessage
		for i, n := range sizes {
			ts += 33
			m := RawMessage{ChunkStreamID: 6, StreamID: 1, TypeID: 9, Timestamp: ts, Body: body(n)}
			if i%2 == 1 {
				m.ChunkStreamID, m.TypeID = 4, 8
			}
			batch = append(batch, m)
		}
		batches = append(batches, batch)
	}
	return batches
}

// TestWriteRawVector: with a BuffersWriter, WriteRaw sends exactly the bytes
// the buffered path sends, interleaved with ordinary writes in order.
func TestWriteRawVector(t *testing.T) {
	var plain, vec bytes.Buffer
	newStreamer := func(out *bytes.Buffer, vector bool) *ChunkStreamer {
		cs := NewChunkStreamer(nil, bufio.NewWriterSize(out, 1024), nil)
		cs.SelfState().SetChunkSize(4096)
		if vector {
			cs.vw = buffersTo{out}
		}
		return cs
	}
	a, b := newStreamer(&plain, false), newStreamer(&vec, true)
	for _, batch := range testBatches() {
		for _, cs := range []*ChunkStreamer{a, b} {
			if err := cs.WriteRaw(batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	if plain.Len() == 0 || !bytes.Equal(plain.Bytes(), vec.Bytes()) {
		t.Fatalf("vector output (%d bytes) differs from buffered output (%d bytes)", vec.Len(), plain.Len())
	}
}
