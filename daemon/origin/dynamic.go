package origin

import (
	"container/list"
	"crypto/x509"
	"strings"
	"time"

	"openfront.dev/compiler/table"
)

// MaxEndpoints bounds the connection pools kept for origins that
// viewer-request functions made (updateRequestOrigin): a function may name
// a new domain on every request. Past it the least recently used pool is
// closed.
const MaxEndpoints = 64

// endpoint is what a function-made origin's connection pool depends on;
// the origin's path, custom headers and connection attempts are the
// request's own and share it.
type endpoint struct {
	distribution, domain                string
	connTimeout, readTimeout, keepalive int
	sslProtocols                        string
}

type endpoints struct {
	lru   list.List // of *endpointPool, most recently used first
	byKey map[endpoint]*list.Element
}

type endpointPool struct {
	key endpoint
	c   *custom
}

// fetcher is a fetcher for o, a function-made custom origin, on the pool
// of its endpoint. Called with the Pool's mu held.
func (e *endpoints) fetcher(d *table.Distribution, o *table.Origin, roots *x509.CertPool) Fetcher {
	c := o.Spec.CustomOriginConfig
	key := endpoint{d.ID, strings.ToLower(o.Spec.DomainName), o.Spec.ConnectionTimeout, c.OriginReadTimeout, c.OriginKeepaliveTimeout, strings.Join(c.OriginSSLProtocols, ",")}
	if e.byKey == nil {
		e.byKey = map[endpoint]*list.Element{}
	}
	el, ok := e.byKey[key]
	if ok {
		e.lru.MoveToFront(el)
	} else {
		el = e.lru.PushFront(&endpointPool{key: key, c: newCustom(o, roots)})
		e.byKey[key] = el
		if e.lru.Len() > MaxEndpoints {
			last := e.lru.Back()
			old := e.lru.Remove(last).(*endpointPool)
			delete(e.byKey, old.key)
			old.c.close()
		}
	}
	shared := el.Value.(*endpointPool).c
	f := &custom{origin: o, client: shared.client, grpc: shared.grpc, named: shared.named, namedGRPC: shared.namedGRPC}
	f.client.origin, f.client.attempts = o.ID, max(o.Spec.ConnectionAttempts, 1)
	f.client.completion = time.Duration(o.Spec.ResponseCompletionTimeout) * time.Second
	return f
}

// len is how many endpoints have a pool.
func (e *endpoints) len() int { return e.lru.Len() }

func (e *endpoints) closeAll() {
	for el := e.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*endpointPool).c.close()
	}
	e.lru.Init()
	clear(e.byKey)
}
