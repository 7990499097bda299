// Package table is the routing table: an immutable value built from a vetted
// config, with no I/O. The daemon holds one behind an atomic pointer and reads
// one table for the whole of a request.
//
// The rows live in a go-memdb store (distributions by id, exact alias and
// reversed wildcard; behaviors by distribution and position; origins, origin
// groups, key groups, streaming distributions), which serves the queries of
// route, diff and status. The per-request lookup uses maps and compiled
// matchers derived from the same rows at build time: memdb's lookups allocate,
// and a request must not.
package table

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"openfront.dev/internal/cffunc"
	"openfront.dev/internal/codings"
	"openfront.dev/schema"
)

// Source says where a table's config came from.
type Source struct {
	Dir    string `json:"-"` // where this node read it; not part of the artifact
	Commit string `json:"commit,omitempty"`
}

// Table is an immutable routing table. Nothing reachable from it may be modified.
type Table struct {
	version string
	source  Source
	config  *schema.Config
	db      *memdb.MemDB

	dists     map[string]*Distribution
	distIDs   []string // dists' keys, sorted once per Build: 10,000 take 2 ms each time
	hosts     hostIndex[*Distribution]
	streaming map[string]*StreamingDistribution
	rtmpHosts hostIndex[*StreamingDistribution]
	keyGroups map[string]*KeyGroup
	// functions are the compiled functions behaviors associate, by
	// name, and functionSpecs what each was compiled from.
	functions     map[string]*cffunc.Function
	functionSpecs map[string]*schema.Function
	// stores are the key value stores functions read, by name, each
	// made once per table from its data.
	stores map[string]*cffunc.Store
	// deployments are the continuous deployment policies by primary
	// distribution id; nil when there are none.
	deployments map[string]*Deployment
	// webACLs are the web ACLs distributions name, compiled; nil: none.
	webACLs map[string]*WebACL
	// trustStores are the config's trust stores, parsed.
	trustStores map[string]*TrustStore
	// entrySums are the hashes of the config's entries in the artifact
	// the table was decoded from (by map and key), for DecodeArtifact to
	// tell an unchanged entry in the next one; nil when built otherwise.
	entrySums map[string]uint64
}

// Distribution is a web distribution with its compiled behaviors.
type Distribution struct {
	ID                string
	ExactAliases      []string
	ReversedWildcards []string
	Spec              *schema.Distribution
	// Behaviors are cacheBehaviors in precedence order, then the default.
	Behaviors    []*Behavior
	Origins      map[string]*Origin
	OriginGroups map[string]*OriginGroup
	// ErrorCachingMinTTLs are customErrorResponses' errorCachingMinTTL by
	// errorCode; nil when there are none.
	ErrorCachingMinTTLs map[int]time.Duration
	// WebACL is the web ACL webACLId names, nil for none.
	WebACL *WebACL
	// Mtls is its viewer mutual TLS, nil for none.
	Mtls *ViewerMtls
	// Hash is the content hash of Spec and of the policies it uses.
	Hash string
	// policies are the response headers and cache policies its behaviors
	// name (usedPolicies), for reuse on a rebuild.
	policies []any
}

// Behavior is a cache behavior with its compiled path pattern.
type Behavior struct {
	DistributionID string
	// Position orders behaviors; the default has len(cacheBehaviors).
	Position uint
	// Index is the position in cacheBehaviors, -1 for the default behavior.
	Index   int
	Pattern Pattern
	Spec    *schema.CacheBehavior
	// Target is exactly one of Origin and Group.
	Origin *Origin
	Group  *OriginGroup
	// KeyedHeaders are the header names the cache key holds, canonical
	// and sorted (forwardedValues.headers).
	KeyedHeaders []string
	// OriginRequest is what the behavior's origin request policy forwards
	// beside the cache key; the zero value when it names none.
	OriginRequest OriginRequest
	// CloudFrontHeaders are the CloudFront-* request headers the node
	// sets for this behavior's origin requests (canonical names; see
	// CloudFrontHeaders): a viewer's own are never forwarded.
	CloudFrontHeaders []string
	// ResponseHeaders is the behavior's response headers policy; nil: none.
	ResponseHeaders *ResponseHeaders
	// ViewerRequest and ViewerResponse are the functions the behavior
	// runs on those events; nil: none.
	ViewerRequest, ViewerResponse *cffunc.Function
	// NoGzip and NoBrotli leave a coding out of what compress serves:
	// its cache policy enables only the other, or it has none (legacy
	// cache settings: gzip alone).
	NoGzip, NoBrotli bool
	// KeyedEncoding: its cache policy enables gzip or brotli, so the
	// viewer's Accept-Encoding, normalized, is in the cache key and the
	// origin request, compress or not (AcceptEncoding).
	KeyedEncoding bool
	// CacheScope is a hash of everything a cached response of this
	// behavior depends on besides the request: the behavior and its
	// origins. Cache keys start with it, so after a config change that
	// touches them the old entries are never served.
	CacheScope string
}

