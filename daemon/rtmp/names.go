package rtmp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"openfront.dev/schema"
)

// appKind is what a connection's application serves.
type appKind int

const (
	appNone appKind = iota
	appVOD          // cfx/st, as CloudFront's RTMP distributions
	appLive         // live: openfront's live events
)

// parseApp maps the connect command's app to its kind. ffmpeg splits
// rtmp://HOST/cfx/st/mp4:x.mp4 into app "cfx" and stream "st/mp4:x.mp4":
// prefix is what the stream name then starts with.
func parseApp(app string) (kind appKind, prefix string) {
	app, _, _ = strings.Cut(app, "?")
	switch strings.Trim(app, "/") {
	case "cfx/st":
		return appVOD, ""
	case "cfx":
		return appVOD, "st/"
	case "live":
		return appLive, ""
	}
	return appNone, ""
}

// isCFXInstance says whether app is CloudFront's application cfx with an
// instance other than st ("cfx/other").
func isCFXInstance(app string) bool {
	app, _, _ = strings.Cut(app, "?")
	rest, ok := strings.CutPrefix(strings.Trim(app, "/"), "cfx/")
	return ok && rest != ""
}

// splitTCURL returns tcUrl's host, its URL without the query, and the query.
func splitTCURL(tcURL string) (host, stem, query string) {
	stem, query, _ = strings.Cut(tcURL, "?")
	if u, err := url.Parse(stem); err == nil {
		host = u.Host
	}
	return host, stem, query
}

// container is an on-demand object's file type.
type container int

const (
	containerFLV container = iota
	containerMP4
	containerMP3
)

// vodObject is an on-demand stream's S3 object.
type vodObject struct {
	key  string // object key, without a leading "/"
	kind container
	ext  string // x-file-ext: the stream type, flv, mp4 or mp3
}

var mp4Exts = map[string]bool{".mp4": true, ".m4v": true, ".mov": true, ".f4v": true, ".m4a": true, ".f4a": true}

// parseVODName maps a play name (without its query) to an object:
// "path/name" and "path/name.flv" are FLV, "mp4:path/name.mp4" (or any name
// with an MP4 extension) MP4, "mp3:path/name" (or a name ending in .mp3)
// path/name.mp3, as Flash Media Server named streams. A prefix it does not
// know is returned, with ok false.
func parseVODName(name string) (o vodObject, badPrefix string, ok bool) {
	prefix, rest, hasPrefix := strings.Cut(name, ":")
	if !hasPrefix || strings.Contains(prefix, "/") {
		rest, prefix = name, ""
	}
	if rest == "" { // "mp4:" alone is no file, not ".mp4"
		return o, "", false
	}
	ext := strings.ToLower(path.Ext(rest))
	switch {
	case prefix == "mp4" || prefix == "" && mp4Exts[ext]:
		o.kind = containerMP4
		if ext == "" {
			rest += ".mp4"
		}
	case prefix == "mp3" || prefix == "" && ext == ".mp3":
		// FMS took mp3:name without its extension; with it, it is not doubled.
		o.kind = containerMP3
		if ext != ".mp3" {
			rest += ".mp3"
		}
	case prefix == "" || prefix == "flv":
		if ext != ".flv" {
			rest += ".flv"
		}
	default:
		return o, prefix, false
	}
	if rest == "" || strings.HasPrefix(rest, "/") || len(rest) > 1024 {
		return o, "", false
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return o, "", false
		}
	}
	o.key = rest
	// x-file-ext is "The stream type, for example, FLV" (CloudFront's
	// streaming log; Flash Media Server's "Stream type"): an .f4v, .m4v or
	// .m4a is an mp4 stream.
	o.ext = [...]string{containerFLV: "flv", containerMP4: "mp4", containerMP3: "mp3"}[o.kind]
	return o, "", true
}

// signedNames are the names a signature for the play name may be for: the
// name as played, then, for an on-demand stream, the same object named
// without its prefix and by its object key. CloudFront's cfsign.pl signs
// "--stream example/video.mp4" for the player's
// "mp4:example/video.mp4?Policy=..." ("This signature authenticates the
// request to stream the private content example/video.mp4", CreateURLPerl).
// Only names of the very object played count: a signature for the FLV
// "videos/a" does not open "mp4:videos/a" (videos/a.mp4).
func signedNames(kind appKind, name string) []string {
	names := []string{name}
	if kind != appVOD {
		return names
	}
	obj, _, ok := parseVODName(name)
	if !ok {
		return names
	}
	if prefix, rest, has := strings.Cut(name, ":"); has && !strings.Contains(prefix, "/") {
		if same, _, ok := parseVODName(rest); ok && same == obj {
			names = append(names, rest)
		}
	}
	if !slices.Contains(names, obj.key) {
		names = append(names, obj.key)
	}
	return names
}

// liveName is a live stream's name: it becomes a path in HLS (/live/NAME/).
var liveName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// streamKeyOK says whether key is one of the live config's stream keys: a
// SHA-256 in streamKeySHA256, or the content of the streamKeySecret file.
func streamKeyOK(live *schema.Live, secretsDir, key string) bool {
	if key == "" {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	got := hex.EncodeToString(sum[:])
	ok := false
	for _, want := range live.StreamKeySHA256 {
		ok = subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1 || ok
	}
	if live.StreamKeySecret != "" && secretsDir != "" {
		b, err := os.ReadFile(filepath.Join(secretsDir, live.StreamKeySecret))
		if err == nil {
			secret := strings.TrimSpace(string(b))
			ok = secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(key)) == 1 || ok
		}
	}
	return ok
}

// streamKeyParam is the key OBS-style publishers put in the stream name's
// query. A "+" stays a "+": the name is typed into an encoder, not a form,
// and base64 keys (openssl rand -base64) hold them; %XX is decoded.
func streamKeyParam(query string) string {
	for part := range strings.SplitSeq(query, "&") {
		if v, ok := strings.CutPrefix(part, "key="); ok {
			if d, err := url.PathUnescape(v); err == nil {
				return d
			}
			return v
		}
	}
	return ""
}
