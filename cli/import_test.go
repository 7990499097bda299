package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// TestImport turns AWS CLI output (testdata/import/NAME/*) into a
// config and compares stdout and stderr with NAME.cue and NAME.stderr
// (-update rewrites them). Every config it writes must vet.
func TestImport(t *testing.T) {
	const dir = "testdata/import"
	for _, tc := range []struct {
		name   string
		flags  []string
		code   int
		golden string // default: name
	}{
		// S3 with origin access control, CachingOptimized and SecurityHeadersPolicy.
		{"static-site", []string{"--id", "site"}, exitOK, ""},
		// get-distribution output: legacy ForwardedValues, all seven methods,
		// error responses, geo restriction, logging, an origin group.
		{"api", nil, exitOK, ""},
		// A bare DistributionConfig with custom policies and a key group
		// from their get-* files.
		{"custom-policies", nil, exitOK, ""},
		// What openfront cannot do: comments and stderr lines. Among
		// them protections (a viewer-request Lambda@Edge and function,
		// field-level encryption, the web ACL): a line each at its note,
		// and exit 1 unless accepted.
		{"edge-functions", nil, exitFail, ""},
		{"edge-functions", []string{"--accept-dropped-protection"}, exitOK, "edge-functions-accepted"},
		// CloudFront Functions with their code (NAME.js) and
		// describe-function output, and one without its code.
		{"functions", nil, exitOK, ""},
		// A function's code without its describe-function output: a note
		// that its runtime is assumed and its stores unknown.
		{"function-without-description", nil, exitOK, ""},
		// KeyValueStores: one from describe-key-value-store with its keys
		// as list-keys prints them, one from list-key-value-stores with its
		// keys as CloudFront's import file; a listed store without its
		// keys, and one listed that no function imported reads.
		{"key-value-stores", nil, exitOK, ""},
		// list-keys output with a NextToken: keys may be missing.
		{"kvs-paginated", nil, exitOK, ""},
		// Viewer mTLS with its trust store's CA bundle (TRUSTSTOREID.pem).
		{"mtls", nil, exitOK, ""},
		// A connection function, which could refuse TLS connections: a
		// dropped protection (openfront runs none).
		{"connection-function", nil, exitFail, ""},
		// Without the bundle: the config still names the trust store, so
		// vet refuses it rather than serve without the check.
		{"mtls-no-bundle", nil, exitFail, ""},
		// A value over CloudFront's 1,024 bytes: reported as vet would.
		{"kvs-too-big", nil, exitFail, ""},
		// A primary, its staging distribution (get-distribution output,
		// which prints the DNS name the policy names it by) and their
		// continuous deployment policy, weight-based and sticky.
		{"continuous-deployment", nil, exitOK, ""},
		// A web ACL from get-web-acl output with its IP set from
		// get-ip-set: rate-based, IP set, geo and byte match rules come
		// over; a managed rule group and a CAPTCHA rule are notes, and
		// protections dropped.
		{"waf", nil, exitFail, ""},
		// Dropped rules that only count (a managed rule group overridden
		// to count, a count rule) protected nothing: exit 0.
		{"waf-count-only", nil, exitOK, ""},
		// Size, regex, regex pattern set, SQL injection and XSS rules
		// from get-web-acl output come over, on headers and cookies too; a
		// regex RE2 refuses (PCRE's \Z), and the regex pattern set holding
		// one, are notes.
		{"waf-statements", nil, exitOK, ""},
		// ASN, JA3, JA4 and URI fragment rules come over, an ASN rule
		// on a forwarded address too.
		{"waf-networks", nil, exitOK, ""},
		// Rule labels and a label match statement, with the web ACL's
		// label namespace so the fully qualified key still matches; a
		// block's custom response with its body, a count rule's inserted
		// header.
		{"waf-labels", nil, exitOK, ""},
		// A rule group from get-rule-group output, referenced by its name,
		// with the reference's excluded rule and override, and without the
		// labels WAF refuses on it (a note); a reference to a group whose
		// file is not given, overridden to count, is a note.
		{"waf-groups", nil, exitOK, ""},
		// Without the IP set's or the web ACL's file: the note names the
		// command to run with the name and id from the ARN.
		{"waf-no-ip-set", nil, exitFail, ""},
		{"waf-no-web-acl", nil, exitFail, ""},
		// A WAF Classic web ACL (WebACLId is its bare ID, not a wafv2
		// ARN): the note says so, not to run aws wafv2 get-web-acl.
		{"waf-classic", nil, exitFail, ""},
		{"waf-no-regex-set", nil, exitFail, ""},
		// A VPC origin (an internal load balancer) with its get-vpc-origin
		// output: a custom origin with the endpoint's ports and protocols
		// and the origin's timeouts, and a note that the nodes must reach it.
		{"vpc-origin", nil, exitOK, ""},
		// Without its get-vpc-origin output: an error naming the command.
		{"vpc-origin-missing", nil, exitFail, ""},
		// Origin and origin group IDs CloudFront takes but the schema does
		// not (the old console's "S3-bucket/path", spaces): renamed
		// everywhere they are named, each rename a note.
		{"origin-ids", nil, exitOK, ""},
		// A function's code that quotes a renamed origin id (for
		// cf.selectRequestOriginById) gets the new one, with a note.
		{"origin-ids-function", nil, exitOK, ""},
		// list-distributions output, whose summaries lack a distribution's
		// DefaultRootObject and Logging: an error naming get-distribution
		// for each.
		{"list-distributions", nil, exitFail, ""},
		// A multi-tenant distribution (ConnectionMode tenant-only), whose
		// origin names a tenant parameter: a note saying what to do per
		// tenant, and the parameter kept as written, so it fails to vet.
		{"multi-tenant", nil, exitFail, ""},
		// A custom policy ID without its get-cache-policy file.
		{"unknown-policy", nil, exitFail, ""},
		// Legacy TrustedSigners: the behavior names a key group the
		// config lacks, so it does not vet rather than serve private
		// content to everyone.
		{"legacy-signers", []string{"--id", "members"}, exitFail, ""},
	} {
		if tc.golden == "" {
			tc.golden = tc.name
		}
		t.Run(tc.golden, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(dir, tc.name, "*"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no fixtures for %s: %v", tc.name, err)
			}
			args := append(append([]string{"import"}, tc.flags...), files...)
			code, stdout, stderr := runCLI(args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			compareGolden(t, filepath.Join(dir, tc.golden+".cue"), stdout, "TestImport")
			compareGolden(t, filepath.Join(dir, tc.golden+".stderr"), stderr, "TestImport")
			// A config that fails only for the protections it drops
			// still vets.
			if tc.code != exitOK && (!strings.Contains(stderr, "protection(s) CloudFront enforced") || strings.Contains(stderr, "does not vet")) {
				return
			}
			// -o writes the same config, and openfront vet takes it.
			out := filepath.Join(t.TempDir(), "cdn.cue")
			code, written, warned := runCLI(append([]string{"import", "--accept-dropped-protection", "-o", out}, args[1:]...)...)
			if code != exitOK || written != "" {
				t.Fatalf("import -o: exit %d, stdout %q", code, written)
			}
			if tc.code != exitOK && !strings.Contains(warned, out+":") {
				t.Errorf("import -o: the dropped protections are not named at %s:LINE:\n%s", out, warned)
			}
			if b, err := os.ReadFile(out); err != nil || string(b) != stdout {
				t.Fatalf("import -o wrote something else than stdout (%v)", err)
			}
			if code, _, stderr := runCLI("vet", filepath.Dir(out)); code != exitOK {
				t.Errorf("vet of the imported config: exit %d\n%s", code, stderr)
			}
		})
	}
}

