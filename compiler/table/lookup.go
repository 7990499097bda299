package table

import (
	"iter"
	"net/url"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"openfront.dev/schema"
)

// Version is the table's content hash: "sha256:...".
func (t *Table) Version() string { return t.version }

// Source says where the config came from.
func (t *Table) Source() Source { return t.source }

// Config is the vetted config the table was built from. Read only.
func (t *Table) Config() *schema.Config { return t.config }

// Route finds the distribution serving host and the behavior for path: the
// first cacheBehaviors entry whose pathPattern matches, else the default.
// It returns nils for an unknown host, and a disabled distribution like any
// other: refusing it is the edge's decision. It does not allocate.
func (t *Table) Route(host, path string) (*Distribution, *Behavior) {
	d, ok := t.hosts.lookup(host)
	if !ok {
		return nil, nil
	}
	return d, d.Behavior(path)
}

// DistributionForHost finds the distribution whose alias matches host.
func (t *Table) DistributionForHost(host string) *Distribution {
	d, _ := t.hosts.lookup(host)
	return d
}

// ExplainHost is DistributionForHost that also says which alias matched.
func (t *Table) ExplainHost(host string) (*Distribution, HostMatch) {
	d, m, _ := t.hosts.explain(host)
	return d, m
}

// Behavior returns the behavior for path: the first pattern matching it
// normalized (MatchPath), else the default.
func (d *Distribution) Behavior(path string) *Behavior {
	path = MatchPath(path)
	n := len(d.Behaviors) - 1
	for _, b := range d.Behaviors[:n] {
		if b.Pattern.Match(path) {
			return b
		}
	}
	return d.Behaviors[n]
}

// ServesHTTP2 reports whether viewers may use HTTP/2 with d: httpVersion
// http2 (the default) or http2and3. CloudFront's "http3" pairs HTTP/3 with
// HTTP/1.1 on TCP.
func (d *Distribution) ServesHTTP2() bool {
	v := d.Spec.HTTPVersion
	return v != "http1.1" && v != "http3"
}

// ServesHTTP3 reports whether viewers may use HTTP/3 with d: httpVersion
// http3 or http2and3.
func (d *Distribution) ServesHTTP3() bool {
	v := d.Spec.HTTPVersion
	return v == "http3" || v == "http2and3"
}

// ServesHTTP reports whether viewers may use HTTP major version major
// (a request's ProtoMajor) with d; every distribution serves HTTP/1.x.
func (d *Distribution) ServesHTTP(major int) bool {
	switch major {
	case 2:
		return d.ServesHTTP2()
	case 3:
		return d.ServesHTTP3()
	}
	return true
}

// ObjectPath is the path a request for path fetches and is cached under:
// the default root object for "/", path otherwise.
func (d *Distribution) ObjectPath(path string) string {
	if path == "/" && d.Spec.DefaultRootObject != "" {
		return "/" + d.Spec.DefaultRootObject
	}
	return path
}

// Distribution returns a distribution by id.
func (t *Table) Distribution(id string) *Distribution { return t.dists[id] }

// StreamingDistributionForHost finds the streaming distribution whose alias matches host.
func (t *Table) StreamingDistributionForHost(host string) *StreamingDistribution {
	s, _ := t.rtmpHosts.lookup(host)
	return s
}

// StreamingDistribution returns a streaming distribution by id.
func (t *Table) StreamingDistribution(id string) *StreamingDistribution { return t.streaming[id] }

// KeyGroup returns a key group by id.
func (t *Table) KeyGroup(id string) *KeyGroup { return t.keyGroups[id] }

// Distributions yields the web distributions in id order, from the store.
func (t *Table) Distributions() iter.Seq[*Distribution] {
	return rows[*Distribution](t.db, tableDistributions, indexID)
}

// StreamingDistributions yields the streaming distributions in id order.
func (t *Table) StreamingDistributions() iter.Seq[*StreamingDistribution] {
	return rows[*StreamingDistribution](t.db, tableStreamingDistributions, indexID)
}

// KeyGroups yields the key groups in id order.
func (t *Table) KeyGroups() iter.Seq[*KeyGroup] {
	return rows[*KeyGroup](t.db, tableKeyGroups, indexID)
}

