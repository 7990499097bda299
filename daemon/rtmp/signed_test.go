package rtmp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
)

// TestSignedStreams: with trustedKeyGroups, a stream name needs the
// CloudFront signature the AWS SDK makes for it.
func TestSignedStreams(t *testing.T) {
	m := genMedia(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
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
