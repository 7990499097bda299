package rtmp

import (
	"net/netip"
	"time"
)

// Event is one line of CloudFront's streaming access log (date time
// x-edge-location c-ip x-event sc-bytes x-cf-status x-cf-client-id
// cs-uri-stem cs-uri-query c-referrer x-page-url c-user-agent x-sname
// x-sname-query x-file-ext x-sid).
type Event struct {
	Time         time.Time
	Distribution string
	ClientIP     netip.Addr
	// Kind is x-event: accesslog.EventConnect, EventPlay, ... EventPublish.
	Kind string
	// Bytes is sc-bytes: what the server sent on the connection so far.
	Bytes int64
	// Status is x-cf-status, e.g. NetConnection.Connect.Success.
	Status   string
	ClientID string
	// URIStem and URIQuery are the connect command's tcUrl.
	URIStem, URIQuery string
	// Referrer is connect's swfUrl (FMS's Client.referrer: the SWF that
	// connected), PageURL its pageUrl, UserAgent its flashVer.
	Referrer, PageURL, UserAgent     string
	StreamName, StreamQuery, FileExt string
	// SID is the message stream id.
	SID string
}
