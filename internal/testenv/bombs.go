package testenv

import "fmt"

// Config files of package cdn that no compile should be allowed to run
// to its end: a node bounds them (serve --compile-timeout and
// --compile-memory). Each sets distributions: site: comment.
const (
	// CPUBomb evaluates for ever (8e9 elements) at a slowly growing heap.
	CPUBomb = `package cdn

import "list"

_l: list.Range(0, 2000, 1)
_bomb: [for a in _l for b in _l for c in _l {a + b + c}]
distributions: site: comment: "\(len(_bomb))"
`
	// MemoryBomb allocates about 1 GB within seconds.
	MemoryBomb = `package cdn

import (
	"list"
	"strings"
)

_s: strings.Repeat("x", 1000000)
_big: [for a in list.Range(0, 1000, 1) {_s + "\(a)"}]
distributions: site: comment: "\(len(_big))"
`
)

// SiteConfig is a config of one distribution, site; comment tells
// versions apart.
func SiteConfig(comment string) string {
	return fmt.Sprintf(`package cdn

distributions: site: {
	comment: %q
	aliases: ["site.example.com"]
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: {originProtocolPolicy: "https-only"}}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
}
`, comment)
}