// IsDefault reports the distribution's defaultCacheBehavior.
func (b *Behavior) IsDefault() bool { return b.Index < 0 }

// Name is the behavior's pathPattern, or "default".
func (b *Behavior) Name() string {
	if b.IsDefault() {
		return "default"
	}
	return b.Spec.PathPattern
}

// TargetID is the id of the origin or origin group the behavior sends to.
func (b *Behavior) TargetID() string { return b.Spec.TargetOriginID }

// AcceptEncoding is the Accept-Encoding the behavior keys on and forwards
// for a viewer's (vs): CloudFront's normalized form ("br,gzip", "br",
// "gzip", or "identity" for none of the policy's codings), false when
// the viewer sent none or the behavior's cache policy enables no coding
// (then Accept-Encoding is a header like any other). CloudFront does this
// whether or not the behavior compresses: an origin that compresses gets
// asked for the codings and its variants are cached apart
// (controlling-the-cache-key.md, "Cache compressed objects (uses the
// Accept-Encoding header)").
func (b *Behavior) AcceptEncoding(vs []string) (string, bool) {
	if !b.KeyedEncoding || vs == nil {
		return "", false
	}
	return codings.Normalize(vs, !b.NoGzip, !b.NoBrotli), true
}

// AcceptEncodings are the values AcceptEncoding may return for the
// behavior besides "identity": what the cached variants of one resource
// are keyed on, beside the variant without one.
func (b *Behavior) AcceptEncodings() []string {
	switch {
	case !b.KeyedEncoding:
		return nil
	case b.NoBrotli:
		return []string{"gzip"}
	case b.NoGzip:
		return []string{"br"}
	}
	return []string{"br,gzip", "br", "gzip"}
}

// OriginKind says which kind of origin an Origin is.
type OriginKind string

const (
	OriginCustom OriginKind = "custom"
	OriginS3     OriginKind = "s3"
	OriginLocal  OriginKind = "local"
	OriginLive   OriginKind = "live"
)

// Origin is an origin of a distribution.
type Origin struct {
	DistributionID string
	ID             string
	Kind           OriginKind
	Spec           *schema.Origin
	// S3 is set for S3 origins.
	S3 *S3Location
	// FromFunction: a viewer-request function made this custom origin for
	// its request (updateRequestOrigin); ID is the origin it changed.
	FromFunction bool
}

// OriginGroup is a failover pair.
type OriginGroup struct {
	DistributionID     string
	ID                 string
	Spec               *schema.OriginGroup
	Primary, Secondary *Origin
	failover           [600]bool
}

// NewOriginGroup is a failover pair: a config's, or one a viewer-request
// function made for its request (createRequestOriginGroup), without Spec.
func NewOriginGroup(distributionID, id string, primary, secondary *Origin, statusCodes []int) *OriginGroup {
	g := &OriginGroup{DistributionID: distributionID, ID: id, Primary: primary, Secondary: secondary}
	for _, s := range statusCodes {
		if s >= 0 && s < len(g.failover) {
			g.failover[s] = true
		}
	}
	return g
}

// OriginKind is "origin" or "group" for an id of d's origins or origin
// groups, "" for one d does not have (what a function's origin helpers
// may name: cffunc.Origins).
func (d *Distribution) OriginKind(id string) string {
	if d.Origins[id] != nil {
		return "origin"
	}
	if d.OriginGroups[id] != nil {
		return "group"
	}
	return ""
}

