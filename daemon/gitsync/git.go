package gitsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultDir is where a syncer keeps its clone when no Dir is given: a
// directory per repository and branch under the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux), openfront/git/NAME-BRANCH-HASH;
// without a home, the same under .openfront-cache in the working directory.
func DefaultDir(rawURL, branch string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = ".openfront-cache"
	}
	// Without the URL's secret: a rotated token keeps the clone, and the
	// commit a restart serves while the remote is down.
	sum := sha256.Sum256([]byte(redactURL(rawURL) + "\x00" + branch))
	name := strings.TrimSuffix(filepath.Base(strings.TrimRight(rawURL, "/")), ".git")
	return filepath.Join(base, "openfront", "git", sanitize(name)+"-"+sanitize(branch)+"-"+hex.EncodeToString(sum[:4]))
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

// redactURL hides a password or token in a URL: status pages and logs
// show it to whoever can read them.
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw // a path, or scp-style user@host:path: no secret
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if tokenUser(u) != "" {
		if p, ok := u.User.Password(); ok {
			u.User = url.UserPassword("xxxxx", p) // Redacted hides p
		} else {
			u.User = url.User("xxxxx")
		}
	}
	return u.Redacted()
}

// minTokenUser is the shortest user name taken for a token: GitHub's,
// GitLab's and Gitea's are 26 characters and more, while a user name
// alone that is a name (Azure DevOps' https://ORG@dev.azure.com/ORG/...)
// stays readable.
const minTokenUser = 20

// minHiddenEverywhere is the shortest secret hideURLSecrets removes
// wherever it appears in a message: no word of git's is that long.
const minHiddenEverywhere = 12

// tokenUser is u's user name if it is a token git sends as the user over
// HTTP (https://TOKEN@github.com/, GitHub's https://TOKEN:x-oauth-basic@):
// long enough; ssh's user (git@) is never one. "" for none.
func tokenUser(u *url.URL) string {
	if u.User == nil || u.Scheme != "https" && u.Scheme != "http" {
		return ""
	}
	if name := u.User.Username(); len(name) >= minTokenUser {
		return name
	}
	return ""
}

// hideURLSecrets removes from msg the secrets redactURL hides in rawURL:
// git quotes the URL in forms of its own ("could not read Password for
// 'https://TOKEN@host'", without the path), as typed or percent-decoded.
// A secret shorter than minHiddenEverywhere is hidden in the URL's user
// part only, so that a short password does not blank its letters out of
// the rest of the message.
func hideURLSecrets(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.Contains(rawURL, "://") || u.User == nil {
		return msg
	}
	hide := func(secret string, contexts ...[2]string) {
		for _, f := range []string{secret, url.PathEscape(secret), url.QueryEscape(secret)} {
			if len(secret) >= minHiddenEverywhere {
				msg = strings.ReplaceAll(msg, f, "xxxxx")
				continue
			}
			for _, c := range contexts {
				msg = strings.ReplaceAll(msg, c[0]+f+c[1], c[0]+"xxxxx"+c[1])
			}
		}
	}
	if p, ok := u.User.Password(); ok && p != "" {
		hide(p, [2]string{":", "@"})
	}
	if name := tokenUser(u); name != "" {
		hide(name)
	}
	return msg
}

// gitEnv is the environment git runs with: the node's own (ssh agent,
// GIT_SSH_COMMAND, credential helpers, proxies), never prompting, and
// without variables that would point git at another repository (openfront
// started from a git hook has them), in the C locale.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
			"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX":
			continue
		}
		env = append(env, kv)
	}
	// LC_ALL=C: git's messages in English, which the node matches
	// ("does not support shallow") and its logs are written in.
	return append(env, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
}

// git runs one git command on the clone, bounded by Timeout and by ctx; a
// cancel kills its whole process group (ssh, remote helpers). The error
// carries git's message, with the URL's secret removed.
func (s *Syncer) git(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.opts.Git, append([]string{"--git-dir", s.repo}, args...)...)
	cmd.Env = gitEnv()
	// A session of its own: a process group to kill, and no controlling
	// terminal, so an ssh host-key or password prompt fails at once rather
	// than wait on the operator's terminal until the timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			msg = strings.TrimSpace(msg + " (" + ctx.Err().Error() + ")")
		}
		if s.opts.URL != s.url {
			msg = strings.ReplaceAll(msg, s.opts.URL, s.url)
		}
		msg = hideURLSecrets(msg, s.opts.URL)
		name := args[0] // the subcommand, after any -c NAME=VALUE
		for i := 0; i+2 < len(args) && args[i] == "-c"; i += 2 {
			name = args[i+2]
		}
		if msg == "" {
			return "", fmt.Errorf("git %s: %w", name, err)
		}
		return "", fmt.Errorf("git %s: %s: %w", name, msg, err)
	}
	return stdout.String(), nil
}
