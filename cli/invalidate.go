package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"openfront.dev/daemon/admin"
)

func init() {
	register("invalidate", command{
		summary: "remove paths from a node's cache (CloudFront's CreateInvalidation) and wait until done",
		usage:   "invalidate --distribution ID --token-file FILE [--admin URL[,URL...]] [--caller-reference REF] [--wait=false] [--timeout 5m] PATH...",
		examples: []string{
			"invalidate --token-file /etc/openfront/admin-token --distribution site '/images/*' /index.html",
			"invalidate --token-file token --distribution site --admin http://shield:9090,http://node-1:9090 '/*'",
		},
		run: runInvalidate,
	})
}

func runInvalidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("invalidate", commands["invalidate"].usage, stderr)
	admins := fs.String("admin", "http://127.0.0.1:9090", "the node's admin listener `URL` (or HOST:PORT); in a fleet, URL,URL,...: each node completes before the next is asked, so name a region's Origin Shield node before the nodes that ask it")
	tokenFile := fs.String("token-file", "", "`FILE` holding the bearer token (the node's --admin-token-file)")
	dist := fs.String("distribution", "", "the web distribution's `ID`")
	ref := fs.String("caller-reference", "", "a unique `REF`: repeating a request with it is safe (default: a new one)")
	wait := fs.Bool("wait", true, "wait until the invalidation has completed")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for each node")
	paths, err := parseFlags(fs, args)
	nodes := strings.Split(*admins, ",")
	bases := make([]string, len(nodes))
	var badNode error // checked before any node is asked: no fleet half invalidated
	for i := range nodes {
		nodes[i] = strings.TrimSpace(nodes[i])
		if nodes[i] != "" && badNode == nil {
			bases[i], badNode = adminBase(nodes[i])
		}
	}
	if err != nil || len(paths) == 0 || *dist == "" || *tokenFile == "" || len(nodes) > 1 && !*wait || slices.Contains(nodes, "") || badNode != nil {
		problem := ""
		switch {
		case slices.Contains(nodes, ""):
			problem = fmt.Sprintf("--admin %q: a node's URL is empty", *admins)
		case badNode != nil:
			problem = badNode.Error()
		case len(paths) == 0:
			problem = "missing PATH: name at least one path to invalidate"
		case len(nodes) > 1 && !*wait:
			// A node whose shield still has the old copy refills it.
			problem = "--wait=false with several --admin nodes: each must complete before the next is asked, or a node refills the old content from its shield"
		}
		return badUsage(fs, err, required(fs, "distribution", "token-file"), problem)
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "openfront invalidate: "+format+"\n", a...)
		return exitFail
	}
	token, err := admin.ReadTokenFile(*tokenFile)
	if err != nil {
		return fail("%v", err)
	}
	if *ref == "" {
		*ref = newCallerReference()
	}
	batch := admin.InvalidationBatch{Paths: paths, CallerReference: *ref}
	for i, base := range bases {
		c := invalidationClient{base: base, token: token}
		inv, err := c.invalidate(*dist, batch, *wait, *timeout, func(id string) { fmt.Fprintln(stdout, id) })
		if err != nil {
			switch {
			case i > 0:
				// Every node keeps the reference: those done answer a retry with their invalidation.
				err = fmt.Errorf("%s: %w (completed on %s: a retry with --caller-reference %s does not run it there again)", nodes[i], err, strings.Join(nodes[:i], ", "), *ref)
			case len(nodes) > 1:
				err = fmt.Errorf("%s: %w (not asked of the nodes after it)", nodes[i], err)
			}
			return fail("%v", err)
		}
		if !*wait {
			continue
		}
		on := ""
		if len(nodes) > 1 {
			on = " on " + c.base
		}
		fmt.Fprintf(stderr, "%s completed%s: %d cached objects removed\n", inv.ID, on, inv.Removed)
	}
	return exitOK
}

// invalidate makes batch's invalidation on the node, says its id as
// soon as the node answers, and waits for its completion when wait is set.
func (c invalidationClient) invalidate(dist string, batch admin.InvalidationBatch, wait bool, timeout time.Duration, created func(id string)) (*admin.Invalidation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	body, _ := json.Marshal(batch)
	inv, loc, err := c.do(ctx, http.MethodPost, c.base+"/distributions/"+dist+"/invalidations", body, http.StatusCreated)
	if errors.Is(err, context.DeadlineExceeded) {
		// The node may have made it: the same reference makes a retry safe.
		return nil, fmt.Errorf("no answer from %s within --timeout %s; the invalidation may have been made: retrying with --caller-reference %s is safe", c.base, timeout, batch.CallerReference)
	}
	if err != nil {
		return nil, err
	}
	created(inv.ID)
	if !wait {
		return inv, nil
	}
	// The node completes an invalidation in moments; back off anyway.
	for delay := 50 * time.Millisecond; inv.Status != admin.StatusCompleted; delay = min(2*delay, 2*time.Second) {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s still %s after %s", inv.ID, inv.Status, timeout)
		case <-time.After(delay):
		}
		next, _, err := c.do(ctx, http.MethodGet, loc, nil, http.StatusOK)
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s still %s after %s: no answer from %s", inv.ID, inv.Status, timeout, c.base)
		}
		if err != nil {
			return nil, err
		}
		inv = next
	}
	return inv, nil
}

// adminBase is the admin listener's base URL --admin names: a URL, or a
// bare HOST:PORT taken as http. A wrong one is an error saying how to
// write it: url.Parse's own is about the http:// added, and a bare IPv6
// address with a port (fd00::5:9090) cannot be told from one without.
func adminBase(s string) (string, error) {
	const want = "want an http:// or https:// URL, or HOST:PORT"
	raw := s
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if !strings.Contains(s, "://") {
		if strings.Count(s, ":") > 1 && !strings.Contains(s, "[") {
			return "", fmt.Errorf("--admin %q: an IPv6 address goes in brackets, the port after them: [ADDRESS]:PORT, such as [::1]:9090", raw)
		}
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its "parse URL" quotes the http:// added
		}
		return "", fmt.Errorf("--admin %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("--admin %q: %s", raw, want)
	}
	return s, nil
}

func newCallerReference() string {
	var b [6]byte
	rand.Read(b[:])
	return "openfront-cli-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

type invalidationClient struct{ base, token string }

// do sends one API request and decodes the invalidation it answers, or
// the node's error.
func (c invalidationClient) do(ctx context.Context, method, target string, body []byte, want int) (*admin.Invalidation, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", noNodeAnswers(c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", method, target, err)
	}
	if resp.StatusCode != want {
		var e admin.APIError
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return nil, "", fmt.Errorf("%s: %s: %s", resp.Status, e.Error.Code, e.Error.Message)
		}
		return nil, "", fmt.Errorf("%s %s: %s %s", method, target, resp.Status, strings.TrimSpace(string(b)))
	}
	var inv admin.Invalidation
	if err := json.Unmarshal(b, &inv); err != nil || inv.ID == "" {
		return nil, "", fmt.Errorf("%s %s: not an invalidation: %.200s", method, target, b)
	}
	// Not the Location header: the token goes to the --admin URL only.
	return &inv, c.base + "/distributions/" + inv.DistributionID + "/invalidations/" + inv.ID, nil
}
