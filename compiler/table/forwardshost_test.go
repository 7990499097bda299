package table

import (
	"testing"

	"openfront.dev/schema"
)

// TestForwardsAndKeysHost: whether a behavior's origin gets the viewer's
// Host, and whether its cache key holds it, as its policies make it.
func TestForwardsAndKeysHost(t *testing.T) {
	cfg := &schema.Config{CachePolicies: map[string]*schema.CachePolicy{
		"by-host": {MaxTTL: 60, ParametersInCacheKeyAndForwardedToOrigin: schema.CacheKeyParameters{
			HeadersConfig: schema.HeadersConfig{HeaderBehavior: "whitelist", Headers: []string{"host"}}}},
	}}
	tests := []struct {
		name                    string
		headers                 []string
		cachePolicy, orp        string
		wantForwards, wantKeyed bool
	}{
		{"nothing forwarded", nil, "", "", false, false},
		{"other headers", []string{"Accept", "Origin"}, "", "", false, false},
		{"Host whitelisted", []string{"Accept", "Host"}, "", "", true, true},
		{"host whitelisted in lower case", []string{"host"}, "", "", true, true},
		{"all headers", []string{"*"}, "", "", true, false},
		{"AllViewer", nil, "CachingOptimized", "AllViewer", true, false},
		{"AllViewerAndCloudFrontHeaders", nil, "CachingOptimized", "AllViewerAndCloudFrontHeaders-2022-06", true, false},
		{"AllViewerExceptHostHeader", nil, "CachingOptimized", "AllViewerExceptHostHeader", false, false},
		{"CORS-CustomOrigin", nil, "", "CORS-CustomOrigin", false, false},
		{"HostHeaderOnly", nil, "CachingOptimized", "HostHeaderOnly", true, false},
		{"HostHeaderOnly keyed by the cache policy", nil, "by-host", "HostHeaderOnly", true, true},
		// Beside legacy settings, such a policy leaves the key to the
		// origin's Vary: forwardedValues' Host is forwarded, not keyed.
		{"legacy Host beside AllViewerExceptHostHeader", []string{"Host"}, "", "AllViewerExceptHostHeader", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &schema.CacheBehavior{CachePolicy: tt.cachePolicy, OriginRequestPolicy: tt.orp,
				ForwardedValues: schema.ForwardedValues{Headers: tt.headers}}
			b := PolicyBehavior(spec, cfg)
			if got := b.ForwardsHost(); got != tt.wantForwards {
				t.Errorf("ForwardsHost = %v, want %v", got, tt.wantForwards)
			}
			if got := b.KeysHost(); got != tt.wantKeyed {
				t.Errorf("KeysHost = %v, want %v", got, tt.wantKeyed)
			}
		})
	}
	if b := PolicyBehavior(&schema.CacheBehavior{CachePolicy: "missing"}, cfg); b != nil {
		t.Errorf("PolicyBehavior with an unknown cache policy = %+v, want nil", b)
	}
}