// GRPCContentType reports whether ct is gRPC's media type,
// application/grpc or application/grpc+FORMAT (not gRPC-Web,
// application/grpc-web, which is plain HTTP and served as such): a POST
// with it goes to a grpcConfig behavior's origin past the cache.
func GRPCContentType(ct string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(ct), "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

// StatusCodes are the primary's statuses g fails over on, ascending: a
// config's group's, or those a function gave createRequestOriginGroup.
func (g *OriginGroup) StatusCodes() []int {
	var codes []int
	for s, ok := range g.failover {
		if ok {
			codes = append(codes, s)
		}
	}
	return codes
}

// FailsOver reports whether a primary's status sends the request to the secondary.
func (g *OriginGroup) FailsOver(status int) bool {
	return status >= 0 && status < len(g.failover) && g.failover[status]
}

// KeyGroup holds parsed public keys by id.
type KeyGroup struct {
	ID   string
	Spec *schema.KeyGroup
	// Keys are *rsa.PublicKey or *ecdsa.PublicKey on P-256, as ParsePublicKey returns.
	Keys map[string]crypto.PublicKey
}

// StreamingDistribution is an RTMP distribution.
type StreamingDistribution struct {
	ID                string
	ExactAliases      []string
	ReversedWildcards []string
	Spec              *schema.StreamingDistribution
	S3                *S3Location
	Hash              string
}

// Build makes a table from a vetted config. prev, when not nil, is the table
// it replaces: distributions whose spec is the same value are reused, and the
// store is derived from prev's by a delta, so a rebuild after one change is cheap.
func Build(cfg *schema.Config, src Source, prev *Table) (*Table, error) {
	t := &Table{
		source:    src,
		config:    cfg,
		dists:     make(map[string]*Distribution, len(cfg.Distributions)),
		streaming: make(map[string]*StreamingDistribution, len(cfg.StreamingDistributions)),
		keyGroups: make(map[string]*KeyGroup, len(cfg.KeyGroups)),
	}
	policies, err := compilePolicies(cfg)
	if err != nil {
		return nil, err
	}
	t.stores = buildStores(cfg, prev)
	if t.functions, err = compileFunctions(cfg, prev, t.stores); err != nil {
		return nil, err
	}
	if t.webACLs, err = compileWebACLs(cfg); err != nil {
		return nil, err
	}
	if t.trustStores, err = buildTrustStores(cfg, prev); err != nil {
		return nil, err
	}
	t.functionSpecs = make(map[string]*schema.Function, len(t.functions))
	for name := range t.functions {
		t.functionSpecs[name] = cfg.Functions[name]
	}
	t.distIDs = sortedKeys(cfg.Distributions)
	for _, id := range t.distIDs {
		spec := cfg.Distributions[id]
		if prev != nil {
			// The spec alone does not say what its policies are: the same
			// policy values too (decoded once per unit, so an unchanged
			// policy is the same pointer; comparing costs no hashing).
			if old := prev.dists[id]; old != nil && old.Spec == spec && slices.Equal(old.policies, usedPolicies(spec, cfg)) {
				t.dists[id] = old
				continue
			}
		}
		d, err := buildDistribution(id, spec, cfg, policies, t.functions)
		if err != nil {
			return nil, err
		}
		d.WebACL = t.webACLs[spec.WebACLID]
		if d.Mtls, err = viewerMtls(id, spec, t.trustStores); err != nil {
			return nil, err
		}
		t.dists[id] = d
	}
	for _, id := range t.distIDs {
		if dep := newDeployment(t.dists[id], cfg, t.dists); dep != nil {
			if t.deployments == nil {
				t.deployments = map[string]*Deployment{}
			}
			t.deployments[id] = dep
		}
	}
	for _, id := range sortedKeys(cfg.StreamingDistributions) {
		s, err := buildStreaming(id, cfg.StreamingDistributions[id])
		if err != nil {
			return nil, err
		}
		t.streaming[id] = s
	}
	for _, id := range sortedKeys(cfg.KeyGroups) {
		k, err := buildKeyGroup(id, cfg.KeyGroups[id])
		if err != nil {
			return nil, err
		}
		t.keyGroups[id] = k
	}
	var prevHosts hostIndex[*Distribution]
	var prevDists map[string]*Distribution
	if prev != nil {
		prevHosts, prevDists = prev.hosts, prev.dists
	}
	if t.hosts, err = updateHostIndex(prevHosts, prevDists, t.distIDs, t.dists, func(d *Distribution) []string { return d.Spec.Aliases }); err != nil {
		return nil, err
	}
	if t.rtmpHosts, err = newHostIndex(sortedKeys(t.streaming), t.streaming, func(s *StreamingDistribution) []string { return s.Spec.Aliases }); err != nil {
		return nil, err
	}
	if t.db, err = t.store(prev); err != nil {
		return nil, err
	}
	t.version = t.computeVersion()
	return t, nil
}

// compilePolicies compiles the response headers policies cfg's behaviors
// name, managed or cfg's own, by name.
func compilePolicies(cfg *schema.Config) (map[string]*ResponseHeaders, error) {
	out := map[string]*ResponseHeaders{}
	for _, d := range cfg.Distributions {
		for b := range d.AllBehaviors() {
			name := b.ResponseHeadersPolicy
			if name == "" || out[name] != nil {
				continue
			}
			p := ResponseHeadersPolicy(cfg, name)
			if p == nil {
				return nil, fmt.Errorf("unknown response headers policy %q", name)
			}
			rh, err := CompileResponseHeaders(name, p)
			if err != nil {
				return nil, err
			}
			out[name] = rh
		}
	}
	return out, nil
}

// compileFunctions compiles the functions cfg's behaviors associate, by
// name, each with its key value store; one whose config is the value prev
// compiled (the same pointer: an unchanged unit) is prev's, given the
// store of this table when its data changed.
func compileFunctions(cfg *schema.Config, prev *Table, stores map[string]*cffunc.Store) (map[string]*cffunc.Function, error) {
	out := map[string]*cffunc.Function{}
	for _, d := range cfg.Distributions {
		for b := range d.AllBehaviors() {
			for _, a := range b.FunctionAssociations {
				name := a.FunctionName
				if out[name] != nil {
					continue
				}
				spec := cfg.Functions[name]
				if spec == nil {
					return nil, fmt.Errorf("unknown function %q", name)
				}
				var store *cffunc.Store
				if kv := spec.KeyValueStoreAssociations; len(kv) > 0 {
					if store = stores[kv[0]]; store == nil {
						return nil, fmt.Errorf("function %q: unknown key value store %q", name, kv[0])
					}
				}
				var f *cffunc.Function
				if prev != nil && prev.functionSpecs[name] == spec {
					f = prev.functions[name]
				} else {
					var err error
					if f, err = cffunc.Compile(name, spec.Runtime, spec.FunctionCode); err != nil {
						return nil, fmt.Errorf("function %q: %w", name, err)
					}
				}
				if f.Store() != store {
					f = f.WithStore(store)
				}
				out[name] = f
			}
		}
	}
	return out, nil
}

// buildStores makes the key value stores of cfg, by name. A store whose
// data and id are prev's is prev's (meta() keeps its times); one with
// other data or another id is new, and keeps the time prev's was first
// seen.
func buildStores(cfg *schema.Config, prev *Table) map[string]*cffunc.Store {
	out := make(map[string]*cffunc.Store, len(cfg.KeyValueStores))
	now := time.Now()
	for name, spec := range cfg.KeyValueStores {
		created := now
		if prev != nil && prev.stores[name] != nil {
			old := prev.stores[name]
			if was := prev.config.KeyValueStores[name]; was.ID == spec.ID && maps.Equal(was.Data, spec.Data) {
				out[name] = old
				continue
			}
			created = old.Created()
		}
		out[name] = cffunc.NewStore(name, spec.ID, spec.Data, created, now)
	}
	return out
}

// usedPolicies are the response headers, cache and origin request
// policies and the functions spec's behaviors name, which live outside it, in order; nil
// for none.
func usedPolicies(spec *schema.Distribution, cfg *schema.Config) []any {
	var used []any
	for b := range spec.AllBehaviors() {
		if n := b.ResponseHeadersPolicy; n != "" {
			used = append(used, ResponseHeadersPolicy(cfg, n))
		}
		if n := b.CachePolicy; n != "" {
			used = append(used, CachePolicy(cfg, n))
		}
		if n := b.OriginRequestPolicy; n != "" {
			used = append(used, OriginRequestPolicy(cfg, n))
		}
		for _, a := range b.FunctionAssociations {
			f := cfg.Functions[a.FunctionName]
			used = append(used, f)
			if f != nil && len(f.KeyValueStoreAssociations) > 0 {
				used = append(used, cfg.KeyValueStores[f.KeyValueStoreAssociations[0]])
			}
		}
	}
	// The web ACL and its sets: a distribution reused from the previous
	// table keeps its compiled web ACL only while they are the same values.
	if acl := cfg.WebACLs[spec.WebACLID]; acl != nil {
		used = append(used, acl)
		ipSets, regexSets := setRefs(acl)
		for _, name := range ipSets {
			used = append(used, cfg.IPSets[name])
		}
		for _, name := range regexSets {
			used = append(used, cfg.RegexPatternSets[name])
		}
		used = append(used, ruleGroupsUsed(acl, cfg)...)
	}
	// The trust store: a reused distribution keeps its parsed one.
	if m := spec.ViewerMtlsConfig; m != nil && m.TrustStoreConfig != nil {
		used = append(used, cfg.TrustStores[m.TrustStoreConfig.TrustStoreID])
	}
	return used
}

// distributionHash is the content hash of spec and of the policies it
// uses (usedPolicies).
func distributionHash(spec *schema.Distribution, used []any) string {
	if used == nil {
		return hashJSON(spec)
	}
	return hashJSON([]any{spec, used})
}

func buildDistribution(id string, spec *schema.Distribution, cfg *schema.Config, policies map[string]*ResponseHeaders, functions map[string]*cffunc.Function) (*Distribution, error) {
	d := &Distribution{
		ID:           id,
		Spec:         spec,
		Origins:      make(map[string]*Origin, len(spec.Origins)),
		OriginGroups: make(map[string]*OriginGroup, len(spec.OriginGroups)),
	}
	d.ExactAliases, d.ReversedWildcards = splitAliases(spec.Aliases)
	for _, e := range spec.CustomErrorResponses {
		if d.ErrorCachingMinTTLs == nil {
			d.ErrorCachingMinTTLs = map[int]time.Duration{}
		}
		d.ErrorCachingMinTTLs[e.ErrorCode] = time.Duration(e.ErrorCachingMinTTL) * time.Second
	}
	for i := range spec.Origins {
		o := &spec.Origins[i]
		origin := &Origin{DistributionID: id, ID: o.ID, Spec: o}
		switch {
		case o.CustomOriginConfig != nil:
			origin.Kind = OriginCustom
		case o.S3OriginConfig != nil:
			origin.Kind = OriginS3
			loc, err := ParseS3Location(o.DomainName, *o.S3OriginConfig)
			if err != nil {
				return nil, fmt.Errorf("distribution %q: origin %q: %w", id, o.ID, err)
			}
			origin.S3 = &loc
		case o.LocalOriginConfig != nil:
			origin.Kind = OriginLocal
		case o.LiveOriginConfig != nil:
			origin.Kind = OriginLive
		default:
			return nil, fmt.Errorf("distribution %q: origin %q has no origin config", id, o.ID)
		}
		d.Origins[o.ID] = origin
	}
	for i := range spec.OriginGroups {
		g := &spec.OriginGroups[i]
		if len(g.Members) != 2 {
			return nil, fmt.Errorf("distribution %q: origin group %q: want 2 members, have %d", id, g.ID, len(g.Members))
		}
		og := NewOriginGroup(id, g.ID, d.Origins[g.Members[0].OriginID], d.Origins[g.Members[1].OriginID], g.FailoverCriteria.StatusCodes)
		if og.Primary == nil || og.Secondary == nil {
			return nil, fmt.Errorf("distribution %q: origin group %q: unknown member origin", id, g.ID)
		}
		og.Spec = g
		d.OriginGroups[g.ID] = og
	}
	n := len(spec.CacheBehaviors)
	d.Behaviors = make([]*Behavior, 0, n+1)
	for i := range spec.CacheBehaviors {
		b, err := d.behavior(i, uint(i), &spec.CacheBehaviors[i], cfg)
		if err != nil {
			return nil, err
		}
		d.Behaviors = append(d.Behaviors, b)
	}
	b, err := d.behavior(-1, uint(n), &spec.DefaultCacheBehavior, cfg)
	if err != nil {
		return nil, err
	}
	d.Behaviors = append(d.Behaviors, b)
	for _, b := range d.Behaviors {
		b.ResponseHeaders = policies[b.Spec.ResponseHeadersPolicy]
		b.ViewerRequest = functions[b.Spec.FunctionFor("viewer-request")]
		b.ViewerResponse = functions[b.Spec.FunctionFor("viewer-response")]
	}
	d.policies = usedPolicies(spec, cfg)
	d.Hash = distributionHash(spec, d.policies)
	return d, nil
}

// PolicyBehavior is behavior spec as the cache and origin request
// policies it names (managed, or cfg's) make it: what it keys on and
// forwards, without its distribution's parts (pattern, target, scope);
// nil where it names a policy that is neither.
func PolicyBehavior(spec *schema.CacheBehavior, cfg *schema.Config) *Behavior {
	var cachePolicy *schema.CachePolicy
	if n := spec.CachePolicy; n != "" {
		if cachePolicy = CachePolicy(cfg, n); cachePolicy == nil {
			return nil
		}
		spec = WithCachePolicy(spec, cachePolicy)
	}
	var orp *schema.OriginRequestPolicy
	if n := spec.OriginRequestPolicy; n != "" {
		if orp = OriginRequestPolicy(cfg, n); orp == nil {
			return nil
		}
	}
	return withPolicies(spec, cachePolicy, orp)
}

// withPolicies is PolicyBehavior once the policies are found; spec is the
// behavior as cachePolicy (nil: none) makes it.
func withPolicies(spec *schema.CacheBehavior, cachePolicy *schema.CachePolicy, orp *schema.OriginRequestPolicy) *Behavior {
	b := &Behavior{Spec: spec, KeyedHeaders: keyedHeaders(spec), CloudFrontHeaders: CloudFrontHeadersFor(spec, orp),
		OriginRequest: ResolveOriginRequest(spec.OriginRequestPolicy, orp)}
	if cachePolicy != nil {
		k := cachePolicy.ParametersInCacheKeyAndForwardedToOrigin
		b.NoGzip, b.NoBrotli = !k.EnableAcceptEncodingGzip, !k.EnableAcceptEncodingBrotli
		b.KeyedEncoding = k.EnableAcceptEncodingGzip || k.EnableAcceptEncodingBrotli
	} else {
		// "Brotli doesn't support legacy cache settings"
		// (ServingCompressedFiles): compress is gzip alone.
		b.NoBrotli = true
	}
	return b
}

// ForwardsHost reports whether b's origin gets the viewer's Host in place
// of its domainName: the origin request policy or forwardedValues
// forwards it.
func (b *Behavior) ForwardsHost() bool {
	if b.OriginRequest.ForwardsHeader("Host") {
		return true
	}
	for _, h := range b.Spec.ForwardedValues.Headers {
		if h == "*" || strings.EqualFold(h, "Host") {
			return true
		}
	}
	return false
}

// KeysViewerValues reports whether b's cache key holds its headers and
// cookies: not forwardedValues' under an origin request policy that
// forwards all (the origin's Vary selects the stored variant), a cache
// policy's always.
func (b *Behavior) KeysViewerValues() bool {
	return !b.OriginRequest.ForwardsAll() || b.Spec.CachePolicy != ""
}

// KeysHost reports whether b's cache key holds the viewer's Host.
func (b *Behavior) KeysHost() bool { return b.KeysHeader("Host") }

// KeysHeader reports whether b's cache key holds the viewer's header
// name (canonical).
func (b *Behavior) KeysHeader(name string) bool {
	return b.KeysViewerValues() && slices.Contains(b.KeyedHeaders, name)
}

func (d *Distribution) behavior(index int, pos uint, spec *schema.CacheBehavior, cfg *schema.Config) (*Behavior, error) {
	// A cache policy sets the key and TTLs: Spec is the behavior as it
	// makes it, and its allExcept lists (no JSON) are in the scope below.
	var cachePolicy *schema.CachePolicy
	if n := spec.CachePolicy; n != "" {
		if cachePolicy = CachePolicy(cfg, n); cachePolicy == nil {
			return nil, fmt.Errorf("distribution %q: unknown cache policy %q", d.ID, n)
		}
		spec = WithCachePolicy(spec, cachePolicy)
	}
	// An origin request policy forwards outside the key: its settings are
	// not in the cache scope below (its name is, in the spec), so an edit
	// of a custom one keeps the cache.
	var orp *schema.OriginRequestPolicy
	if n := spec.OriginRequestPolicy; n != "" {
		if orp = OriginRequestPolicy(cfg, n); orp == nil {
			return nil, fmt.Errorf("distribution %q: unknown origin request policy %q", d.ID, n)
		}
	}
	b := withPolicies(spec, cachePolicy, orp)
	b.DistributionID, b.Position, b.Index = d.ID, pos, index
	pattern := "*"
	if index >= 0 {
		pattern = spec.PathPattern
	}
	p, err := CompilePattern(pattern)
	if err != nil {
		return nil, fmt.Errorf("distribution %q: cacheBehaviors[%d]: %w", d.ID, index, err)
	}
	b.Pattern = p
	// The response headers policy applies on the way out, to stored
	// responses as to fresh ones: changing it keeps the cache.
	keyed := *spec
	keyed.ResponseHeadersPolicy = ""
	// Functions change the request before its key is made, or the
	// response on its way out: the key holds what they did, not them.
	keyed.FunctionAssociations = nil
	scope := []any{d.ID, &keyed, d.Spec.DefaultRootObject, d.Spec.CustomErrorResponses}
	if cachePolicy != nil {
		keys := *cachePolicy
		keys.Comment = "" // a comment's edit keeps the cache
		scope = append(scope, &keys)
	}
	if o := d.Origins[spec.TargetOriginID]; o != nil {
		b.Origin = o
		scope = append(scope, o.Spec)
	} else if g := d.OriginGroups[spec.TargetOriginID]; g != nil {
		b.Group = g
		scope = append(scope, g.Spec, g.Primary.Spec, g.Secondary.Spec)
	} else {
		return nil, fmt.Errorf("distribution %q: behavior %q: unknown origin %q", d.ID, b.Name(), spec.TargetOriginID)
	}
	b.CacheScope = hashJSON(scope)[:16]
	return b, nil
}

func buildStreaming(id string, spec *schema.StreamingDistribution) (*StreamingDistribution, error) {
	s := &StreamingDistribution{ID: id, Spec: spec}
	s.ExactAliases, s.ReversedWildcards = splitAliases(spec.Aliases)
	loc, err := ParseS3Location(spec.S3Origin.DomainName, spec.S3Origin.S3OriginConfig)
	if err != nil {
		return nil, fmt.Errorf("streaming distribution %q: s3Origin: %w", id, err)
	}
	s.S3 = &loc
	s.Hash = hashJSON(spec)
	return s, nil
}

func buildKeyGroup(id string, spec *schema.KeyGroup) (*KeyGroup, error) {
	k := &KeyGroup{ID: id, Spec: spec, Keys: map[string]crypto.PublicKey{}}
	for _, pk := range spec.PublicKeys {
		key, err := ParsePublicKey(pk.EncodedKey)
		if err != nil {
			return nil, fmt.Errorf("key group %q: public key %q: %w", id, pk.ID, err)
		}
		k.Keys[pk.ID] = key
	}
	return k, nil
}

// SignatureKey refuses a public key whose signatures CloudFront cannot
// verify: it takes RSA 2048 and ECDSA P-256 keys (API_PublicKey:
// "CloudFront supports signed URLs and signed cookies with RSA 2048 or
// ECDSA 256 key signatures"). A shorter RSA key is refused: it is weak. A
// longer one is taken, as openfront always took it: it verifies as well,
// and refusing it now would stop a config that served from compiling;
// CloudFront itself would refuse it.
func SignatureKey(pub crypto.PublicKey) error {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if n := pub.N.BitLen(); n < 2048 {
			return fmt.Errorf("an RSA key of %d bits, but CloudFront takes RSA keys of 2048 bits (openssl genrsa 2048); shorter ones are weak", n)
		}
		return nil
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return fmt.Errorf("an ECDSA key on %s, but CloudFront verifies ECDSA on P-256 (prime256v1) only", pub.Curve.Params().Name)
		}
		return nil
	}
	return fmt.Errorf("a %T, not an RSA or ECDSA P-256 public key", pub)
}

