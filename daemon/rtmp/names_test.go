package rtmp

import (
	"slices"
	"testing"
)

// TestStreamKeyParam: the key of "NAME?key=SECRET" as the encoder sent it:
// base64's "+" and "/" kept, percent escapes decoded.
func TestStreamKeyParam(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"key=s3cret", "s3cret"},
		{"key=ab+c/d==", "ab+c/d=="},
		{"x=1&key=K%2B1&y=2", "K+1"},
		{"key=100%", "100%"}, // not an escape: as typed
		{"keys=no", ""},
		{"", ""},
		{"key=", ""},
	} {
		if got := streamKeyParam(tc.query); got != tc.want {
			t.Errorf("streamKeyParam(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
}

// TestParseVODName: the object and x-file-ext (its stream type) of each
// Flash Media Server stream name form; an unknown prefix is named.
func TestParseVODName(t *testing.T) {
	for _, tc := range []struct {
		name, key, ext string
		kind           container
		badPrefix      string
	}{
		{name: "videos/clip", key: "videos/clip.flv", ext: "flv"},
		{name: "clip.flv", key: "clip.flv", ext: "flv"},
		{name: "flv:videos/clip", key: "videos/clip.flv", ext: "flv"},
		{name: "mp4:clip.mp4", key: "clip.mp4", ext: "mp4", kind: containerMP4},
		{name: "mp4:clip", key: "clip.mp4", ext: "mp4", kind: containerMP4},
		// x-file-ext is the stream's type (flv, mp4, mp3), not the file's
		// extension: "The stream type, for example, FLV" (AccessLogs).
		{name: "clip.m4v", key: "clip.m4v", ext: "mp4", kind: containerMP4},
		{name: "mp4:clip.f4v", key: "clip.f4v", ext: "mp4", kind: containerMP4},
		{name: "mp4:music/song.m4a", key: "music/song.m4a", ext: "mp4", kind: containerMP4},
		{name: "music/song.m4a", key: "music/song.m4a", ext: "mp4", kind: containerMP4},
		{name: "clip.MOV", key: "clip.MOV", ext: "mp4", kind: containerMP4},
		{name: "clip.FLV", key: "clip.FLV", ext: "flv"},
		{name: "mp3:music/song", key: "music/song.mp3", ext: "mp3", kind: containerMP3},
		{name: "mp3:music/song.mp3", key: "music/song.mp3", ext: "mp3", kind: containerMP3},
		{name: "mp3:song.v2", key: "song.v2.mp3", ext: "mp3", kind: containerMP3},
		{name: "music/song.MP3", key: "music/song.MP3", ext: "mp3", kind: containerMP3},
		{name: "id3:song", badPrefix: "id3"},
		{name: "raw:clip", badPrefix: "raw"},
		{name: "mp3:../secret"},
		{name: "mp3:"},
		{name: "mp4:"},
	} {
		o, bad, ok := parseVODName(tc.name)
		if bad != tc.badPrefix || ok != (tc.key != "") || ok && (o.key != tc.key || o.ext != tc.ext || o.kind != tc.kind) {
			t.Errorf("parseVODName(%q) = %+v, %q, %v; want key %q ext %q kind %d, prefix %q",
				tc.name, o, bad, ok, tc.key, tc.ext, tc.kind, tc.badPrefix)
		}
	}
}

// TestSignedNames: the names a signature may be for are those of the object
// played, never another object of the same base name.
func TestSignedNames(t *testing.T) {
	for _, tc := range []struct {
		kind appKind
		name string
		want []string
	}{
		{appVOD, "mp4:example/video.mp4", []string{"mp4:example/video.mp4", "example/video.mp4"}},
		{appVOD, "mp4:example/video", []string{"mp4:example/video", "example/video.mp4"}},
		{appVOD, "flv:videos/a", []string{"flv:videos/a", "videos/a", "videos/a.flv"}},
		{appVOD, "videos/a", []string{"videos/a", "videos/a.flv"}},
		{appVOD, "videos/a.flv", []string{"videos/a.flv"}},
		{appVOD, "mp3:music/song", []string{"mp3:music/song", "music/song.mp3"}},
		{appVOD, "mp3:music/song.mp3", []string{"mp3:music/song.mp3", "music/song.mp3"}},
		{appVOD, "id3:song", []string{"id3:song"}},
		{appVOD, "mp4:../x.mp4", []string{"mp4:../x.mp4"}},
		{appLive, "show", []string{"show"}},
	} {
		if got := signedNames(tc.kind, tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("signedNames(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
