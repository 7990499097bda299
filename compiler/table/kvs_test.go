package table

import (
	"testing"

	"openfront.dev/internal/cffunc"
	"openfront.dev/schema"
)

// TestStoreIDReload: a reload that gives a store another CloudFront id,
// its data the same, serves code naming the new id (cf.kvs(kvsId)): the
// store kept for its data must not keep its old id.
func TestStoreIDReload(t *testing.T) {
	config := func(id string) *schema.Config {
		d := dist([]string{"www.example.com"})
		d.DefaultCacheBehavior.FunctionAssociations = []schema.FunctionAssociation{{EventType: "viewer-request", FunctionName: "f"}}
		return &schema.Config{
			Distributions:          map[string]*schema.Distribution{"site": d},
			StreamingDistributions: map[string]*schema.StreamingDistribution{},
			KeyGroups:              map[string]*schema.KeyGroup{},
			Functions: map[string]*schema.Function{"f": {Runtime: "cloudfront-js-2.0", KeyValueStoreAssociations: []string{"s"},
				FunctionCode: "import cf from 'cloudfront';\nasync function handler(e) { e.request.uri = await cf.kvs('new-id').get('k'); return e.request; }"}},
			KeyValueStores: map[string]*schema.KeyValueStore{"s": {ID: id, Data: map[string]string{"k": "/v"}}},
		}
	}
	first, err := Build(config("old-id"), Source{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Build(config("new-id"), Source{}, first)
	if err != nil {
		t.Fatal(err)
	}
	req := &cffunc.Request{Method: "GET", URI: "/", Host: "www.example.com"}
	if _, err := second.functions["f"].ViewerRequest(cffunc.Context{}, req); err != nil || req.URI != "/v" {
		t.Fatalf("after the reload: uri %q, error %v; want /v", req.URI, err)
	}
}
