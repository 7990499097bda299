package rtmp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/rtmp/rtmptest"
)

// TestSignedStreams: with trustedKeyGroups, a stream name needs the
// CloudFront signature the AWS SDK makes for it.
func TestSignedStreams(t *testing.T) {
	m := genMedia(t)
	key, pub := signingKey(t)
	e := startEnv(t, `trustedKeyGroups: ["signers"]`, fmt.Sprintf("keyGroups: signers: publicKeys: [{id: \"K1\", encodedKey: %q}]", pub), nil)
	e.s3.PutObject(t, "media", "videos/test.mp4", m.mp4)
	signed := func(stream string, expires time.Time) string {
		s, err := sign.NewURLSigner("K1", key).Sign("rtmp://tv.test/"+stream, expires)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name, playpath string
		ok             bool
	}{
		{"signed", signed("mp4:videos/test.mp4", time.Now().Add(time.Hour)), true},
		{"unsigned", "mp4:videos/test.mp4", false},
		{"expired", signed("mp4:videos/test.mp4", time.Now().Add(-time.Minute)), false},
		{"signed for another stream", strings.Replace(signed("mp4:videos/other.mp4", time.Now().Add(time.Hour)), "other", "test", 1), false},
		// CloudFront's cfsign.pl signs "--stream example/video.mp4" and the
		// player plays "mp4:example/video.mp4?Policy=...": "This signature
		// authenticates the request to stream the private content
		// example/video.mp4" (CreateURLPerl).
		{"signed without its mp4: prefix", "mp4:" + signed("videos/test.mp4", time.Now().Add(time.Hour)), true},
		{"signed as the object, played without its extension", "mp4:videos/test?" + query(signed("videos/test.mp4", time.Now().Add(time.Hour))), true},
		// A signature for the FLV videos/test does not open the MP4 of that name.
		{"signed for the FLV of the name", "mp4:" + signed("videos/test", time.Now().Add(time.Hour)), false},
		{"signed without prefix, expired", "mp4:" + signed("videos/test.mp4", time.Now().Add(-time.Minute)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := run(t, 20*time.Second, "ffprobe", append(tcurl("tv.test", "cfx/st"), "-v", "error",
				"-rtmp_playpath", tc.playpath, "-show_entries", "stream=codec_name", "-of", "csv=p=0", e.url("cfx/st/x"))...)
			played := err == nil && strings.Contains(out, "h264")
			if played != tc.ok {
				t.Errorf("played %v, want %v: %v\n%s%s", played, tc.ok, err, out, stderr)
			}
		})
	}
}

// query is a signed stream name's query.
func query(stream string) string {
	_, q, _ := strings.Cut(stream, "?")
	return q
}

// TestSignedSeekAfterExpiry: a seek is another play to CloudFront ("If
// the subsequent play event occurs after the expiration time passes,
// CloudFront won't serve the media file"): one before the signed name
// expires is served, one after it ends the stream with Play.Failed and is
// logged so.
func TestSignedSeekAfterExpiry(t *testing.T) {
	m := genMedia(t)
	key, pub := signingKey(t)
	start := time.Now()
	var ahead atomic.Int64 // how far the server's clock is past start
	e := startEnv(t, `trustedKeyGroups: ["signers"]`, fmt.Sprintf("keyGroups: signers: publicKeys: [{id: \"K1\", encodedKey: %q}]", pub),
		func(c *Config) { c.Now = func() time.Time { return start.Add(time.Duration(ahead.Load())) } })
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	stream, err := sign.NewURLSigner("K1", key).Sign("rtmp://tv.test/test", start.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	p := playVOD(t, e, "tv.test", stream, 0)
	until := func(codes ...string) string {
		t.Helper()
		for {
			msg, _, err := p.Next()
			if err != nil {
				t.Fatalf("waiting for %v: %v", codes, err)
			}
			if st := rtmptest.Status(msg); slices.Contains(codes, st) {
				return st
			}
		}
	}
	until("NetStream.Play.Start")
	if err := p.Command(p.StreamID, "seek", 0, nil, 1000.0); err != nil {
		t.Fatal(err)
	}
	if st := until("NetStream.Seek.Notify", codePlayFailed); st != "NetStream.Seek.Notify" {
		t.Fatalf("a seek before expiry: %s", st)
	}
	ahead.Store(int64(2 * time.Minute))
	if err := p.Command(p.StreamID, "seek", 0, nil, 0.0); err != nil {
		t.Fatal(err)
	}
	if st := until("NetStream.Seek.Notify", codePlayFailed); st != codePlayFailed {
		t.Fatalf("a seek after expiry: %s, want %s", st, codePlayFailed)
	}
	waitFor(t, func() bool {
		for _, ev := range e.events() {
			if ev.Kind == accesslog.EventSeek && ev.Status == codePlayFailed {
				return true
			}
		}
		return false
	})
}

// signingKey is a fresh RSA key and its public key in PEM.
func signingKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	return key, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
