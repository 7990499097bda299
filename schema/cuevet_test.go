package schema_test

import (
	"os/exec"
	"path"
	"strings"
	"testing"

	"openfront.dev/compiler"
)

// cueVet runs the real cue CLI (a tool in go.mod) from the module root, as a
// config repo's CI would; args name module-relative packages.
func cueVet(args ...string) (string, error) {
	cmd := exec.Command("go", append([]string{"tool", "cue", "vet"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCueFmt: the schema, the policies and the examples are as cue fmt
// writes them, so a user who vendors them (openfront init) and runs cue
// fmt in CI gets no diff from openfront's own files.
func TestCueFmt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cue CLI")
	}
	cmd := exec.Command("go", "tool", "cue", "fmt", "--check", "./schema/", "./policies/", "./examples/...")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("go tool cue fmt --check: %v; not formatted:\n%s", err, out)
	}
}

// TestCueVet vets the schema, the policies and every example.
func TestCueVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cue CLI")
	}
	if out, err := cueVet("-c", "./schema/", "./policies/", "./examples/..."); err != nil {
		t.Fatalf("go tool cue vet: %v\n%s", err, out)
	}
}

// TestCueVetAgrees runs plain `cue vet`, as a user's CI does, and openfront's
// compiler on the config packages of testdata/cuevet: a misspelt field, or a
// policy's whitelist or allExcept whose list is left out, must fail both,
// wherever it is, or CI goes green and every node then refuses the deploy.
func TestCueVetAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cue CLI")
	}
	for _, tc := range []struct {
		dir string
		at  string // file:line:col of the faulty field; "" for a valid config
		msg string // cue vet's error; "" for "field not allowed"
	}{
		{"typo-top-level", "cdn.cue:20:1", ""},
		{"typo-top-level-second-file", "live.cue:4:1", ""},
		{"typo-in-distribution-second-file", "www.cue:9:3", ""},
		{"typo-in-response-headers-policy", "headers.cue:5:2", ""},
		{"list-left-out-cache-policy", "cdn.cue:16:95", `cookieBehavior "allExcept" needs at least one name in cookies`},
		{"list-left-out-origin-request-policy", "cdn.cue:18:61", `headerBehavior "whitelist" needs at least one name in headers`},
		{"valid-multi-file", "", ""},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			dir := path.Join("testdata/cuevet", tc.dir)
			_, cerr := compiler.New(dir).Compile()
			msg := tc.msg
			if msg == "" {
				msg = "field not allowed"
			}
			for _, flags := range [][]string{nil, {"-c"}} {
				out, err := cueVet(append(flags, "./schema/"+dir)...)
				switch {
				case tc.at == "" && err != nil:
					t.Errorf("cue vet %v: %v\n%s", flags, err, out)
				case tc.at != "" && err == nil:
					t.Errorf("cue vet %v accepts the field at %s", flags, tc.at)
				case tc.at != "" && !reported(out, msg, "./schema/"+dir+"/"+tc.at):
					t.Errorf("cue vet %v: want %q at %s in:\n%s", flags, msg, tc.at, out)
				}
			}
			switch {
			case tc.at == "" && cerr != nil:
				t.Errorf("openfront refuses it: %v", cerr)
			case tc.at != "" && (cerr == nil || !strings.Contains(cerr.Error(), dir+"/"+tc.at+": ")):
				t.Errorf("openfront: want an error at %s, got %v", tc.at, cerr)
			}
		})
	}
}

// reported says cue vet's output has msg with pos among the positions
// listed under it.
func reported(out, msg, pos string) bool {
	for _, block := range strings.Split(out, msg+":\n")[1:] {
		for line := range strings.Lines(block) {
			if !strings.HasPrefix(line, "    ") {
				break
			}
			if line == "    "+pos+"\n" {
				return true
			}
		}
	}
	return false
}

// TestCueVetQuotaSums: CloudFront's quotas on a total (cookie names,
// query string names, an origin's custom headers, a policy's names) and on
// a response headers policy's custom headers are the schema's, so a
// config repo's cue vet refuses what openfront vet refuses, rather than
// CI passing a config every node then refuses. The sums' messages are the
// same words; cue vet places them at the schema's line, not the user's
// (CUE's error() carries its own position), and says a list quota its own
// way.
func TestCueVetQuotaSums(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cue CLI")
	}
	const dir = "testdata/cuevet/quota-sums"
	out, err := cueVet("-c", "./schema/"+dir)
	if err == nil {
		t.Fatalf("cue vet accepts %s", dir)
	}
	_, cerr := compiler.New(dir).Compile()
	if cerr == nil {
		t.Fatalf("openfront accepts %s", dir)
	}
	for _, tc := range []struct{ cue, openfront string }{
		{"distributions.cookies.defaultCacheBehavior.forwardedValues.cookies.whitelistedNames: 10 cookie names of 510 bytes in all; CloudFront takes at most 512 bytes minus the number of names (502)", ""},
		{"distributions.cookies.defaultCacheBehavior.forwardedValues.queryStringCacheKeys: the names are 520 characters in all, at most 512", ""},
		{"distributions.headers.origins.0.customHeaders: the custom headers' names and values are 10296 characters in all, at most 10240",
			"distributions.headers.origins[0].customHeaders: the custom headers' names and values are 10296 characters in all, at most 10240"},
		{"cachePolicies.long.parametersInCacheKeyAndForwardedToOrigin.headersConfig.headers: the policy's header, cookie and query string names are 1100 characters in all (1100, 0 and 0), at most 1024", ""},
		{"originRequestPolicies.long.headersConfig.headers: the policy's header, cookie and query string names are 1100 characters in all (1100, 0 and 0), at most 1024", ""},
		{"responseHeadersPolicies.many.customHeadersConfig: invalid value", "responseHeadersPolicies.many.customHeadersConfig: 11 items, at most 10"},
	} {
		if !strings.Contains(out, tc.cue) {
			t.Errorf("cue vet: want %q in:\n%s", tc.cue, out)
		}
		want := tc.openfront
		if want == "" {
			want = tc.cue
		}
		if !strings.Contains(cerr.Error(), want) {
			t.Errorf("openfront: want %q in:\n%v", want, cerr)
		}
	}
}