// A config that does not vet is still written, its errors reported at
// the output's file:line:col, and the exit status is 1.
func TestImportReportsVetErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "dist.json")
	// An origin group naming an origin the distribution lacks.
	writeFile(t, in, `{"DistributionConfig": {"CallerReference": "x",
		"Origins": {"Quantity": 1, "Items": [{"Id": "web", "DomainName": "web.example.com",
			"CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
		"DefaultCacheBehavior": {"TargetOriginId": "nowhere", "ViewerProtocolPolicy": "allow-all"}}}`)
	out := filepath.Join(dir, "cdn.cue")
	code, _, stderr := runCLI("import", "-o", out, in)
	if code != exitFail {
		t.Errorf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(stderr, out+":") || !strings.Contains(stderr, "nowhere") {
		t.Errorf("stderr should name %s:line:col and the missing origin:\n%s", out, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the config was not written: %v", err)
	}
}

// -o into a directory that does not exist yet makes it, as a migration
// starting in an empty directory expects (README: import -o config/site.cue).
func TestImportMakesOutputDir(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "dist.json")
	writeFile(t, in, `{"DistributionConfig": {"CallerReference": "x",
		"Origins": {"Quantity": 1, "Items": [{"Id": "web", "DomainName": "web.example.com",
			"CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
		"DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "allow-all"}}}`)
	out := filepath.Join(dir, "config", "site.cue")
	if code, _, stderr := runCLI("import", "--id", "site", "-o", out, in); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the config was not written: %v", err)
	}
}

