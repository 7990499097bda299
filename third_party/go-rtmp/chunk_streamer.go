//
// Copyright (c) 2018- yutopp (yutopp@gmail.com)
//
// Distributed under the Boost Software License, Version 1.0. (See accompanying
// file LICENSE_1_0.txt or copy at  https://www.boost.org/LICENSE_1_0.txt)
//

package rtmp

import (
	"bytes"
	"context"
	"io"
	"math"
	"sync"

	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"

	"github.com/yutopp/go-rtmp/message"
)

const ctrlMsgChunkStreamID = 2

type ChunkMessage struct {
	StreamID uint32
	Message  message.Message
}

type ChunkStreamer struct {
	r *ChunkStreamerReader
	w *ChunkStreamerWriter

	readers map[int]*ChunkStreamReader
	writers map[int]*ChunkStreamWriter
	mu      sync.Mutex

	// openfront: writes are synchronous, serialized by wmu, which also
	// guards writers and hdr (chunk header scratch: no allocation per chunk).
	wmu       sync.Mutex
	hdr       [15]byte
	vw        BuffersWriter // nil: WriteRaw copies into the write buffer
	vec       vectorSink
	encBuf    bytes.Buffer
	closeOnce sync.Once

	msgDec *message.Decoder
	msgEnc *message.Encoder

	selfState *StreamControlState
	peerState *StreamControlState

	err  error
	done chan struct{}

	controlStreamWriter func(chunkStreamID int, timestamp uint32, msg message.Message) error

	cacheBuffer []byte
	config      *StreamControlStateConfig
	logger      logrus.FieldLogger

	// openfront: what a peer may make the reader hold. unfinished counts the
	// bytes of messages begun on any chunk stream and not yet complete;
	// lastRead is the message handed out last, whose buffer goes once the
	// handler is done with it (see releaseReadBuffer).
	unfinished int
	lastRead   *ChunkStreamReader
}

// openfront: keptReadBuffer is the largest buffer a chunk stream keeps
// between messages. Upstream kept every chunk stream's largest message.
const keptReadBuffer = 64 << 10

// openfront: releaseReadBuffer drops the buffer of the message handed out
// last if it is large: 32 chunk streams that each carried a 4 MiB message
// once would otherwise hold up to 8 MiB each for the connection's life.
func (cs *ChunkStreamer) releaseReadBuffer() {
	if r := cs.lastRead; r != nil && r.buf.Cap() > keptReadBuffer {
		r.buf = bytes.Buffer{}
	}
	cs.lastRead = nil
}

func NewChunkStreamer(r io.Reader, w io.Writer, config *StreamControlStateConfig) *ChunkStreamer {
	if config == nil {
		config = defaultStreamControlStateConfig
	}

	cs := &ChunkStreamer{
		r: &ChunkStreamerReader{
			reader: r,
		},
		w: &ChunkStreamerWriter{
			writer: w,
		},

		readers: make(map[int]*ChunkStreamReader),
		writers: make(map[int]*ChunkStreamWriter),

		msgDec: message.NewDecoder(nil),
		msgEnc: message.NewEncoder(nil),

		selfState: NewStreamControlState(config),
		peerState: NewStreamControlState(config),

		done: make(chan struct{}),

		cacheBuffer: make([]byte, 64*1024), // cache 64KB
		config:      config,
		logger:      logrus.StandardLogger(),
	}
	return cs
}

func (cs *ChunkStreamer) Read(cmsg *ChunkMessage) (int, uint32, error) {
	reader, err := cs.NewChunkReader()
	if err != nil {
		return 0, 0, err
	}

	// openfront: bound what go-amf0 allocates and how deep it recurses.
	if t := message.TypeID(reader.messageTypeID); t == message.TypeIDCommandMessageAMF0 || t == message.TypeIDDataMessageAMF0 {
		if err := message.CheckAMF0(reader.buf.Bytes()); err != nil {
			return 0, 0, err
		}
	}

	cs.msgDec.Reset(reader)
	if err := cs.msgDec.Decode(message.TypeID(reader.messageTypeID), &cmsg.Message); err != nil {
		return 0, 0, err
	}

	cmsg.StreamID = reader.messageStreamID

	return reader.basicHeader.chunkStreamID, uint32(reader.timestamp), nil
}

