package origin

import (
	"fmt"
	"testing"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// TestFunctionOriginPools: origins that functions make share one
// connection pool per endpoint, whatever their path and headers, and no
// more than MaxEndpoints pools are kept however many domains they name.
func TestFunctionOriginPools(t *testing.T) {
	p := NewPool(t.TempDir())
	d := &table.Distribution{ID: "site"}
	made := func(domain, path string) *custom {
		o := &table.Origin{DistributionID: "site", ID: "app", Kind: table.OriginCustom, FromFunction: true, Spec: &schema.Origin{
			ID: "app", DomainName: domain, OriginPath: path, ConnectionAttempts: 2, ConnectionTimeout: 5,
			CustomOriginConfig: &schema.CustomOriginConfig{HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: "http-only", OriginReadTimeout: 30, OriginKeepaliveTimeout: 5},
		}}
		f, err := p.Fetcher(d, o)
		if err != nil {
			t.Fatal(err)
		}
		return f.(*custom)
	}
	one, two := made("a.test", "/x"), made("a.test", "/y")
	if one.http != two.http || one.origin.Spec.OriginPath != "/x" || two.origin.Spec.OriginPath != "/y" {
		t.Fatalf("same endpoint: clients %p %p, paths %q %q; want one client, each its path", one.http, two.http, one.origin.Spec.OriginPath, two.origin.Spec.OriginPath)
	}
	for i := range MaxEndpoints * 2 {
		made(fmt.Sprintf("d%d.test", i), "")
	}
	if n := p.endpoints.len(); n != MaxEndpoints {
		t.Fatalf("%d endpoint pools; want %d", n, MaxEndpoints)
	}
	if again := made("a.test", ""); again.http == one.http {
		t.Fatal("the least recently used endpoint kept its pool past the bound")
	}
}