// Counts is the size of a table.
type Counts struct {
	Distributions, StreamingDistributions, Behaviors, Origins, OriginGroups, KeyGroups int
}

// Counts counts the table's rows.
func (t *Table) Counts() Counts {
	txn := t.db.Txn(false)
	n := func(table string) int {
		it, err := txn.Get(table, indexID)
		if err != nil {
			return 0
		}
		c := 0
		for it.Next() != nil {
			c++
		}
		return c
	}
	return Counts{
		Distributions:          n(tableDistributions),
		StreamingDistributions: n(tableStreamingDistributions),
		Behaviors:              n(tableBehaviors),
		Origins:                n(tableOrigins),
		OriginGroups:           n(tableOriginGroups),
		KeyGroups:              n(tableKeyGroups),
	}
}

// WildcardsCovering lists the distributions with a wildcard alias covering
// host, most specific first: a prefix query on the reversed-host index.
func (t *Table) WildcardsCovering(host string) []*Distribution {
	rev := ReverseHost(host) + "."
	txn := t.db.Txn(false)
	var out []*Distribution
	// Every proper suffix of the reversed host ending at a label boundary.
	for i := len(rev) - 2; i > 0; i-- {
		if rev[i] != '.' {
			continue
		}
		raw, err := txn.First(tableDistributions, indexWildcard, rev[:i+1])
		if err == nil && raw != nil {
			out = append(out, raw.(*Distribution))
		}
	}
	return out
}

func rows[T any](db *memdb.MemDB, table, index string) iter.Seq[T] {
	return func(yield func(T) bool) {
		it, err := db.Txn(false).Get(table, index)
		if err != nil {
			return
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if !yield(raw.(T)) {
				return
			}
		}
	}
}

// KeyedQuery is the part of a request's raw query that a behavior with
// forwardedValues fv keeps in its cache key: none, all, the
// queryStringCacheKeys parameters, or all but a cache policy's allExcept
// ones, in the viewer's order. The edge keys cached objects with it, and
// an invalidation path with a query names the object the same way.
func KeyedQuery(fv schema.ForwardedValues, raw string) string {
	return QueryOf(raw, fv, schema.ForwardedValues{})
}

// ForwardedQuery is the part of a request's raw query that b's origin
// gets: what its cache key keeps and what its origin request policy adds.
// Legacy cache settings (no cache policy) forward the whole query once
// queryString is true, keying only the queryStringCacheKeys: "CloudFront
// forwards all query string parameters to the origin, but it only caches
// based on the query string parameters that you specify"
// (ForwardedValues.QueryString); a cache policy's whitelist limits both.
func (b *Behavior) ForwardedQuery(raw string) string {
	fv := b.Spec.ForwardedValues
	if b.Spec.CachePolicy == "" && fv.QueryString {
		return raw
	}
	return QueryOf(raw, fv, b.OriginRequest.Query)
}

// QueryOf is the part of raw that a or b keeps (as KeyedQuery), in the
// viewer's order: what the edge forwards of a cache key (a) and an origin
// request policy (b) together.
func QueryOf(raw string, a, b schema.ForwardedValues) string {
	if raw == "" || !a.QueryString && !b.QueryString {
		return ""
	}
	if keepsAllQuery(a) || keepsAllQuery(b) {
		return raw
	}
	var kept []string
	for part := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		n, err := url.QueryUnescape(name)
		if err != nil {
			n = name // kept by allExcept, as a name no list can hold
		}
		if keepsParam(a, n, err == nil) || keepsParam(b, n, err == nil) {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, "&")
}

func keepsAllQuery(fv schema.ForwardedValues) bool {
	return fv.QueryString && len(fv.QueryStringCacheKeys) == 0 && len(fv.QueryStringsExcept) == 0
}

// keepsParam reports whether fv keeps the parameter named n; decoded is
// false for a name that does not unescape, which only allExcept keeps.
func keepsParam(fv schema.ForwardedValues, n string, decoded bool) bool {
	switch {
	case !fv.QueryString:
		return false
	case len(fv.QueryStringsExcept) > 0:
		return !slices.Contains(fv.QueryStringsExcept, n)
	}
	return decoded && slices.Contains(fv.QueryStringCacheKeys, n)
}
