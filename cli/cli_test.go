package cli

import (
	"bytes"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The command list lines every summary up in one column, whatever the
// longest command's name, and lists every command.
func TestUsageListsCommandsInOneColumn(t *testing.T) {
	var out bytes.Buffer
	if code := Main([]string{"help"}, &out, &out); code != exitOK {
		t.Fatalf("help exited %d", code)
	}
	_, list, ok := strings.Cut(out.String(), "commands:\n")
	if !ok {
		t.Fatalf("no command list in:\n%s", out.String())
	}
	list, _, _ = strings.Cut(list, "\n\n")
	lines := strings.Split(list, "\n")
	if len(lines) != len(commands) {
		t.Fatalf("%d lines for %d commands:\n%s", len(lines), len(commands), list)
	}
	column := -1
	for _, l := range lines {
		name := strings.Fields(l)[0]
		at := strings.Index(l, commands[name].summary)
		if at < 0 {
			t.Fatalf("line %q lacks %s's summary", l, name)
		}
		if column >= 0 && at != column {
			t.Errorf("%s's summary starts at column %d, the first one's at %d:\n%s", name, at, column, list)
		}
		column = at
	}
}

// Each command's usage line names every flag its -h lists: the line is
// what a user reads first, and the README's CLI table copies it.
func TestUsageLineNamesEveryFlag(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([a-zA-Z0-9-]+)`)
	for name := range commands {
		var out bytes.Buffer
		if code := Main([]string{"help", name}, &out, &out); code != exitOK {
			t.Fatalf("help %s exited %d", name, code)
		}
		_, rest, ok := strings.Cut(out.String(), "usage: ")
		if !ok {
			t.Fatalf("help %s has no usage line:\n%s", name, out.String())
		}
		line, flags, _ := strings.Cut(rest, "\n")
		for _, m := range flagLine.FindAllStringSubmatch(flags, -1) {
			named := regexp.MustCompile(`(^|[ \[(|])--?` + regexp.QuoteMeta(m[1]) + `([ =\])|]|$)`)
			if !named.MatchString(line) {
				t.Errorf("openfront %s: the usage line lacks -%s:\n%s", name, m[1], line)
			}
		}
	}
}

// Wrong arguments name what is wrong before the usage, and exit 2.
func TestBadUsageSaysWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // stderr's first line
	}{
		{[]string{"serve"}, "openfront serve: name what to serve: --config DIR, --table FILE or --git URL"},
		{[]string{"serve", "--config", "a", "--git", "b"}, "openfront serve: --config, --table and --git exclude each other: name one"},
		{[]string{"serve", "--config", "a", "--tls-cert", "c.pem"}, "openfront serve: --tls-cert and --tls-key go together"},
		{[]string{"serve", "--config", "a", "extra"}, `openfront serve: unexpected argument "extra"`},
		// A listen address that cannot be, before the config is compiled.
		{[]string{"serve", "--config", "a", "--http", "localhost"}, `openfront serve: --http "localhost": no port: write localhost:8080, or :8080 for every address`},
		{[]string{"serve", "--config", "a", "--admin", "127.0.0.1:99999"}, `openfront serve: --admin "127.0.0.1:99999": the port is a number, 0 to 65535`},
		{[]string{"serve", "--config", "a", "--https", "::1:8443"}, `openfront serve: --https "::1:8443": an IPv6 address goes in brackets, the port after them: [ADDRESS]:PORT, such as [::1]:8443`},
		{[]string{"serve", "--config", "a", "--rtmp", "0.0.0.0:nosuchport"}, `openfront serve: --rtmp "0.0.0.0:nosuchport": the port is a number, 0 to 65535`},
		{[]string{"serve", "--config", "a", "--admin", "http://127.0.0.1:9090"}, `openfront serve: --admin "http://127.0.0.1:9090": a listen address is HOST:PORT, not a URL: write 127.0.0.1:9090`},
		{[]string{"serve", "--config", "a", "--http", "http://localhost/"}, `openfront serve: --http "http://localhost/": a listen address is HOST:PORT, not a URL: write localhost:8080`},
		{[]string{"serve", "--config", "a", "--http", "8080"}, `openfront serve: --http "8080": a port alone is written :8080 (every address) or 127.0.0.1:8080`},
		{[]string{"serve", "--config", "a", "--hls-segment", "1ms"}, `openfront serve: --hls-segment must be from 1s to 30s (it is 1ms); 2s to 6s is usual`},
		{[]string{"serve", "--config", "a", "--hls-segment", "1h"}, `openfront serve: --hls-segment must be from 1s to 30s (it is 1h0m0s); 2s to 6s is usual`},
		{[]string{"vet"}, "openfront vet: missing DIR"},
		{[]string{"compile", "a", "b"}, `openfront compile: unexpected argument "b"`},
		{[]string{"route", "dir"}, "openfront route: missing URL"},
		{[]string{"diff"}, "openfront diff: missing OLD and NEW"},
		{[]string{"init"}, "openfront init: missing DIR"},
		{[]string{"import", "-o", "cdn.cue"}, "openfront import: missing JSON: name at least one file of `aws cloudfront get-*` output"},
		{[]string{"status", "node"}, `openfront status: unexpected argument "node"`},
		{[]string{"invalidate", "/a"}, "openfront invalidate: --distribution and --token-file are required"},
		{[]string{"invalidate", "--distribution", "d", "/a"}, "openfront invalidate: --token-file is required"},
		{[]string{"invalidate", "--distribution", "d", "--token-file", "t"}, "openfront invalidate: missing PATH: name at least one path to invalidate"},
		{[]string{"sign", "--url", "https://d/x"}, "openfront sign: --key-pair-id, --private-key and --expires are required"},
		// The flag package reports a bad flag itself, once.
		{[]string{"vet", "--bogus"}, "flag provided but not defined: -bogus"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(tc.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			first, rest, _ := strings.Cut(stderr.String(), "\n")
			if first != tc.want {
				t.Errorf("stderr starts %q, want %q", first, tc.want)
			}
			if !strings.HasPrefix(rest, "usage: openfront "+tc.args[0]) || strings.Count(rest, "usage:") != 1 {
				t.Errorf("the usage should follow once:\n%s", stderr.String())
			}
		})
	}
}

// COMMAND --help (or -h) is help COMMAND: the summary and the flags on
// stdout, exit 0, wherever the flag is; an unknown command's is still a
// usage error.
func TestCommandHelpFlag(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"vet", "-h"}, {"serve", "--config", "x", "-help"}, {"route", "DIR", "--help"}} {
		var stdout, stderr bytes.Buffer
		code := Main(args, &stdout, &stderr)
		if code != exitOK || stderr.Len() != 0 || !strings.Contains(stdout.String(), commands[args[0]].summary) || !strings.Contains(stdout.String(), "usage: openfront "+args[0]) {
			t.Errorf("%q: exit %d, stdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
		}
	}
	var out bytes.Buffer
	if code := Main([]string{"nosuch", "--help"}, &out, &out); code != exitUsage {
		t.Errorf("an unknown command's --help: exit %d, want %d", code, exitUsage)
	}
	// After "--" a -h is an argument: the command runs and judges it.
	out.Reset()
	if code := Main([]string{"route", "no-such-dir", "--", "-h"}, &out, &out); code == exitOK || strings.Contains(out.String(), commands["route"].summary) {
		t.Errorf("route DIR -- -h: exit %d, output:\n%s\nwant the command's own error", code, out.String())
	}
}

// A misspelt command or flag names the one meant, as git and cue do, and
// so does a command a user of another tool reaches for (nginx -t and
// caddy validate are vet here, terraform plan is diff); still exit 2.
func TestUnknownSuggests(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // a line of stderr
	}{
		{[]string{"vett", "dir"}, `openfront: unknown command "vett"; did you mean vet?`},
		{[]string{"rout"}, `openfront: unknown command "rout"; did you mean route?`},
		{[]string{"Status"}, `openfront: unknown command "Status"; did you mean status?`},
		{[]string{"validate", "dir"}, `openfront: unknown command "validate"; did you mean vet?`},
		{[]string{"plan"}, `openfront: unknown command "plan"; did you mean diff?`},
		{[]string{"purge"}, `openfront: unknown command "purge"; did you mean invalidate?`},
		{[]string{"frobnicate"}, `openfront: unknown command "frobnicate"`},
		{[]string{"help", "vett"}, `openfront: unknown command "vett"; did you mean vet?`},
		{[]string{"vett", "--help"}, `openfront: unknown command "vett"; did you mean vet?`},
		{[]string{"route", "dir", "http://x/", "--viewr-ip", "1.2.3.4"}, "openfront route: did you mean --viewer-ip?"},
		{[]string{"route", "dir", "http://x/", "--jsno"}, "openfront route: did you mean --json?"},
		{[]string{"route", "dir", "http://x/", "-h=x"}, ""},
		{[]string{"compile", "dir", "--o", "x"}, ""}, // -o is --o to the flag package: no error
		{[]string{"status", "--admn", "x"}, "openfront status: did you mean --admin?"},
		{[]string{"invalidate", "--distribtion", "d"}, "openfront invalidate: did you mean --distribution?"},
		{[]string{"serve", "--confg", "d"}, "openfront serve: did you mean --config?"},
		{[]string{"vet", "--bogus", "d"}, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tc.args, &stdout, &stderr)
			if tc.want == "" {
				if strings.Contains(stderr.String(), "did you mean") {
					t.Errorf("suggests where nothing is near:\n%s", stderr.String())
				}
				return
			}
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !slices.Contains(strings.Split(stderr.String(), "\n"), tc.want) {
				t.Errorf("stderr lacks the line %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

// help COMMAND ends with examples to copy, as cue, caddy and terraform
// help do, and each uses only flags the command has.
func TestHelpHasExamples(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([a-zA-Z0-9-]+)`)
	for name := range commands {
		var out bytes.Buffer
		Main([]string{"help", name}, &out, &out)
		_, examples, ok := strings.Cut(out.String(), "\nexamples:\n")
		if !ok {
			t.Errorf("help %s has no examples:\n%s", name, out.String())
			continue
		}
		flags := map[string]bool{}
		for _, m := range flagLine.FindAllStringSubmatch(out.String(), -1) {
			flags[m[1]] = true
		}
		for _, ex := range strings.Split(strings.TrimRight(examples, "\n"), "\n") {
			if ex != "  openfront "+name && !strings.HasPrefix(ex, "  openfront "+name+" ") {
				t.Errorf("help %s: example %q does not run openfront %s", name, ex, name)
			}
			for _, f := range strings.Fields(ex) {
				if !strings.HasPrefix(f, "-") {
					continue
				}
				f, _, _ = strings.Cut(strings.TrimLeft(f, "-"), "=")
				if !flags[f] {
					t.Errorf("help %s: example %q uses -%s, which openfront %s lacks", name, ex, f, name)
				}
			}
		}
	}
}

// version and --version say which openfront this is, as cue version and
// caddy version do: what a bug report and the CI workflow's
// OPENFRONT_VERSION need.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var stdout, stderr bytes.Buffer
		code := Main(args, &stdout, &stderr)
		if code != exitOK || !strings.HasPrefix(stdout.String(), "openfront ") || !strings.Contains(stdout.String(), runtime.Version()) || stderr.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	}
}

// TestHelpOfHelp: help help and help --version answer, as help and
// help version do.
func TestHelpOfHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"help", "help"}, "usage: openfront COMMAND"},
		{[]string{"help", "--version"}, "openfront version"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(tc.args, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and %q", tc.args, code, stdout.String(), stderr.String(), tc.want)
		}
	}
}

// TestRouteMethodIsAToken: route -X takes one token, as a request line's
// method (RFC 9110 9.1).
func TestRouteMethodIsAToken(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"route", "-X", "GE T", "dir", "http://x/"}, &stdout, &stderr)
	if want := `openfront route: method "GE T": a method is one token, such as GET or POST`; code != exitUsage || !strings.Contains(stderr.String(), want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, want)
	}
}
