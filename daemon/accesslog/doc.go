// Package accesslog writes access logs in CloudFront's standard log file
// format: per distribution, gzip-compressed, rotated by time and size,
// optionally uploaded to S3, and never blocking a request.
//
// # Per request
//
// The edge wraps the response writer in a [Capture] before it serves, and
// after it served hands the record to the distribution's [Writer]:
//
//	start := time.Now()
//	c := accesslog.NewCapture(w, r, start)
//	... route with c as the ResponseWriter; d is the distribution ...
//	if lw := logs.Writer(d.ID); lw != nil { // nil: d does not log
//		rec := c.Record(time.Now())
//		rec.RequestID = id // X-Openfront-Id
//		rec.SetResult(w.Header().Get("X-Cache"), c.Aborted(), detail)
//		lw.Log(&rec)
//	}
//
// detail is the x-edge-detailed-result-type of an Error ("" for plain
// Error), e.g. [ClientGeoBlocked] or [OriginConnectError];
// [ClientHungUpRequest] when [Capture.HungUp] says the viewer's request
// body broke off, whatever the origin request made of it; or
// [OriginShieldHit] for a Miss whose own origin request the node's Origin
// Shield answered from its cache (the edge's cache.Result.UpstreamHit):
// x-edge-result-type stays Miss, as the edge missed, and a response that
// is no Miss keeps its own detailed type. [Writer.Log]
// copies the record into a bounded queue; when the queue is full the line
// is dropped and counted. It never waits for the disk: about 25 ns, no
// allocation (BenchmarkLog). The background goroutine formats the lines,
// 0.1 to 0.25 µs each, and gzips them, 0.2 to 0.6 µs a line, the more the
// lines differ (BenchmarkFormat, BenchmarkEndToEnd).
//
// For a pooled Capture, [Capture.Reset] replaces NewCapture and
// [Capture.Release] drops its references. Without a log line, the
// metrics read [Capture.StatusSent], [Capture.BytesIn] and
// [Capture.BytesOut], the values of sc-status, cs-bytes and sc-bytes.
//
// # Streaming distributions
//
// A streaming distribution with logging.enabled has a writer of its own
// (a web distribution of the same id is apart), whose files carry the
// streaming format's header ([Streaming]). The RTMP server hands each
// event (connect, play, pause, unpause, seek, stop, disconnect, and
// openfront's publish) to [Manager.LogStreaming] as a [StreamingRecord];
// files, rotation, acknowledgement and upload are the web log's.
//
// # Table swaps
//
// [Manager.SetTable] gets each new table before the edge does, so a new
// distribution has its writer when its first request arrives. A request
// still on the old table that logs into a replaced writer is passed to its
// successor; one for a removed distribution is dropped (reason "closed").
// [Manager.Close] on SIGTERM, after the listeners drained, flushes
// everything and uploads until its context ends.
//
// # Files
//
// Lines of a distribution go to DIR/PREFIX/ID.YYYY-MM-DD-HH.UNIQUE.gz, the
// name CloudFront gives its log objects (the S3 key is the path under DIR).
// The hour is that of the lines' date and time (UTC), as CloudFront's:
// a line of 10:59:59 written at 11:00:00 goes to a file of hour 10.
// A file being written is named NAME.gz.tmp; it is renamed to NAME.gz when it
// is closed: at the next RotateEvery boundary (5 minutes by default, and
// always at the hour, since the name carries the hour), when a line of
// a later hour comes, when it reaches MaxFileBytes, or on Close. A file
// exists only for periods with requests. Lines of an earlier hour than the
// open file's (requests that finished as the hour turned, logged after
// later ones) wait for the next tick, which closes the open file and
// writes them to a file of their hour: lines of two hours mixed at the
// turn make three files, not one per switch.
//
// # Acknowledgement and crash safety
//
// A file is a sequence of gzip members (gzip readers, zcat and Athena read
// concatenated members as one stream). The background goroutine compresses
// lines into an open member as they arrive and, every FlushInterval (1 s by
// default) or after 256 KiB of lines, closes the member and fsyncs the
// .tmp file. A line is acknowledged to disk once the
// fsync of its member returned: [Writer.Flush] returns when every line logged
// before it is acknowledged, and openfront_log_lines_written_total counts
// acknowledged lines. A member that fails to write is cut off again (the file
// is truncated to its last acknowledged member) and its lines are counted as
// dropped, so one bad write never corrupts the members after it.
//
// After a crash a .tmp file holds whole acknowledged members, maybe followed
// by members or a torn member that were never acknowledged. When a writer
// starts it recovers its distribution's .tmp files: it keeps the longest
// prefix of complete members whose CRC checks, truncates the rest, fsyncs
// and renames the file to its final name (an empty one is removed). Lines are
// written once and never replayed, so an acknowledged line is in exactly one
// file exactly once; a line that was written but not yet acknowledged may
// survive too, but never twice. An upload PUTs a closed file to the key of
// its path and deletes the local file only after S3 answered 200: a crash
// between the two uploads the same bytes to the same key again, which
// overwrites the object instead of duplicating lines.
//
// # Upload
//
// With logging.bucket set, closed files are uploaded oldest first with a
// SigV4-signed PUT; failures are retried with exponential backoff. Files
// waiting for upload are bounded by SpoolBytes per distribution: over it the
// oldest are deleted and counted. Close uploads what is pending until its
// context ends; what is left is found and uploaded by the next start.
//
// One process owns a log directory: two daemons must not share one.
package accesslog
