package accesslog

import (
	"net/netip"
	"time"
)

// StreamingRecord is one RTMP event of a streaming distribution, with what
// CloudFront's streaming log format needs. The fields, in the order of the
// log line, with CloudFront's meaning (Developer Guide, "Streaming
// distribution log file format", from the RTMP distributions CloudFront
// retired in 2020) and how openfront fills them:
//
//  1. date: YYYY-MM-DD, UTC, of Time: when the event occurred.
//  2. time: HH:MM:SS, UTC, of Time.
//  3. x-edge-location: the edge location where the event occurred; the
//     node name (Options.NodeName), as in the web log.
//  4. c-ip: the viewer's IP address (ClientIP).
//  5. x-event: the event: connect, play, pause, unpause, seek, stop,
//     disconnect; openfront adds publish for live encoders (Kind).
//  6. sc-bytes: the running total of bytes sent from the server to the
//     viewer on this connection, up to the event (Bytes): a session's
//     traffic is the value of its disconnect, a stream's the difference
//     between its stop and its play.
//  7. x-cf-status: the status of the event; CloudFront only ever wrote OK
//     (Status; "" is written as OK). openfront writes the error's short
//     code when an event was refused.
//  8. x-cf-client-id: an opaque string that tells viewers apart, unique per
//     connection (ClientID).
//  9. cs-uri-stem: the connect URI without its query: the application and
//     instance, such as rtmp://s5c39gqb8ow64r.cloudfront.net/cfx/st
//     (URIStem).
//  10. cs-uri-query: the connect URI's query string, or - (URIQuery).
//  11. c-referrer: the URI of the referrer: the connect command's swfUrl,
//     the SWF that connected, as Flash Media Server's Client.referrer
//     (Referrer).
//  12. x-page-url: the URL of the page the player is embedded in: the
//     connect command's pageUrl (PageURL).
//  13. c-user-agent: the player's version string, such as LNX 10,0,32,18
//     (UserAgent; escaped, so LNX%2010,0,32,18).
//  14. x-sname: the stream name, for play, pause, unpause, seek and stop
//     (and publish); - for connect and disconnect (StreamName).
//  15. x-sname-query: the stream name's query string, if any (StreamQuery).
//  16. x-file-ext: the stream type, flv, mp4 or mp3 (FileExt).
//  17. x-sid: the stream id, an integer that tells the streams of a
//     connection apart (SID); - for connect and disconnect.
//
// Empty values are written as -, strings escaped as in the web log
// ([AppendEscaped]); Distribution picks the writer and is not a field.
type StreamingRecord struct {
	Time         time.Time
	Distribution string
	ClientIP     netip.Addr
	Kind         string
	Bytes        int64
	Status       string
	ClientID     string
	URIStem      string
	URIQuery     string
	Referrer     string
	PageURL      string
	UserAgent    string
	StreamName   string
	StreamQuery  string
	FileExt      string
	SID          string
}

// x-event values.
const (
	EventConnect    = "connect"
	EventPlay       = "play"
	EventPause      = "pause"
	EventUnpause    = "unpause"
	EventSeek       = "seek"
	EventStop       = "stop"
	EventDisconnect = "disconnect"
	EventPublish    = "publish" // openfront's: a live encoder started publishing
)

// Streaming is CloudFront's log format of a streaming distribution.
var Streaming = Format{Name: "streaming", Fields: []string{"date", "time", "x-edge-location", "c-ip", "x-event",
	"sc-bytes", "x-cf-status", "x-cf-client-id", "cs-uri-stem", "cs-uri-query", "c-referrer", "x-page-url",
	"c-user-agent", "x-sname", "x-sname-query", "x-file-ext", "x-sid"}}

// appendStreamingLine appends r as one streaming log line, newline included.
func (f *lineFormat) appendStreamingLine(b []byte, r *StreamingRecord) []byte {
	b = f.appendDateTime(b, r.Time)
	b = appendRaw(b, f.location)
	if r.ClientIP.IsValid() {
		b = r.ClientIP.Unmap().AppendTo(b)
		b = append(b, '\t')
	} else {
		b = append(b, "-\t"...)
	}
	b = appendField(b, r.Kind)
	b = appendInt(b, max(r.Bytes, 0))
	if r.Status == "" {
		b = append(b, "OK\t"...)
	} else {
		b = appendField(b, r.Status)
	}
	for _, s := range [...]string{r.ClientID, r.URIStem, r.URIQuery, r.Referrer, r.PageURL, r.UserAgent, r.StreamName, r.StreamQuery, r.FileExt, r.SID} {
		b = appendField(b, s)
	}
	b[len(b)-1] = '\n'
	return b
}

// LogStreaming formats r and queues it, as Log does for a web request.
func (w *Writer) LogStreaming(r *StreamingRecord) bool {
	var scratch [1024]byte
	return w.enqueue(w.format.Load().appendStreamingLine(scratch[:0], r))
}
