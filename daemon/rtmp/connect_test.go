package rtmp

import (
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/rtmp/rtmptest"
)

// TestConnectErrorCodes: a refused connect's description carries the
// error code CloudFront sent RTMP players (Streaming_FMSErrors: "The errors
// are part of the string returned with Event.info.application.message or
// Event.info.description"), so a player script that looks for
// DistributionNotFound finds it.
func TestConnectErrorCodes(t *testing.T) {
	e := startEnv(t, "", `
distributions: web: {
	aliases: ["web.test"]
	origins: [{id: "app", domainName: "app.example.org", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
streamingDistributions: off: {
	enabled: false
	aliases: ["off.test"]
	s3Origin: {domainName: "127.0.0.1", endpoint: "http://127.0.0.1:1", bucket: "media", region: "us-east-1"}
}`, nil)
	for _, tc := range []struct{ name, host, app, want string }{
		{"unknown host", "nobody.test", "cfx/st", "DistributionNotFound"},
		{"disabled distribution", "off.test", "cfx/st", "DistributionNotFound"},
		{"web distribution", "web.test", "cfx/st", "DistributionTypeMismatch"},
		{"other instance", "tv.test", "cfx/other", "InvalidInstance"},
		{"other application", "tv.test", "other", "InvalidURI"},
		{"live without live", "vod.test", "live", "InvalidURI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rtmptest.Dial(e.addr, tc.app, "rtmp://"+tc.host+"/"+tc.app, 10*time.Second)
			if err == nil {
				p.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), codeConnectRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("refusal %v, want %s with %s", err, codeConnectRejected, tc.want)
			}
		})
	}
}