// Every managed policy ID maps to a name openfront knows as managed.
func TestImportManagedPolicyNames(t *testing.T) {
	for _, k := range []importPolicy{cachePolicyKind, originRequestPolicyKind, responseHeadersPolicyKind} {
		for id, name := range k.managed {
			if !k.names(name) {
				t.Errorf("%s %s: openfront has no managed policy %q", k.field, id, name)
			}
		}
	}
}

// A function's code and a public key's PEM are imported as CUE multi-line
// strings, so the config reads as the code was written: each line of the
// .js file is a line of the config.
func TestImportCodeReadsAsWritten(t *testing.T) {
	dir := "testdata/import/functions"
	code, stdout, stderr := runCLI("import", dir+"/distribution-config.json", dir+"/docs-index.js", dir+"/describe-function.json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	js, err := os.ReadFile(dir + "/docs-index.js")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(stdout, "\n") {
		lines[strings.TrimLeft(l, "\t")] = true
	}
	for _, l := range strings.Split(strings.TrimSpace(string(js)), "\n") {
		if !lines[l] {
			t.Errorf("the config lacks the code's line %q:\n%s", l, stdout)
		}
	}
}

// cueString's multi-line form reads back, through CUE, as the string it
// was made of: escapes, interpolation-like text, blank lines and all.
func TestCueStringRoundTrip(t *testing.T) {
	for _, s := range []string{
		"one line",
		"function handler(event) {\n    return event.request;\n}\n",
		"no final newline\nsecond",
		"a \\ backslash\nand \\(not interpolation)\n",
		"quotes \" and \"\"\" triple\n",
		"\tindented by a tab\n\n\nblank lines above\n",
		"trailing spaces  \nand a \r carriage return\n",
		"\n",
		"",
	} {
		src := "package p\n\nx: {\n\tv: " + cueValue(s, 1) + "\n}\n"
		v := cuecontext.New().CompileString(src)
		got, err := v.LookupPath(cue.ParsePath("x.v")).String()
		if err != nil || got != s {
			t.Errorf("%q: read back %q (%v) from:\n%s", s, got, err, src)
		}
	}
}