// ParsePublicKey parses a PEM "PUBLIC KEY" (PKIX) or "RSA PUBLIC KEY" (PKCS
// #1): an *rsa.PublicKey, or an *ecdsa.PublicKey on P-256, the kinds
// CloudFront verifies signed URLs and cookies with (API_PublicKey: "RSA 2048
// or ECDSA 256").
func ParsePublicKey(encoded string) (crypto.PublicKey, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(encoded)))
	if block == nil {
		// pem.Decode wants each line at the start: a key pasted into a
		// CUE multi-line string deeper than the closing quotes is not.
		if strings.Contains(encoded, "\n ") || strings.Contains(encoded, "\n\t") {
			return nil, fmt.Errorf("not PEM-encoded: its lines start with spaces or tabs: indent them as the closing \"\"\" is")
		}
		return nil, fmt.Errorf("not PEM-encoded: want -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY----- (openssl ec -in private.pem -pubout)")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, fmt.Errorf("trailing data after the PEM block")
	}
	switch block.Type {
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the RSA PUBLIC KEY block does not hold a valid PKCS #1 key")
		}
		if err := SignatureKey(key); err != nil {
			return nil, err
		}
		return key, nil
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the PUBLIC KEY block does not hold a valid key (%v)", shortASN1Error(err))
		}
		if err := SignatureKey(key); err != nil {
			return nil, err
		}
		return key, nil
	}
	return nil, fmt.Errorf("PEM block %q, want PUBLIC KEY", block.Type)
}