// openfront: Write encodes and writes the message synchronously under the
// write lock. Upstream queued chunks to a scheduler goroutine but encoded with
// one shared encoder outside any lock, so the read loop (acks, command
// replies) racing with another writer corrupted messages (go test -race).
func (cs *ChunkStreamer) Write(
	ctx context.Context,
	chunkStreamID int,
	timestamp uint32,
	cmsg *ChunkMessage,
) error {
	cs.wmu.Lock()
	defer cs.wmu.Unlock()

	cs.encBuf.Reset()
	cs.msgEnc.Reset(&cs.encBuf)
	if err := cs.msgEnc.Encode(cmsg.Message); err != nil {
		return err
	}
	if err := cs.writeMessage(bufferedSink{cs.w}, chunkStreamID, cmsg.StreamID, byte(cmsg.Message.TypeID()), timestamp, cs.encBuf.Bytes()); err != nil {
		return err
	}
	return cs.w.Flush()
}

// openfront: RawMessage is a message whose body is already encoded, such as
// an audio or video tag body shared by many connections.
type RawMessage struct {
	ChunkStreamID int
	StreamID      uint32
	TypeID        byte
	Timestamp     uint32
	Body          []byte
}

// openfront: WriteRaw writes messages in order straight from their bodies
// (no copy per connection) and flushes once: one write syscall for a batch.
// With a BuffersWriter connection the bodies are not copied (chunk_vector.go).
func (cs *ChunkStreamer) WriteRaw(msgs []RawMessage) error {
	cs.wmu.Lock()
	defer cs.wmu.Unlock()

	var sink chunkSink = bufferedSink{cs.w}
	if cs.vw != nil {
		if err := cs.w.Flush(); err != nil { // keep the order of earlier writes
			return err
		}
		sink = &cs.vec
	}
	for i := range msgs {
		m := &msgs[i]
		if err := cs.writeMessage(sink, m.ChunkStreamID, m.StreamID, m.TypeID, m.Timestamp, m.Body); err != nil {
			return err
		}
	}
	if cs.vw != nil {
		return cs.vec.flush(cs.vw)
	}
	return cs.w.Flush()
}