// A store's keys and its ARN come from different commands: import says
// which one is missing, or what is wrong with a keys file, naming it.
func TestImportKeyValueStoreInputs(t *testing.T) {
	const arn = "arn:aws:cloudfront::123456789012:key-value-store/5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"
	describe := `{"ETag": "E1", "KeyValueStore": {"Name": "flags", "Id": "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b", "ARN": "` + arn + `", "Status": "READY"}}`
	dist := `{"CallerReference": "x", "Origins": {"Quantity": 1, "Items": [{"Id": "web", "DomainName": "web.example.com",
		"CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
		"DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "https-only"}}`
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // in stderr
	}{
		{"keys without their store", map[string]string{"flags.keys.json": `{"Items": []}`},
			[]string{"flags.keys.json: ", "aws cloudfront describe-key-value-store --name flags"}},
		{"a described store without its keys", map[string]string{"kvs.json": describe},
			[]string{"kvs.json: key value store flags", "add flags.keys.json", "list-keys --kvs-arn " + arn + " > flags.keys.json"}},
		{"a key twice in the import file", map[string]string{"kvs.json": describe,
			"flags.keys.json": `{"data": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}`},
			[]string{"flags.keys.json: item 1: key \"a\" again"}},
		{"a value that is no string", map[string]string{"kvs.json": describe,
			"flags.keys.json": `{"Items": [{"Key": "a", "Value": 1}]}`},
			[]string{"flags.keys.json: item 0: not {\"Key\": string, \"Value\": string}"}},
		{"keys in neither format", map[string]string{"kvs.json": describe, "flags.keys.json": `{"Keys": {}}`},
			[]string{"flags.keys.json: not the keys of a key value store", "list-keys", `{"data": [{"key", "value"}]}`}},
		{"keys under another name", map[string]string{"kvs.json": describe, "keys.json": `{"Items": []}`},
			[]string{"keys.json: the keys of a key value store: name the file STORE.keys.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"import", filepath.Join(dir, "dist.json")}
			writeFile(t, args[1], dist)
			for name, body := range tc.files {
				writeFile(t, filepath.Join(dir, name), body)
				args = append(args, filepath.Join(dir, name))
			}
			code, _, stderr := runCLI(args...)
			if code != exitFail {
				t.Errorf("exit %d, want %d", code, exitFail)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// A file that is not one JSON object is refused at its line and column,
// in words for the user rather than Go's types; a second object appended
// (`aws ... >> dist.json`) is refused rather than ignored.
func TestImportRefusesMalformedJSONAtItsPlace(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // in stderr
		notWant    string
	}{
		{"a broken literal", "{\n  \"DistributionConfig\": {\n    \"Enabled\": tru}\n}\n",
			[]string{"in.json:3:19: not the JSON the AWS CLI prints: invalid character '}' in literal true"}, ""},
		{"cut short", "{\n  \"DistributionConfig\": {\n", []string{"in.json:3:1: not the JSON the AWS CLI prints: unexpected end of JSON input"}, ""},
		{"an array", "\n [1, 2]", []string{"in.json:2:2: not the JSON the AWS CLI prints: an array, not an object"}, "interface"},
		{"empty", "", []string{"in.json:1:1: not the JSON the AWS CLI prints: the file is empty"}, ""},
		{"two objects", "{\"Foo\": {}}\n{\"Bar\": {}}\n", []string{"in.json:2:1: not the JSON the AWS CLI prints: more after the object ends"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "in.json")
			writeFile(t, in, tc.body)
			code, _, stderr := runCLI("import", in)
			if code != exitFail {
				t.Errorf("exit %d, want %d", code, exitFail)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tc.notWant != "" && strings.Contains(stderr, tc.notWant) {
				t.Errorf("stderr has %q:\n%s", tc.notWant, stderr)
			}
		})
	}
}

// compile -o into a directory that does not exist says so, not with the
// name of the temporary file the write goes through.
func TestCompileOutputDirectoryMissing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "build", "table.json")
	code, _, stderr := runCLI("compile", "-o", out, "../examples/quickstart")
	if code != exitFail {
		t.Errorf("exit %d, want %d", code, exitFail)
	}
	if want := "write " + out + ": no directory " + filepath.Join(dir, "build"); !strings.Contains(stderr, want) || strings.Contains(stderr, ".openfront-") {
		t.Errorf("stderr should say %q, without the temporary file:\n%s", want, stderr)
	}
}

// A directory given for the files says to name the files in it: import
// reads no directory (read DIR: is a directory said nothing of that).
func TestImportRefusesADirectory(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI("import", dir)
	if want := "openfront import: " + dir + " is a directory: name the files of aws output in it (" + dir + "/*.json, say)\n"; code != exitFail || stderr != want {
		t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitFail, want)
	}
}

