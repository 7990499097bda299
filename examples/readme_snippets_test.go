package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"openfront.dev/compiler"
)

// TestReadmeSnippets vets the CUE snippets of the top-level README's
// sections a user copies as they are, each in a config directory of its
// own with only the file head (and, where the snippet elides the rest of
// a distribution with "// ...", that rest) added.
func TestReadmeSnippets(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const head = "@experiment(explicitopen)\n\npackage cdn\n\nimport \"openfront.dev/schema\"\n\nschema.#Config\n"
	for _, tc := range []struct {
		heading string
		rest    string // what the snippet's "// ..." stands for
	}{
		{"### Canary a config change (continuous deployment)", ""},
		{"### AWS WAF web ACLs (rate limits, IP sets, geo, string matches)", `distributions: site: {
	aliases: ["www.example.com"]
	origins: [{id: "web", domainName: "web.example.com", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
}
`},
	} {
		t.Run(tc.heading, func(t *testing.T) {
			snippet := cueSnippet(t, string(readme), tc.heading)
			dir := t.TempDir()
			src := head + "\n" + snippet + "\n" + tc.rest
			if err := os.WriteFile(filepath.Join(dir, "cdn.cue"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := compiler.New(dir).Compile()
			if err != nil {
				t.Fatalf("the README's snippet does not vet:\n%v\n%s", err, src)
			}
			if len(res.Warnings) > 0 {
				t.Errorf("warnings:\n%v", res.Warnings)
			}
		})
	}
}

// TestReadmeRouteTests runs the route tests the README shows under
// "Testing functions without deploying them" on the example they come
// from, in place of its own: they must pass there as written.
func TestReadmeRouteTests(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join("edge-functions", "cdn.cue"))
	if err != nil {
		t.Fatal(err)
	}
	// The example's own tests stay, hidden from the route tests.
	src := strings.Replace(string(example), "\ntests: [", "\n_exampleTests: [", 1)
	if src == string(example) {
		t.Fatal("examples/edge-functions/cdn.cue has no tests list")
	}
	snippet := cueSnippet(t, string(readme), "### Testing functions without deploying them")
	if !strings.HasPrefix(snippet, "tests: [") {
		t.Fatalf("the section's cue block is not the tests list:\n%s", snippet)
	}
	dir := t.TempDir()
	for name, data := range map[string]string{"cdn.cue": src, "readme.cue": "package cdn\n\n" + snippet + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := compiler.New(dir).Compile(); err != nil {
		t.Fatalf("the README's route tests fail on examples/edge-functions:\n%v", err)
	}
}

// cueSnippet is the first ```cue block of the README section under heading.
func cueSnippet(t *testing.T, readme, heading string) string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	_, block, ok := strings.Cut(section, "\n```cue\n")
	if !ok {
		t.Fatalf("no cue block under %q", heading)
	}
	block, _, _ = strings.Cut(block, "\n```\n")
	return block
}
