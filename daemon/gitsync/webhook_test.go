package gitsync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebhook(t *testing.T) {
	const body = `{"ref":"refs/heads/main","after":"0123"}`
	secret := "hook-secret"
	secretFile := filepath.Join(t.TempDir(), "secret")
	// A trailing newline, as echo leaves it, is not part of the secret.
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	hexSig := hex.EncodeToString(mac.Sum(nil))

	cases := []struct {
		name    string
		file    string
		headers map[string]string
		status  int
	}{
		{"github signature", secretFile, map[string]string{"X-Hub-Signature-256": "sha256=" + hexSig, "X-GitHub-Event": "push"}, http.StatusAccepted},
		{"gitea signature", secretFile, map[string]string{"X-Gitea-Signature": hexSig, "X-Gitea-Event": "push"}, http.StatusAccepted},
		{"forgejo signature", secretFile, map[string]string{"X-Forgejo-Signature": hexSig}, http.StatusAccepted},
		{"no signature", secretFile, nil, http.StatusUnauthorized},
		{"wrong secret", secretFile, map[string]string{"X-Hub-Signature-256": Sign([]byte("other"), []byte(body))}, http.StatusUnauthorized},
		{"signature of another body", secretFile, map[string]string{"X-Hub-Signature-256": Sign([]byte(secret), []byte(body+" "))}, http.StatusUnauthorized},
		{"sha1 prefix", secretFile, map[string]string{"X-Hub-Signature-256": "sha1=" + hexSig}, http.StatusUnauthorized},
		{"not hex", secretFile, map[string]string{"X-Hub-Signature-256": "sha256=zz"}, http.StatusUnauthorized},
		// The GitHub header is the one checked when present.
		{"bad github, good gitea", secretFile, map[string]string{"X-Hub-Signature-256": "sha256=00", "X-Gitea-Signature": hexSig}, http.StatusUnauthorized},
		{"no secret configured", "", map[string]string{"X-Hub-Signature-256": "sha256=" + hexSig}, http.StatusForbidden},
		{"secret file missing", filepath.Join(t.TempDir(), "none"), map[string]string{"X-Hub-Signature-256": "sha256=" + hexSig}, http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{URL: "/r.git", Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("POST", "/hooks/git", strings.NewReader(body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.Webhook(tc.file).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			triggered := len(s.wake) == 1
			if triggered != (tc.status == http.StatusAccepted) {
				t.Errorf("triggered %v with status %d", triggered, rec.Code)
			}
		})
	}
}

func TestSign(t *testing.T) {
	// The example of GitHub's webhook documentation.
	got := Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