// openfront: writeMessage writes one message as chunks to sink; the caller
// holds wmu.
func (cs *ChunkStreamer) writeMessage(sink chunkSink, chunkStreamID int, streamID uint32, typeID byte, timestamp uint32, body []byte) error {
	writer, err := cs.prepareChunkWriter(chunkStreamID)
	if err != nil {
		return errors.Wrapf(err, "Failed to prepare chunk writer")
	}
	writer.timestamp = timestamp
	writer.messageLength = uint32(len(body))
	writer.messageTypeID = typeID
	writer.messageStreamID = streamID
	writer.newChunk = true

	for first := true; first || len(body) > 0; first = false {
		cs.updateWriterHeader(writer)
		n := len(body)
		if uint32(n) > cs.selfState.chunkSize {
			n = int(cs.selfState.chunkSize)
		}
		if err := encodeChunkBasicHeader(sink, cs.hdr[:], &writer.basicHeader); err != nil {
			return err
		}
		if err := encodeChunkMessageHeader(sink, cs.hdr[:], writer.basicHeader.fmt, &writer.messageHeader); err != nil {
			return err
		}
		if err := sink.body(body[:n]); err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}

func (cs *ChunkStreamer) NewChunkReader() (*ChunkStreamReader, error) {
	cs.releaseReadBuffer() // its handler has returned: nothing reads it now
again:
	reader, err := cs.readChunk()
	if err != nil {
		return nil, err
	}
	if cs.r.FragmentReadBytes() >= uint32(cs.peerState.ackWindowSize/2) { // TODO: fix size
		if err := cs.sendAck(cs.r.TotalReadBytes()); err != nil {
			return nil, err
		}
		cs.r.ResetFragmentReadBytes()
	}

	if !reader.completed {
		goto again
	}
	cs.lastRead = reader
	return reader, nil
}

func (cs *ChunkStreamer) SelfState() *StreamControlState {
	return cs.selfState
}

func (cs *ChunkStreamer) PeerState() *StreamControlState {
	return cs.peerState
}

func (cs *ChunkStreamer) Done() <-chan struct{} {
	return cs.done
}

func (cs *ChunkStreamer) Err() error {
	return cs.err
}

// openfront: Close ends the streamer; there is no scheduler goroutine to stop.
func (cs *ChunkStreamer) Close() error {
	cs.closeOnce.Do(func() { close(cs.done) })
	return nil
}

// returns nil reader when chunk is fragmented.
func (cs *ChunkStreamer) readChunk() (*ChunkStreamReader, error) {
	var bh chunkBasicHeader
	if err := decodeChunkBasicHeader(cs.r, cs.cacheBuffer, &bh); err != nil {
		return nil, err
	}
	//cs.logger.Debugf("(READ) BasicHeader = %+v", bh)

	reader, err := cs.prepareChunkReader(bh.chunkStreamID)
	if err != nil {
		return nil, errors.Wrapf(err, "Failed to prepare chunk reader")
	}

	// openfront: a type 3 chunk repeats the extended timestamp of the chunk
	// stream's last type 0-2 header; the decoder needs to know whether it had one.
	mh := chunkMessageHeader{extended: reader.messageHeader.extended}
	if err := decodeChunkMessageHeader(cs.r, bh.fmt, cs.cacheBuffer, &mh); err != nil {
		return nil, err
	}
	//cs.logger.Debugf("(READ) MessageHeader = %+v", mh)
	if reader.completed {
		reader.buf.Reset()
		reader.completed = false
	}

	reader.basicHeader = bh
	reader.messageHeader = mh

	switch bh.fmt {
	case 0:
		reader.timestamp = mh.timestamp
		reader.timestampDelta = 0 // reset
		reader.messageLength = mh.messageLength
		reader.messageTypeID = mh.messageTypeID
		reader.messageStreamID = mh.messageStreamID

	case 1:
		reader.timestampDelta = mh.timestampDelta
		reader.messageLength = mh.messageLength
		reader.messageTypeID = mh.messageTypeID

	case 2:
		reader.timestampDelta = mh.timestampDelta

	case 3:
		// DO NOTHING

	default:
		panic("unsupported chunk") // TODO: fix
	}

	//cs.logger.Debugf("(READ) MessageLength = %d, Current = %d", reader.messageLength, reader.buf.Len())

	// openfront: bound messages (upstream never checked MaxMessageSize) and
	// turn a header that shrinks a message mid-way into an error, not a panic.
	if reader.messageLength > cs.config.MaxMessageSize {
		return nil, errors.Errorf("Message length %d exceeds the limit %d", reader.messageLength, cs.config.MaxMessageSize)
	}
	expectLen := int(reader.messageLength) - reader.buf.Len()
	if expectLen < 0 || expectLen == 0 && reader.messageLength != 0 {
		return nil, errors.Errorf("Invalid chunk: message length %d, %d bytes already read", reader.messageLength, reader.buf.Len())
	}

	if uint32(expectLen) > cs.peerState.chunkSize {
		expectLen = int(cs.peerState.chunkSize)
	}
	//cs.logger.Debugf("(READ) Length = %d", expectLen)

	// openfront: messages in progress on all chunk streams together hold at
	// most MaxMessageSize: upstream let a peer hold that on every chunk
	// stream (32 unfinished 4 MiB messages: 128 MiB for one connection).
	if cs.unfinished+expectLen > int(cs.config.MaxMessageSize) {
		return nil, errors.Errorf("Unfinished messages would hold %d bytes, over the limit %d", cs.unfinished+expectLen, cs.config.MaxMessageSize)
	}

	lr := io.LimitReader(cs.r, int64(expectLen))
	if _, err := io.CopyBuffer(&reader.buf, lr, cs.cacheBuffer); err != nil {
		return nil, err
	}
	//cs.logger.Debugf("(READ) Buffer: %+v", reader.buf.Bytes())

	if int(reader.messageLength)-reader.buf.Len() != 0 {
		// fragmented
		cs.unfinished += expectLen
		return reader, nil
	}
	cs.unfinished -= reader.buf.Len() - expectLen // openfront: complete now

	// read completed, update timestamp
	reader.timestamp += reader.timestampDelta
	reader.completed = true

	return reader, nil
}

func (cs *ChunkStreamer) updateWriterHeader(writer *ChunkStreamWriter) {
	fmt := byte(2) // default: only timestamp delta
	if writer.messageHeader.messageLength != writer.messageLength ||
		writer.messageTypeID != writer.messageHeader.messageTypeID {
		// header or type id is updated, change fmt to 1 to notify difference and update state
		writer.messageHeader.messageLength = writer.messageLength
		writer.messageHeader.messageTypeID = writer.messageTypeID
		fmt = 1
	}
	if writer.timestamp != writer.messageHeader.timestamp || writer.newChunk {
		if writer.timestamp >= writer.messageHeader.timestamp {
			writer.timestampDelta = writer.timestamp - writer.messageHeader.timestamp
		} else {
			// timestamp is reversed, clear timestamp data
			fmt = 0
			writer.timestampDelta = 0
		}
	}
	isNew := writer.newChunk // openfront
	writer.newChunk = false
	if writer.timestampDelta == writer.messageHeader.timestampDelta && fmt == 2 {
		fmt = 3
	}
	// openfront: a new message in a type 3 chunk right after a type 0 header is
	// read by ffmpeg as "add the previous absolute timestamp again": send the delta.
	if fmt == 3 && isNew && writer.basicHeader.fmt == 0 {
		fmt = 2
	}
	writer.messageHeader.timestampDelta = writer.timestampDelta
	writer.messageHeader.timestamp = writer.timestamp

	if writer.messageHeader.messageStreamID != writer.messageStreamID {
		fmt = 0
		writer.messageHeader.messageStreamID = writer.messageStreamID
	}
	writer.basicHeader.fmt = fmt
}

func (cs *ChunkStreamer) prepareChunkReader(chunkStreamID int) (*ChunkStreamReader, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()

	reader, ok := cs.readers[chunkStreamID]
	if !ok {
		if len(cs.readers) >= cs.config.MaxChunkStreams {
			return nil, errors.Errorf(
				"Creating chunk streams limit exceeded(Reader): Limit = %d",
				cs.config.MaxChunkStreams,
			)
		}

		reader = &ChunkStreamReader{}
		cs.readers[chunkStreamID] = reader
	}

	return reader, nil
}

// openfront: the caller holds wmu, which guards writers (mu is the readers'):
// a lock per message showed in fan-out profiles.
func (cs *ChunkStreamer) prepareChunkWriter(chunkStreamID int) (*ChunkStreamWriter, error) {
	writer, ok := cs.writers[chunkStreamID]
	if !ok {
		if len(cs.writers) >= cs.config.MaxChunkStreams {
			return nil, errors.Errorf(
				"Creating chunk streams limit exceeded(Writer): Limit = %d",
				cs.config.MaxChunkStreams,
			)
		}

		writer = &ChunkStreamWriter{
			ChunkStreamReader: ChunkStreamReader{
				basicHeader: chunkBasicHeader{
					chunkStreamID: chunkStreamID,
				},
				messageHeader: chunkMessageHeader{
					timestamp: math.MaxUint32, // initial state will be updated by writer.timestamp
				},
			},
			doneCh:   make(chan struct{}),
			closeCh:  make(chan struct{}),
			newChunk: true,
		}
		close(writer.doneCh)
		cs.writers[chunkStreamID] = writer
	}

	return writer, nil
}

func (cs *ChunkStreamer) sendAck(readBytes uint32) error {
	cs.logger.Debugf("Sending Ack...: Bytes = %d", readBytes)
	// TODO: fix timestamp
	return cs.controlStreamWriter(ctrlMsgChunkStreamID, 0, &message.Ack{
		SequenceNumber: readBytes,
	})
}
