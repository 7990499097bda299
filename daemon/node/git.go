package node

import (
	"errors"
	"net/http"
	"time"

	"openfront.dev/daemon/gitsync"
)

// GitOptions serve the config from a git branch (serve --git): see package
// gitsync. The reloader compiles the syncer's current checkout; a commit
// that does not compile is rolled back and the last good one keeps serving.
type GitOptions struct {
	URL    string
	Branch string        // default main
	Dir    string        // clone and checkouts; default gitsync.DefaultDir
	Subdir string        // the config's directory inside the repository
	Poll   time.Duration // default 15s; negative: webhooks only
	// WebhookSecretFile holds the secret of POST /hooks/git on the admin
	// listener; without it the endpoint refuses every delivery.
	WebhookSecretFile string
}

// newGit makes the syncer and points the config dir at its checkout.
func (n *Node) newGit() error {
	g := n.opts.Git
	if n.opts.ConfigDir != "" || n.opts.TableFile != "" {
		return errors.New("node: a git repository replaces the config dir and the table file: give one")
	}
	if g.WebhookSecretFile != "" {
		if _, err := gitsync.ReadSecret(g.WebhookSecretFile); err != nil {
			return err // fail at start, not at the first push
		}
	}
	s, err := gitsync.New(gitsync.Options{URL: g.URL, Branch: g.Branch, Dir: g.Dir, Subdir: g.Subdir, Poll: g.Poll, Logger: n.log,
		Deploy: n.deployCheckout})
	if err != nil {
		return err
	}
	n.git, n.webhook = s, s.Webhook(g.WebhookSecretFile)
	n.opts.ConfigDir = s.ConfigDir()
	return nil
}

// deployCheckout compiles the syncer's current checkout and swaps the
// table in; an error rejects the commit, and the syncer logs it at paths in
// the repository (the checkout's are gone after the rollback). After a
// rollback the table served is compiled again but not applied: it did not
// change, nor does the time it was applied.
func (n *Node) deployCheckout() error {
	return n.reloader.Deploy()
}

// GitStatus is the syncer's state with the served table's commit, or nil
// when the config does not come from git.
func (n *Node) GitStatus() *gitsync.Status {
	if n.git == nil {
		return nil
	}
	st := n.git.Status()
	if t := n.Table(); t != nil {
		st.Applied = t.Source().Commit
	}
	return &st
}

// GitWebhook is the handler of POST /hooks/git, or nil when the config
// does not come from git.
func (n *Node) GitWebhook() http.Handler { return n.webhook }
