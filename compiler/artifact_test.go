package compiler

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// unvettedArtifact is the artifact of cfg as a hand or a buggy pipeline
// writes it: table.Build may refuse cfg, or accept what vet refuses.
func unvettedArtifact(tb testing.TB, cfg *schema.Config) []byte {
	tb.Helper()
	if t, err := table.Build(cfg, table.Source{}, nil); err == nil {
		return artifactOf(tb, t)
	}
	b, err := json.Marshal(map[string]any{"format": table.ArtifactFormat, "version": "unknown", "source": table.Source{}, "config": cfg})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// An artifact's content hash is no signature: loading one refuses the
// configs vet refuses, naming the place in the artifact's JSON.
func TestLoadArtifactVets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "site.cue"), `package cdn

distributions: site: {
	aliases: ["site.example.com"]
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
}
`)
	base := mustCompile(t, New(dir)).Config
	if _, err := LoadArtifact(unvettedArtifact(t, base), dir); err != nil {
		t.Fatalf("the vetted config: %v", err)
	}
	behavior := func(d *schema.Distribution, pattern string) {
		b := d.DefaultCacheBehavior
		b.PathPattern = pattern
		d.CacheBehaviors = append(d.CacheBehaviors, b)
	}
	tests := []struct {
		name string
		edit func(cfg *schema.Config, d *schema.Distribution)
		want string
	}{
		{"unknown key group", func(_ *schema.Config, d *schema.Distribution) {
			d.DefaultCacheBehavior.TrustedKeyGroups = []string{"nope"}
		},
			`config.distributions.site.defaultCacheBehavior.trustedKeyGroups[0]: distribution "site": defaultCacheBehavior: trustedKeyGroups: unknown key group "nope"`},
		{"unknown continuous deployment policy", func(_ *schema.Config, d *schema.Distribution) { d.ContinuousDeploymentPolicyID = "nope" },
			`config.distributions.site.continuousDeploymentPolicyId: `},
		{"unknown web ACL", func(_ *schema.Config, d *schema.Distribution) { d.WebACLID = "nope" },
			`config.distributions.site.webACLId: distribution "site": unknown web ACL "nope"`},
		{"origin shield without region", func(_ *schema.Config, d *schema.Distribution) {
			d.Origins[0].OriginShield = &schema.OriginShield{Enabled: true}
		}, `config.distributions.site.origins[0].originShield.enabled: `},
		{"duplicate path pattern", func(_ *schema.Config, d *schema.Distribution) { behavior(d, "/a*"); behavior(d, "/a*") },
			`config.distributions.site.cacheBehaviors[1].pathPattern: `},
		{"alias twice", func(cfg *schema.Config, d *schema.Distribution) {
			other := *d
			cfg.Distributions["other"] = &other
		}, `config.distributions.site.aliases[0]: `},
		{"unknown origin", func(_ *schema.Config, d *schema.Distribution) { d.DefaultCacheBehavior.TargetOriginID = "x" },
			`config.distributions.site.defaultCacheBehavior.targetOriginId: distribution "site": defaultCacheBehavior: unknown origin "x"`},
		{"duplicate origin", func(_ *schema.Config, d *schema.Distribution) { d.Origins = append(d.Origins, d.Origins[0]) },
			`config.distributions.site.origins[1].id: `},
		{"allowed methods", func(_ *schema.Config, d *schema.Distribution) {
			d.DefaultCacheBehavior.AllowedMethods = []string{"GET"}
		},
			`config.distributions.site.defaultCacheBehavior.allowedMethods: `},
		{"TTL order", func(_ *schema.Config, d *schema.Distribution) {
			d.DefaultCacheBehavior.MinTTL, d.DefaultCacheBehavior.MaxTTL = 100, 10
		}, `config.distributions.site.defaultCacheBehavior.`},
		{"country code", func(_ *schema.Config, d *schema.Distribution) {
			d.Restrictions.GeoRestriction = schema.GeoRestriction{RestrictionType: "whitelist", Items: []string{"UK"}}
		}, `config.distributions.site.restrictions.geoRestriction.items[0]: `},
		{"function code", func(cfg *schema.Config, d *schema.Distribution) {
			cfg.Functions = map[string]*schema.Function{"f": {Runtime: "cloudfront-js-2.0", FunctionCode: "function handler(e) {\n  return e.request\n"}}
			d.DefaultCacheBehavior.FunctionAssociations = []schema.FunctionAssociation{{EventType: "viewer-request", FunctionName: "f"}}
		}, `config.functions.f.functionCode (line 3, column 1 of the code): `},
		{"route test", func(cfg *schema.Config, _ *schema.Distribution) {
			cfg.Tests = []schema.RouteTest{{URL: "https://site.example.com/", Method: "GET", Expect: schema.RouteExpect{Distribution: "other"}}}
		}, `config.tests[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := *base
			cfg.Distributions = maps.Clone(base.Distributions)
			d := *base.Distributions["site"]
			d.Origins = append([]schema.Origin(nil), d.Origins...)
			cfg.Distributions["site"] = &d
			tt.edit(&cfg, &d)
			_, err := LoadArtifact(unvettedArtifact(t, &cfg), dir)
			if err == nil {
				t.Fatalf("loaded; want an error with %q", tt.want)
			}
			if !strings.Contains(err.Error(), "table artifact: "+tt.want) {
				t.Errorf("error:\n%v\nwant in it:\ntable artifact: %s", err, tt.want)
			}
		})
	}
}
