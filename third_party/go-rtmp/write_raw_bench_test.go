package rtmp

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// BenchmarkWriteRaw writes what a live player gets in 100 ms of a 2 Mbit/s
// stream (3 video frames, 5 audio frames) in one batch: the fan-out path's
// user-space cost per player.
func BenchmarkWriteRaw(b *testing.B) {
	bw := bufio.NewWriterSize(io.Discard, 32<<10)
	cs := NewChunkStreamer(nil, bw, nil)
	cs.SelfState().SetChunkSize(4096)
	video, audio := make([]byte, 8000), make([]byte, 300)
	var batch []RawMessage
	for i := 0; i < 8; i++ {
		m := RawMessage{ChunkStreamID: 6, StreamID: 1, TypeID: 9, Timestamp: uint32(i * 33), Body: video}
		if i%3 != 0 {
			m.ChunkStreamID, m.TypeID, m.Body = 4, 8, audio
		}
		batch = append(batch, m)
	}
	for _, vector := range []bool{false, true} {
		name := "buffered"
		if vector {
			name = "vector"
			cs.vw = buffersTo{new(bytes.Buffer)}
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(3*8000 + 5*300)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					batch[j].Timestamp += 100
				}
				if bw, ok := cs.vw.(buffersTo); ok {
					bw.w.Reset()
				}
				if err := cs.WriteRaw(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