// A value of the wrong type where the AWS CLI prints a number (a file
// edited by hand) is an error naming its place, never a panic; a number
// printed as a string, as CloudFront prints ResponseCode, is taken.
func TestImportRefusesOddValuesAtTheirPlace(t *testing.T) {
	dist := func(codes string) string {
		return `{"DistributionConfig": {"CallerReference": "x",
		"Origins": {"Quantity": 2, "Items": [
			{"Id": "a", "DomainName": "a.example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}},
			{"Id": "b", "DomainName": "b.example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
		"OriginGroups": {"Quantity": 1, "Items": [{"Id": "g",
			"FailoverCriteria": {"StatusCodes": {"Quantity": 2, "Items": ` + codes + `}},
			"Members": {"Quantity": 2, "Items": [{"OriginId": "a"}, {"OriginId": "b"}]}}]},
		"DefaultCacheBehavior": {"TargetOriginId": "g", "ViewerProtocolPolicy": "allow-all"}}}`
	}
	for _, tc := range []struct {
		name, codes string
		code        int
		want        string // in stderr, or stdout when code is exitOK
	}{
		{"a word", `["bad", 503]`, exitFail, `distributions.x.originGroups[0].failoverCriteria.statusCodes[0]: "bad" is not a status code`},
		{"an object", `[502, {}]`, exitFail, `distributions.x.originGroups[0].failoverCriteria.statusCodes[1]: {} is not a status code`},
		{"a number as a string", `["502", 503]`, exitOK, `statusCodes: [502, 503]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "in.json")
			writeFile(t, in, dist(tc.codes))
			code, stdout, stderr := runCLI("import", in)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if out := map[bool]string{true: stdout, false: stderr}[tc.code == exitOK]; !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// A function's code that is not UTF-8 (saved in Latin-1, say) is refused
// at its file, line and column, not written into a config CUE cannot
// read.
func TestImportRefusesCodeThatIsNotUTF8(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "docs-index.js")
	writeFile(t, js, "function handler(event) {\n    // caf\xe9\n    return event.request;\n}\n")
	code, stdout, stderr := runCLI("import", "testdata/import/functions/distribution-config.json", js)
	if code != exitFail || stdout != "" {
		t.Errorf("exit %d, stdout %q; want %d and nothing written", code, stdout, exitFail)
	}
	if want := js + ":2:11: not UTF-8"; !strings.Contains(stderr, want) || strings.Contains(stderr, "package cdn") {
		t.Errorf("stderr should name %q, without the config:\n%s", want, stderr)
	}
}

// TestImportOddText: text CUE's parser would refuse as written is carried
// over: a byte order mark in a function's code (escaped, it is the code's
// character), openssl's Bag Attributes in a trust store's bundle (only its
// certificates are kept), and a renamed origin id within the schema's 128
// characters even with its -2.
func TestImportOddText(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "docs-index.js")
	writeFile(t, js, "\ufefffunction handler(event) {\n    return event.request; // \ufeff\n}\n")
	code, stdout, stderr := runCLI("import", "testdata/import/functions/distribution-config.json", js)
	if code != exitOK || !strings.Contains(stdout, `\ufeff`) {
		t.Errorf("code with a byte order mark: exit %d, stderr:\n%s", code, stderr)
	}
	bundle, err := os.ReadFile("testdata/import/mtls/ts-8b2f4c1d.pem")
	if err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(dir, "ts-8b2f4c1d.pem")
	writeFile(t, pem, "Bag Attributes\n    friendlyName: Soci\xe9t\xe9\nsubject=/CN=Devices\n"+string(bundle))
	if code, _, stderr := runCLI("import", "testdata/import/mtls/distribution-config.json", pem); code != exitOK {
		t.Errorf("a bundle with openssl's Bag Attributes: exit %d, stderr:\n%s", code, stderr)
	}
	renamed := mapOriginIDs(newSrc("f", "d", map[string]any{"Origins": map[string]any{"Items": []any{
		map[string]any{"Id": strings.Repeat("a", 128) + "/1"}, map[string]any{"Id": strings.Repeat("a", 128) + "/2"}}}}))
	for id, n := range renamed {
		if len(n) > maxOriginID || !originIDPattern.MatchString(n) {
			t.Errorf("origin id %q renamed %q: %d characters, the schema takes %d", id, n, len(n), maxOriginID)
		}
	}
}
