package gitsync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// maxPayload is GitHub's own limit on a webhook's body.
const maxPayload = 25 << 20

// ReadSecret reads a webhook secret file. Surrounding white space is not
// part of the secret: `echo secret > file` leaves a newline.
func ReadSecret(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 {
		return nil, fmt.Errorf("webhook secret: %s is empty", file)
	}
	return b, nil
}

// Sign is the X-Hub-Signature-256 value of body: "sha256=" and the hex
// HMAC-SHA256 of body keyed by secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// verify checks a delivery's signature: GitHub's X-Hub-Signature-256
// (sha256=HEX), which Gitea and Forgejo send too, or their own bare-hex
// X-Gitea-Signature / X-Forgejo-Signature. The first header present is the
// one checked.
func verify(secret, body []byte, h http.Header) error {
	var got string
	switch {
	case h.Get("X-Hub-Signature-256") != "":
		v, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		if !ok {
			return errors.New("X-Hub-Signature-256 is not sha256=HEX")
		}
		got = v
	case h.Get("X-Forgejo-Signature") != "":
		got = h.Get("X-Forgejo-Signature")
	case h.Get("X-Gitea-Signature") != "":
		got = h.Get("X-Gitea-Signature")
	default:
		return errors.New("no X-Hub-Signature-256 header")
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return errors.New("the signature is not hex")
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return errors.New("the signature does not match the secret")
	}
	return nil
}

// Webhook returns the handler of POST /hooks/git: a delivery signed with
// the secret in secretFile has the syncer fetch now (202); a bad or missing
// signature gets 401. The file is read on every delivery, so a new secret
// takes effect without a restart. With no secretFile, deliveries get 403.
// Any signed event triggers: a fetch that finds nothing new costs little.
func (s *Syncer) Webhook(secretFile string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secretFile == "" {
			http.Error(w, "webhooks are off: start the node with --git-webhook-secret-file", http.StatusForbidden)
			return
		}
		secret, err := ReadSecret(secretFile)
		if err != nil {
			s.log.Error("webhook refused", "error", err)
			http.Error(w, "the node cannot read its webhook secret", http.StatusInternalServerError)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading the payload: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := verify(secret, body, r.Header); err != nil {
			s.log.Warn("webhook refused", "remote", r.RemoteAddr, "error", err)
			http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
		s.log.Info("webhook: fetching now", "event", first(r.Header, "X-GitHub-Event", "X-Gitea-Event", "X-Forgejo-Event"),
			"delivery", first(r.Header, "X-GitHub-Delivery", "X-Gitea-Delivery", "X-Forgejo-Delivery"))
		s.Trigger()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "fetching "+s.opts.Branch+"\n")
	})
}

// first is the first of the named headers that is set.
func first(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}
