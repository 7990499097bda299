package compiler

import (
	"io/fs"
	"regexp"
	"strings"
	"sync"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"openfront.dev/schema"
)

// patternWants says in words what the schema's regular expressions accept,
// keyed by the definition or field they constrain. CUE reports a failed
// match as `out of bound =~"<regexp>"`; the compiler says what is wanted.
var patternWants = map[string]string{
	"#ID":                `an id of letters, digits, "-" and "_", starting with a letter or digit`,
	"#OriginID":          `an id of letters, digits, ".", "_", ":" and "-", starting with a letter or digit`,
	"#HostName":          `a lower-case DNS name`,
	"#HostPort":          `a lower-case host name, optionally with ":PORT"`,
	"#Alias":             `a lower-case host name, or a wildcard "*.example.com"`,
	"#URLPath":           `an absolute path such as "/errors/404.html"`,
	"#CountryCode":       `an upper-case ISO 3166-1 alpha-2 country code such as "DE"`,
	"#S3Bucket":          `an S3 bucket name (lower-case letters, digits, "." and "-")`,
	"domainName":         `an AWS S3 bucket domain BUCKET.s3.REGION.amazonaws.com; for an S3-compatible server set s3OriginConfig.endpoint, bucket and region; an S3 website endpoint is a customOriginConfig`,
	"originPath":         `a path starting with "/" and not ending with "/", such as "/production"`,
	"defaultRootObject":  `an object name without a leading "/", a query or a fragment, such as "index.html"`,
	"endpoint":           `a base URL "http://HOST:PORT" or "https://HOST" without a path`,
	"certificateName":    `a file name stem: letters, digits, ".", "_" and "-"`,
	"#HeaderName":        `an HTTP header name`,
	"#HeaderValue":       `an HTTP header value without line breaks or control characters`,
	"#CDHeaderValue":     `a header value without spaces or tabs at its ends (HTTP trims them off a request's), line breaks or control characters`,
	"pathPattern":        `a CloudFront path pattern: URL path characters with "*" and "?"`,
	"path":               `a directory relative to the config directory, without ".."`,
	"originShieldRegion": `an AWS region code such as "us-east-2", not a region's name`,
	"header":             `a header name that starts with "aws-cf-cd-", as CloudFront requires, such as "aws-cf-cd-canary"`,
	"viewerIp":           `an IPv4 or IPv6 address such as "192.0.2.1" or "2001:db8::1", without a port or zone`,
	"prefix":             `a key prefix such as "cdn/site/": letters, digits and !-_.*'() in "/"-separated segments, none of them "." or ".."`,
}

var (
	patternsOnce  sync.Once
	patternByExpr map[string]string // `=~"<regexp>"` as CUE prints it -> what is wanted
	outOfBoundRE  = regexp.MustCompile(`\(out of bound ((?:=~|!~)"(?:[^"\\]|\\.)*")\)`)
)

// loadPatterns maps each regular expression in the schema to the words of
// the field or definition it belongs to.
func loadPatterns() {
	patternByExpr = map[string]string{}
	entries, _ := fs.ReadDir(schema.Files, ".")
	for _, e := range entries {
		src, err := fs.ReadFile(schema.Files, e.Name())
		if err != nil {
			continue
		}
		f, err := parser.ParseFile(e.Name(), src)
		if err != nil {
			continue
		}
		var stack []string
		ast.Walk(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				name, _, _ := ast.LabelName(n.Label)
				stack = append(stack, name)
			case *ast.UnaryExpr:
				lit, ok := n.X.(*ast.BasicLit)
				if ok && (n.Op == token.MAT || n.Op == token.NMAT) {
					for i := len(stack) - 1; i >= 0; i-- {
						if want, ok := patternWants[stack[i]]; ok {
							patternByExpr[n.Op.String()+lit.Value] = want
							break
						}
					}
				}
			}
			return true
		}, func(n ast.Node) {
			if _, ok := n.(*ast.Field); ok {
				stack = stack[:len(stack)-1]
			}
		})
	}
}

// explainPatterns rewrites `(out of bound =~"...")` into what is wanted.
func explainPatterns(msg string) string {
	if !strings.Contains(msg, "out of bound") {
		return msg
	}
	patternsOnce.Do(loadPatterns)
	return outOfBoundRE.ReplaceAllStringFunc(msg, func(m string) string {
		expr := outOfBoundRE.FindStringSubmatch(m)[1]
		if want, ok := patternByExpr[expr]; ok {
			return "(want " + want + ")"
		}
		return m
	})
}