// shortASN1Error keeps the first clause of an encoding/asn1 error, whose
// details (struct tags) mean nothing to a user.
func shortASN1Error(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, " ("); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// splitAliases separates exact aliases from wildcards, the latter reversed
// by label for the store's prefix index.
func splitAliases(aliases []string) (exact, reversedWildcards []string) {
	for _, a := range aliases {
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			reversedWildcards = append(reversedWildcards, ReverseHost(suffix)+".")
		} else {
			exact = append(exact, a)
		}
	}
	return exact, reversedWildcards
}

// ReverseHost reverses a host name's labels: "www.example.com" -> "com.example.www".
func ReverseHost(h string) string {
	labels := strings.Split(h, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

// store fills the go-memdb store, from a snapshot of prev's when given.
func (t *Table) store(prev *Table) (*memdb.MemDB, error) {
	var db *memdb.MemDB
	var err error
	if prev != nil {
		db = prev.db.Snapshot()
	} else if db, err = memdb.NewMemDB(dbSchema()); err != nil {
		return nil, fmt.Errorf("memdb schema: %w", err)
	}
	txn := db.Txn(true)
	defer txn.Abort()
	if prev != nil {
		for id, old := range prev.dists {
			if t.dists[id] == old {
				continue
			}
			if err := deleteDistribution(txn, old); err != nil {
				return nil, err
			}
		}
		for _, table := range []string{tableStreamingDistributions, tableKeyGroups} {
			if _, err := txn.DeleteAll(table, indexID); err != nil {
				return nil, fmt.Errorf("memdb: %w", err)
			}
		}
	}
	for _, id := range t.distIDs {
		d := t.dists[id]
		if prev != nil && prev.dists[id] == d {
			continue
		}
		if err := insertDistribution(txn, d); err != nil {
			return nil, err
		}
	}
	for _, id := range sortedKeys(t.streaming) {
		if err := txn.Insert(tableStreamingDistributions, t.streaming[id]); err != nil {
			return nil, fmt.Errorf("memdb: streaming distribution %q: %w", id, err)
		}
	}
	for _, id := range sortedKeys(t.keyGroups) {
		if err := txn.Insert(tableKeyGroups, t.keyGroups[id]); err != nil {
			return nil, fmt.Errorf("memdb: key group %q: %w", id, err)
		}
	}
	txn.Commit()
	return db, nil
}

func insertDistribution(txn *memdb.Txn, d *Distribution) error {
	if err := txn.Insert(tableDistributions, d); err != nil {
		return fmt.Errorf("memdb: distribution %q: %w", d.ID, err)
	}
	for _, b := range d.Behaviors {
		if err := txn.Insert(tableBehaviors, b); err != nil {
			return fmt.Errorf("memdb: distribution %q: behavior %q: %w", d.ID, b.Name(), err)
		}
	}
	for _, o := range d.Spec.Origins {
		if err := txn.Insert(tableOrigins, d.Origins[o.ID]); err != nil {
			return fmt.Errorf("memdb: distribution %q: origin %q: %w", d.ID, o.ID, err)
		}
	}
	for _, g := range d.Spec.OriginGroups {
		if err := txn.Insert(tableOriginGroups, d.OriginGroups[g.ID]); err != nil {
			return fmt.Errorf("memdb: distribution %q: origin group %q: %w", d.ID, g.ID, err)
		}
	}
	return nil
}

func deleteDistribution(txn *memdb.Txn, d *Distribution) error {
	if err := txn.Delete(tableDistributions, d); err != nil {
		return fmt.Errorf("memdb: delete distribution %q: %w", d.ID, err)
	}
	for _, table := range []string{tableBehaviors, tableOrigins, tableOriginGroups} {
		if _, err := txn.DeleteAll(table, indexDistribution, d.ID); err != nil {
			return fmt.Errorf("memdb: delete %s of %q: %w", table, d.ID, err)
		}
	}
	return nil
}

// computeVersion hashes every distribution's hash in id order: the same
// config always gives the same version, and the source does not enter it.
func (t *Table) computeVersion() string {
	h := sha256.New()
	for _, id := range t.distIDs {
		// Not Fprintf: at 10,000 distributions it was a tenth of a
		// rebuild over the previous table.
		for _, s := range [...]string{"d\x00", id, "\x00", t.dists[id].Hash, "\x00"} {
			io.WriteString(h, s)
		}
	}
	for _, id := range sortedKeys(t.streaming) {
		fmt.Fprintf(h, "s\x00%s\x00%s\x00", id, t.streaming[id].Hash)
	}
	for _, id := range sortedKeys(t.keyGroups) {
		fmt.Fprintf(h, "k\x00%s\x00%s\x00", id, hashJSON(t.keyGroups[id].Spec))
	}
	hashEntries(h, "r", t.config.ResponseHeadersPolicies)
	hashEntries(h, "c", t.config.CachePolicies)
	hashEntries(h, "o", t.config.OriginRequestPolicies)
	hashEntries(h, "f", t.config.Functions)
	hashEntries(h, "v", t.config.KeyValueStores)
	hashEntries(h, "p", t.config.ContinuousDeploymentPolicies)
	hashEntries(h, "w", t.config.WebACLs)
	hashEntries(h, "i", t.config.IPSets)
	hashEntries(h, "x", t.config.RegexPatternSets)
	hashEntries(h, "g", t.config.RuleGroups)
	hashEntries(h, "m", t.config.TrustStores)
	fmt.Fprintf(h, "t\x00%s", hashJSON(t.config.Tests))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// hashEntries writes each entry of m to h, in key order, tagged with tag.
func hashEntries[V any](h io.Writer, tag string, m map[string]V) {
	for _, name := range sortedKeys(m) {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", tag, name, hashJSON(m[name]))
	}
}

func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("table: marshal %T: %v", v, err)) // schema types always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
