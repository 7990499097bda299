package cffunc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// TestImports: an import of a module CloudFront does not offer fails at
// vet, at its line; one that CloudFront offers becomes a require on the
// same line, so errors further down keep their positions.
func TestImports(t *testing.T) {
	for _, c := range []struct {
		name, code string
		line, col  int // of the SyntaxError; 0: compiles
	}{
		{"unknown module", "import fs from 'fs';\nfunction handler(e) { return e.request; }", 1, 1},
		{"indented, second line", "// x\n  import * as x from \"child_process\"\nfunction handler(e) { return e.request; }", 2, 3},
		{"mismatched quotes", "import fs from 'fs\";\nfunction handler(e) { return e.request; }", 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile("f", "cloudfront-js-2.0", c.code)
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != c.line || se.Col != c.col {
				t.Fatalf("error %v, want a SyntaxError at %d:%d", err, c.line, c.col)
			}
			if !strings.Contains(se.Msg, "cannot import") {
				t.Errorf("message %q does not say what cannot be imported", se.Msg)
			}
		})
	}
	t.Run("later lines keep their positions", func(t *testing.T) {
		modules["test-module"] = func(*Function, *vm) (goja.Value, error) { return goja.Undefined(), nil }
		defer delete(modules, "test-module")
		_, err := Compile("f", "cloudfront-js-2.0", "import { a, b as c } from 'test-module'; import * as d from 'test-module'\nfunction handler(e) { return e.request; }\n  )")
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != 3 || se.Col != 3 {
			t.Fatalf("error %v, want a SyntaxError at 3:3", err)
		}
	})
}

// TestRequireReadsNoFiles: require knows CloudFront's modules only; it
// never loads a file from the node's disk.
func TestRequireReadsNoFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.js")
	if err := os.WriteFile(path, []byte("module.exports = 'secret';"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, "fs", "./secret.js"} {
		f, err := Compile("f", "cloudfront-js-2.0", "function handler(e) { e.request.uri = '/' + require("+quoteJS(name)+"); return e.request; }")
		if err != nil {
			t.Fatal(err)
		}
		req := &Request{Method: "GET", URI: "/", Host: "h"}
		_, err = f.ViewerRequest(Context{}, req)
		var ee *ExecutionError
		if !errors.As(err, &ee) || strings.Contains(req.URI, "secret") {
			t.Errorf("require(%q): error %v, uri %q; want an execution error", name, err, req.URI)
		}
	}
}

func quoteJS(s string) string { return "'" + strings.ReplaceAll(s, "'", "\\'") + "'" }
