package edge

import (
	"encoding/base64"
	"sync"
	"testing"
)

// TestRequestIDs checks the ids requests get: distinct across goroutines,
// 24 characters of base64url, and all of a process's sharing its random
// part (what lets gzip shrink them in a log).
func TestRequestIDs(t *testing.T) {
	const goroutines, each = 4, 5000
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range ids {
		wg.Go(func() {
			for range each {
				ids[g] = append(ids[g], requestID()[0])
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool, goroutines*each)
	prefix := ids[0][0][:16]
	for _, list := range ids {
		for _, id := range list {
			if seen[id] {
				t.Fatalf("id %q given twice", id)
			}
			seen[id] = true
			if b, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(id) != 24 || len(b) != 18 {
				t.Fatalf("id %q: not 18 bytes in base64url (%v)", id, err)
			}
			if id[:16] != prefix {
				t.Fatalf("id %q does not start with the process's %q", id, prefix)
			}
		}
	}
}
