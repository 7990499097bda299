package compiler

import (
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/cffunc"
	"openfront.dev/schema"
)

// issue is a semantic problem found in the decoded config, located by the
// CUE path of the offending value; positions are resolved afterwards.
type issue struct {
	unitKey string // "distributions.site": which unit holds the value
	path    cue.Path
	msg     string
	warning bool // what a node still serves, reported without failing
	// in is a place inside the string at path (a line of a function's
	// code), when not zero.
	in codePos
}

type checker struct {
	dir    string
	issues []issue
	// encodingORPs are the origin request policies already warned of
	// forwarding Accept-Encoding beside a compressing cache policy.
	encodingORPs map[string]bool
}

func (k *checker) add(unitKey string, sels []cue.Selector, format string, args ...any) {
	k.issues = append(k.issues, issue{unitKey: unitKey, path: cue.MakePath(sels...), msg: fmt.Sprintf(format, args...)})
}

// warn records what CloudFront accepts or openfront still serves, but does
// not do what the config says.
func (k *checker) warn(unitKey string, sels []cue.Selector, format string, args ...any) {
	k.issues = append(k.issues, issue{unitKey: unitKey, path: cue.MakePath(sels...), msg: "warning: " + fmt.Sprintf(format, args...), warning: true})
}

func sel(parts ...any) []cue.Selector {
	out := make([]cue.Selector, len(parts))
	for i, p := range parts {
		switch p := p.(type) {
		case int:
			out[i] = cue.Index(p)
		case string:
			out[i] = cue.Str(p)
		}
	}
	return out
}

// The three method sets CloudFront allows, and the two cached sets.
var (
	allowedMethodSets = [][]string{
		{"GET", "HEAD"},
		{"GET", "HEAD", "OPTIONS"},
		{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"},
	}
	cachedMethodSets = [][]string{{"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"}}
)

// check runs the checks CUE does not express well, over the whole config:
// the errors, or else the warnings.
func (c *Compiler) check(cfg *schema.Config, origin map[string]*unit) (errs, warnings Errors) {
	k := &checker{dir: c.dir}
	publicKeyOwner := map[string]string{}
	for _, id := range sortedKeys(cfg.KeyGroups) {
		kg := cfg.KeyGroups[id]
		key := "keyGroups." + id
		for i, pk := range kg.PublicKeys {
			if _, err := table.ParsePublicKey(pk.EncodedKey); err != nil {
				k.add(key, sel("keyGroups", id, "publicKeys", i, "encodedKey"), "key group %q: public key %q: %v", id, pk.ID, err)
			}
			if other, dup := publicKeyOwner[pk.ID]; dup {
				k.add(key, sel("keyGroups", id, "publicKeys", i, "id"), "key group %q: public key id %q is also in key group %q; Key-Pair-Id must name one key", id, pk.ID, other)
			}
			publicKeyOwner[pk.ID] = id
		}
	}

	for _, id := range sortedKeys(cfg.TrustStores) {
		k.trustStore(id, cfg.TrustStores[id])
	}
	for _, name := range sortedKeys(cfg.ResponseHeadersPolicies) {
		k.responseHeadersPolicy(name, cfg.ResponseHeadersPolicies[name])
	}
	for _, name := range sortedKeys(cfg.CachePolicies) {
		k.cachePolicy(name, cfg.CachePolicies[name])
	}
	for _, name := range sortedKeys(cfg.OriginRequestPolicies) {
		k.originRequestPolicy(name, cfg.OriginRequestPolicies[name])
	}
	for _, name := range sortedKeys(cfg.Functions) {
		k.function(name, cfg.Functions[name])
		k.storeRefs(name, cfg.Functions[name], cfg)
	}
	for _, name := range sortedKeys(cfg.KeyValueStores) {
		k.keyValueStore(name, cfg.KeyValueStores[name])
	}
	for _, name := range sortedKeys(cfg.IPSets) {
		k.ipSet(name, cfg.IPSets[name])
	}
	for _, name := range sortedKeys(cfg.RegexPatternSets) {
		k.regexPatternSet(name, cfg.RegexPatternSets[name])
	}
	for _, name := range sortedKeys(cfg.WebACLs) {
		k.webACL(name, cfg.WebACLs[name], cfg)
	}
	for _, name := range sortedKeys(cfg.RuleGroups) {
		k.ruleGroup(name, cfg.RuleGroups[name], cfg)
	}

	aliasOwner := map[string]string{}
	local := make(map[*schema.Distribution][]issue, len(cfg.Distributions))
	for _, id := range sortedKeys(cfg.Distributions) {
		d := cfg.Distributions[id]
		// Checks of a distribution alone are cached by its decoded value,
		// which stays the same pointer while its unit is unchanged.
		issues, ok := c.localIssues[d]
		if !ok {
			lk := &checker{dir: c.dir}
			lk.distribution(id, d)
			issues = lk.issues
		}
		local[d] = issues
		k.issues = append(k.issues, issues...)
		k.distributionRefs(id, d, cfg, aliasOwner)
	}
	c.localIssues = local
	k.deployments(cfg)
	rtmpAliasOwner := map[string]string{}
	for _, id := range sortedKeys(cfg.StreamingDistributions) {
		sd := cfg.StreamingDistributions[id]
		key := "streamingDistributions." + id
		if _, clash := cfg.Distributions[id]; clash {
			// Ids name log files and metric series: one id, one distribution.
			k.add(key, sel("streamingDistributions", id), "streaming distribution %q: a web distribution has the same id; log files and metrics are named by id, so ids must differ", id)
		}
		k.aliases(key, sel("streamingDistributions", id), "streaming distribution", id, sd.Aliases, rtmpAliasOwner)
		if _, err := table.ParseS3Location(sd.S3Origin.DomainName, sd.S3Origin.S3OriginConfig); err != nil {
			k.add(key, sel("streamingDistributions", id, "s3Origin", "domainName"), "streaming distribution %q: s3Origin: %v", id, err)
		}
		k.keyGroupRefs(key, sel("streamingDistributions", id, "trustedKeyGroups"), fmt.Sprintf("streaming distribution %q", id), sd.TrustedKeyGroups, cfg)
		k.logging(key, sel("streamingDistributions", id, "logging"), fmt.Sprintf("streaming distribution %q", id), sd.Logging)
		if l := sd.Live; l != nil && l.Enabled && len(l.StreamKeySHA256) == 0 && l.StreamKeySecret == "" {
			k.add(key, sel("streamingDistributions", id, "live"), "streaming distribution %q: live publishing needs streamKeySHA256 or streamKeySecret", id)
		}
	}
	if failing := errorIssues(k.issues); len(failing) > 0 {
		return c.locate(failing, origin), nil
	}
	if len(k.issues) == 0 {
		return nil, nil
	}
	return nil, c.locate(k.issues, origin)
}

// errorIssues are the issues that fail a compile.
func errorIssues(issues []issue) []issue {
	var out []issue
	for _, is := range issues {
		if !is.warning {
			out = append(out, is)
		}
	}
	return out
}

// distributionRefs checks what a distribution shares with the rest of the
// config (aliases, key groups, streaming distributions) and the node's files.
func (k *checker) distributionRefs(id string, d *schema.Distribution, cfg *schema.Config, aliasOwner map[string]string) {
	key := "distributions." + id
	base := []cue.Selector{cue.Str("distributions"), cue.Str(id)}
	at := func(parts ...any) []cue.Selector { return append(slices.Clone(base), sel(parts...)...) }
	where := strconv.Quote(id)
	where = "distribution " + where

	k.aliases(key, base, "distribution", id, d.Aliases, aliasOwner)
	k.trustStoreRef(key, at, where, d, cfg)
	k.certHeadersWithoutMtls(key, at, where, d, cfg)
	if n := d.WebACLID; n != "" && cfg.WebACLs[n] == nil {
		k.add(key, at("webACLId"), "%s: unknown web ACL %q%s", where, n, nameHint(n, sortedKeys(cfg.WebACLs), "a key of webACLs"))
	}
	for i := range d.Origins {
		o := &d.Origins[i]
		switch {
		case o.LocalOriginConfig != nil:
			p := filepath.Join(k.dir, filepath.FromSlash(o.LocalOriginConfig.Path))
			if fi, err := os.Stat(p); err != nil {
				k.add(key, at("origins", i, "localOriginConfig", "path"), "%s: origin %q: local origin path %q: no such directory beside the config", where, o.ID, o.LocalOriginConfig.Path)
			} else if !fi.IsDir() {
				k.add(key, at("origins", i, "localOriginConfig", "path"), "%s: origin %q: local origin path %q is not a directory", where, o.ID, o.LocalOriginConfig.Path)
			}
		case o.LiveOriginConfig != nil:
			sid := o.LiveOriginConfig.StreamingDistribution
			sd := cfg.StreamingDistributions[sid]
			switch {
			case sd == nil:
				k.add(key, at("origins", i, "liveOriginConfig", "streamingDistribution"), "%s: origin %q: unknown streaming distribution %q%s", where, o.ID, sid, nameHint(sid, sortedKeys(cfg.StreamingDistributions), "a key of streamingDistributions"))
			case sd.Live == nil || !sd.Live.Enabled:
				k.add(key, at("origins", i, "liveOriginConfig", "streamingDistribution"), "%s: origin %q: streaming distribution %q does not have live enabled", where, o.ID, sid)
			}
		}
	}
	trusted := map[string]bool{} // the distribution's key groups, over all its behaviors
	if len(d.DefaultCacheBehavior.TrustedKeyGroups) > 0 {
		k.keyGroupRefs(key, at("defaultCacheBehavior", "trustedKeyGroups"), where+": defaultCacheBehavior", d.DefaultCacheBehavior.TrustedKeyGroups, cfg)
		k.keyGroupsPerDistribution(key, at("defaultCacheBehavior", "trustedKeyGroups"), where+": defaultCacheBehavior", d.DefaultCacheBehavior.TrustedKeyGroups, trusted)
	}
	for i := range d.CacheBehaviors {
		if b := &d.CacheBehaviors[i]; len(b.TrustedKeyGroups) > 0 {
			bw := fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, b.PathPattern)
			k.keyGroupRefs(key, at("cacheBehaviors", i, "trustedKeyGroups"), bw, b.TrustedKeyGroups, cfg)
			k.keyGroupsPerDistribution(key, at("cacheBehaviors", i, "trustedKeyGroups"), bw, b.TrustedKeyGroups, trusted)
		}
	}
	// Every compile runs these for every distribution: a behavior that
	// names no policy costs a comparison (a one-file recompile of 10,000
	// distributions must stay fast).
	var origins map[string]*schema.Origin
	var groups map[string][]schema.OriginGroupMember
	policyRefs := func(bat func() []cue.Selector, bw func() string, b *schema.CacheBehavior) {
		if b.ResponseHeadersPolicy == "" && b.CachePolicy == "" && b.OriginRequestPolicy == "" {
			return
		}
		if origins == nil {
			origins, groups = originsOf(d)
		}
		field := func(name string) []cue.Selector { return append(bat(), cue.Str(name)) }
		k.responseHeadersPolicyRef(key, field("responseHeadersPolicy"), bw(), b, cfg)
		k.cachePolicyRef(key, field, bw(), b, cfg, s3Target(b.TargetOriginID, origins, groups[b.TargetOriginID]))
		if n := b.OriginRequestPolicy; n != "" && table.OriginRequestPolicy(cfg, n) == nil {
			k.unknownPolicy(key, field("originRequestPolicy"), bw(), "origin request policy", n, managedOriginRequestPolicies, sortedKeys(cfg.OriginRequestPolicies), "originRequestPolicies")
		}
		k.forwardedEncoding(bw, b, cfg)
		if customTarget(b.TargetOriginID, origins, groups[b.TargetOriginID]) {
			k.sharedHostCache(key, field, bw, b, d.Aliases, cfg)
			k.unkeyedRewrites(key, field, bw, b, cfg)
		}
	}
	for i := range d.CacheBehaviors {
		b := &d.CacheBehaviors[i]
		policyRefs(func() []cue.Selector { return at("cacheBehaviors", i) },
			func() string { return fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, b.PathPattern) }, b)
	}
	policyRefs(func() []cue.Selector { return at("defaultCacheBehavior") },
		func() string { return where + ": defaultCacheBehavior" }, &d.DefaultCacheBehavior)
	for i := range d.CacheBehaviors {
		k.s3Writes(key, at("cacheBehaviors", i, "allowedMethods"), fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, d.CacheBehaviors[i].PathPattern), &d.CacheBehaviors[i], d)
	}
	k.s3Writes(key, at("defaultCacheBehavior", "allowedMethods"), where+": defaultCacheBehavior", &d.DefaultCacheBehavior, d)
	for i := range d.CacheBehaviors {
		if b := &d.CacheBehaviors[i]; len(b.FunctionAssociations) > 0 {
			k.functionRefs(key, at("cacheBehaviors", i, "functionAssociations"), fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, b.PathPattern), b, cfg)
		}
	}
	if len(d.DefaultCacheBehavior.FunctionAssociations) > 0 {
		k.functionRefs(key, at("defaultCacheBehavior", "functionAssociations"), where+": defaultCacheBehavior", &d.DefaultCacheBehavior, cfg)
	}
}

// s3Writes warns of a behavior that sends viewers' PUT, POST, PATCH and
// DELETE to an S3 origin whose requests the node signs: they act on the
// bucket with the node's own credentials, which may do more than the
// read that CloudFront's origin access control is usually granted.
func (k *checker) s3Writes(key string, at []cue.Selector, where string, b *schema.CacheBehavior, d *schema.Distribution) {
	if !slices.Contains(b.AllowedMethods, "DELETE") {
		return // the API's choices: all seven methods or none of these
	}
	origins, groups := originsOf(d)
	id := s3Target(b.TargetOriginID, origins, groups[b.TargetOriginID])
	if o := origins[id]; o == nil || !o.S3OriginConfig.SignRequests {
		return
	}
	k.warn(key, at, "%s: viewers' PUT, POST, PATCH and DELETE go to S3 origin %q signed with this node's credentials, and write and delete in the bucket as far as those allow (CloudFront's origin access control may do what the bucket policy grants it, often s3:GetObject only); give the node credentials that may do only what viewers may, or allow GET, HEAD and OPTIONS", where, id)
}

// rewritingHeaders are request headers that common origin frameworks
// take, when they trust a proxy in front, for the request's host, scheme,
// port, path or method (Rails and Rack, Django, Symfony, Laravel, Spring,
// Express, IIS rewrites): the inputs "Practical Web Cache Poisoning"
// found unkeyed. Ten, so that an allExcept policy can except them all.
// CloudFront keys the method overrides itself where it forwards them
// (UseOriginCacheControlHeaders).
var rewritingHeaders = []string{"X-Forwarded-Host", "X-Forwarded-Scheme", "X-Forwarded-Ssl", "X-Forwarded-Port", "Forwarded",
	"X-Original-Url", "X-Rewrite-Url", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// unkeyedRewrites warns of a caching behavior whose origin request policy
// sends the origin rewritingHeaders without the cache key holding them:
// an origin that honours one answers one viewer's value (a host in its
// links and redirects, another path, another method) under the key every
// viewer shares, in CloudFront as here. An origin that answers with Vary
// naming them keeps the values apart.
func (k *checker) unkeyedRewrites(key string, field func(string) []cue.Selector, where func() string, spec *schema.CacheBehavior, cfg *schema.Config) {
	if spec.OriginRequestPolicy == "" {
		return // most behaviors: nothing to build the policies for
	}
	b := table.PolicyBehavior(spec, cfg)
	if b == nil || b.OriginRequest.Name == "" || b.Spec.MaxTTL <= 0 || slices.Contains(b.Spec.ForwardedValues.Headers, "*") {
		return
	}
	var names []string
	for _, n := range rewritingHeaders {
		if b.OriginRequest.ForwardsHeader(n) && !b.KeysHeader(n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	k.warn(key, field("originRequestPolicy"), "%s: originRequestPolicy %q sends the origin %s outside the cache key: an origin that honours them (Rails, Django, Symfony, Spring, Express behind a trusted proxy) builds its links, redirects, route or method from one viewer's values into the answer the cache then gives every viewer, unless it answers with Vary naming them; except them in an origin request policy of the config's (headerBehavior \"allExcept\"), or key on them in a cache policy",
		where(), spec.OriginRequestPolicy, strings.Join(names, ", "))
}

// sharedHostCache warns of a behavior that sends the viewer's Host to
// the origin without keying on it, in a distribution that answers to
// several names: one cached copy then serves them all, though the origin
// made it for one (a multi-tenant origin's page for a.example.com goes to
// b.example.com's viewers), in CloudFront as here. Only a behavior that
// names a policy can: forwardedValues alone keys on the Host it forwards.
// Only a custom origin gets the viewer's Host (callers check the target),
// and an origin that answers with Vary: Host keeps the names apart.
func (k *checker) sharedHostCache(key string, field func(string) []cue.Selector, where func() string, spec *schema.CacheBehavior, aliases []string, cfg *schema.Config) {
	if len(aliases) < 2 && !slices.ContainsFunc(aliases, func(a string) bool { return strings.HasPrefix(a, "*.") }) {
		return
	}
	b := table.PolicyBehavior(spec, cfg)
	// Nothing is cached under maxTTL 0 (CachingDisabled) or headers ["*"].
	if b == nil || !b.ForwardsHost() || b.KeysHost() || b.Spec.MaxTTL <= 0 || slices.Contains(b.Spec.ForwardedValues.Headers, "*") {
		return
	}
	at, how := field("originRequestPolicy"), fmt.Sprintf("originRequestPolicy %q forwards it", spec.OriginRequestPolicy)
	var stop string
	switch n := spec.OriginRequestPolicy; {
	case table.ManagedOriginRequestPolicies[n] == nil:
		stop = fmt.Sprintf("leave Host out of origin request policy %q", n)
	case n == "HostHeaderOnly":
		stop = `drop originRequestPolicy "HostHeaderOnly"`
	default:
		stop = fmt.Sprintf(`forward no Host: originRequestPolicy "AllViewerExceptHostHeader" in place of %q`, n)
	}
	if !b.OriginRequest.ForwardsHeader("Host") {
		// forwardedValues lists it, beside a policy that forwards all:
		// the origin's Vary, not the key, selects.
		i := slices.IndexFunc(spec.ForwardedValues.Headers, func(h string) bool { return strings.EqualFold(h, "Host") })
		at = append(field("forwardedValues"), cue.Str("headers"), cue.Index(i))
		how = fmt.Sprintf("forwardedValues lists it, and beside originRequestPolicy %q the cache key holds none of its headers", spec.OriginRequestPolicy)
		stop = "drop Host from forwardedValues.headers"
	}
	fix := "name a cache policy whose headers list Host"
	if n := spec.CachePolicy; n != "" && table.ManagedCachePolicies[n] == nil {
		fix = fmt.Sprintf("add Host to the headers of cache policy %q", n)
	} else if n != "" {
		fix = fmt.Sprintf("name a cache policy of the config's whose headers list Host in place of %q", n)
	}
	k.warn(key, at, "%s: the origin gets the viewer's Host (%s) but the cache key lacks it, and the distribution answers to %s: one cached copy serves every name, though the origin made it for one (a multi-tenant origin's page for one name reaches the others' viewers) unless it answers with Vary: Host; %s, or %s",
		where(), how, aliasList(aliases), fix, stop)
}

// aliasList names a distribution's aliases for a message, the first few.
func aliasList(aliases []string) string {
	const most = 4
	quoted := make([]string, 0, most)
	for _, a := range aliases[:min(len(aliases), most)] {
		quoted = append(quoted, strconv.Quote(a))
	}
	s := strings.Join(quoted, ", ")
	if n := len(aliases) - most; n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	return s
}

// originsOf indexes a distribution's origins and its groups' members by id.
func originsOf(d *schema.Distribution) (map[string]*schema.Origin, map[string][]schema.OriginGroupMember) {
	origins := make(map[string]*schema.Origin, len(d.Origins))
	for i := range d.Origins {
		if o := &d.Origins[i]; origins[o.ID] == nil {
			origins[o.ID] = o
		}
	}
	groups := make(map[string][]schema.OriginGroupMember, len(d.OriginGroups))
	for _, g := range d.OriginGroups {
		if _, dup := groups[g.ID]; !dup {
			groups[g.ID] = g.Members
		}
	}
	return origins, groups
}

// managedResponseHeadersPolicies lists the managed policies' names for
// messages.
var managedResponseHeadersPolicies = strings.Join(sortedKeys(table.ManagedResponseHeadersPolicies), ", ")

// responseHeadersPolicyRef checks the policy a behavior names.
func (k *checker) responseHeadersPolicyRef(key string, at []cue.Selector, where string, b *schema.CacheBehavior, cfg *schema.Config) {
	name := b.ResponseHeadersPolicy
	if name == "" {
		return
	}
	p := table.ResponseHeadersPolicy(cfg, name)
	if p == nil {
		k.unknownPolicy(key, at, where, "response headers policy", name, managedResponseHeadersPolicies, sortedKeys(cfg.ResponseHeadersPolicies), "responseHeadersPolicies")
		return
	}
	// The edge answers a preflight only where the behavior allows OPTIONS;
	// elsewhere an OPTIONS gets 403 and the browser's request never goes.
	if c := p.CorsConfig; c != nil && len(c.AccessControlAllowMethods) > 0 && !slices.Contains(b.AllowedMethods, "OPTIONS") {
		k.warn(key, at, `%s: response headers policy %q answers CORS preflights, but allowedMethods lacks OPTIONS: preflights get 403 and browsers send no cross-origin request that needs one; allow ["GET", "HEAD", "OPTIONS"] or all seven methods`, where, name)
	}
}

// unknownPolicy reports a behavior's policy name that is neither a managed
// policy (names listed in managed) nor a key of the config's field (names
// in own): the nearest of them, else all the managed ones.
func (k *checker) unknownPolicy(key string, at []cue.Selector, where, kind, name, managed string, own []string, field string) {
	if best := closestUnique(name, append(strings.Split(managed, ", "), own...)); best != "" {
		k.add(key, at, "%s: unknown %s %q: did you mean %q? (a managed policy or a key of %s)", where, kind, name, best, field)
		return
	}
	k.add(key, at, "%s: unknown %s %q: name a managed policy (%s) or a key of %s", where, kind, name, managed, field)
}

// originsPlace says which ids a distribution's behavior or origin group
// member may name: its origins' (and, for a behavior, its origin groups').
func originsPlace(origins map[string]*schema.Origin, groups map[string][]schema.OriginGroupMember) string {
	if groups == nil {
		return "an origin id of the distribution: " + strings.Join(sortedKeys(origins), ", ")
	}
	return "an origin or origin group id of the distribution: " + strings.Join(append(sortedKeys(origins), sortedKeys(groups)...), ", ")
}

// shadowsManaged reports a config's policy named like a managed one, which
// no behavior can reach.
func (k *checker) shadowsManaged(key string, at []cue.Selector, where string) {
	k.add(key, at, "%s: a CloudFront managed policy has this name, and behaviors naming it get the managed policy; choose another name", where)
}

// managedCachePolicies lists the managed cache policies' names for messages.
var managedCachePolicies = strings.Join(sortedKeys(table.ManagedCachePolicies), ", ")

// cachePolicyRef checks the cache policy a behavior names, and what it
// makes of the behavior: these depend on the policy, which lives outside
// the distribution, so they run on every compile. s3 is the S3 origin the
// behavior's requests may go to, or "".
func (k *checker) cachePolicyRef(key string, field func(string) []cue.Selector, where string, b *schema.CacheBehavior, cfg *schema.Config, s3 string) {
	name := b.CachePolicy
	if name == "" {
		return
	}
	p := table.CachePolicy(cfg, name)
	if p == nil {
		k.unknownPolicy(key, field("cachePolicy"), where, "cache policy", name, managedCachePolicies, sortedKeys(cfg.CachePolicies), "cachePolicies")
		return
	}
	kp := p.ParametersInCacheKeyAndForwardedToOrigin
	if b.Compress && !kp.EnableAcceptEncodingGzip && !kp.EnableAcceptEncodingBrotli {
		k.warn(key, field("compress"), "%s: not compressed: cache policy %q enables neither enableAcceptEncodingGzip nor enableAcceptEncodingBrotli, and CloudFront compresses only where the accepted encodings are in the cache key; enable one in the policy (CachingOptimized enables both) or drop compress", where, name)
	}
	// Only what depends on the behavior's origin: the policy's own headers
	// are checked once, at the policy (cachePolicy).
	eff := table.WithCachePolicy(b, p)
	var auth []string
	for _, h := range eff.ForwardedValues.Headers {
		if textproto.CanonicalMIMEHeaderKey(h) == "Authorization" {
			auth = append(auth, h)
		}
	}
	k.keyHeaders(key, func(int) []cue.Selector { return field("cachePolicy") }, fmt.Sprintf("%s: cache policy %q", where, name), auth, s3)
	k.s3Cookies(key, field("cachePolicy"), fmt.Sprintf("%s: cache policy %q", where, name), b, eff.ForwardedValues.Cookies.Forward, s3)
}

// s3Cookies warns of cookies in the cache key of a behavior whose requests
// go to S3 origin s3: "Amazon S3 doesn't process cookies. When the cache
// behavior is forwarding requests to an Amazon S3 origin, specify none"
// (API_CookiePreference); each cookie value gets a cached copy of the
// same object, and fewer requests are hits. A behavior with functions
// may choose by a cookie (a rewritten path): no warning.
func (k *checker) s3Cookies(key string, at []cue.Selector, where string, b *schema.CacheBehavior, forward, s3 string) {
	if s3 == "" || forward == "" || forward == "none" || len(b.FunctionAssociations) > 0 {
		return
	}
	k.warn(key, at, "%s: cookies (%s) in the cache key with S3 origin %q: S3 does not process cookies, so each cookie value gets a cached copy of the same object; key on none", where, forward, s3)
}

// cachePolicy checks one of the config's cache policies, each problem at
// its field.
func (k *checker) cachePolicy(name string, p *schema.CachePolicy) {
	key := "cachePolicies." + name
	at := func(parts ...any) []cue.Selector {
		return sel(append([]any{"cachePolicies", name}, parts...)...)
	}
	where := fmt.Sprintf("cache policy %q", name)
	if table.ManagedCachePolicies[name] != nil {
		k.shadowsManaged(key, at(), where)
	}
	k.ttlOrder(key, func(f string) []cue.Selector { return at(f) }, where, p.MinTTL, p.DefaultTTL, p.MaxTTL)
	headers := p.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig.Headers
	hat := func(i int) []cue.Selector {
		return at("parametersInCacheKeyAndForwardedToOrigin", "headersConfig", "headers", i)
	}
	params := p.ParametersInCacheKeyAndForwardedToOrigin
	for i, h := range headers {
		switch {
		case h == "*":
			k.add(key, hat(i), `%s: headersConfig: a cache policy cannot key on every header ("*"); list the headers, or forward all of them outside the key with originRequestPolicy: "AllViewer"`, where)
		case (params.EnableAcceptEncodingGzip || params.EnableAcceptEncodingBrotli) && textproto.CanonicalMIMEHeaderKey(h) == "Accept-Encoding":
			// The API reference allows it only "if both of these fields
			// are false" (ParametersInCacheKeyAndForwardedToOrigin), and
			// CreateCachePolicy answers 400 (jetbridge/cdk-nextjs#189).
			k.add(key, hat(i), "%s: headersConfig: %s beside enableAcceptEncodingGzip or enableAcceptEncodingBrotli: CloudFront refuses it, as these key and forward the viewer's Accept-Encoding, normalized, themselves; drop it from headers", where, h)
		}
	}
	k.keyHeaders(key, hat, where+": headersConfig", headers, "")
}

// managedOriginRequestPolicies lists the managed origin request policies'
// names for messages.
var managedOriginRequestPolicies = strings.Join(sortedKeys(table.ManagedOriginRequestPolicies), ", ")

// originRequestPolicy checks one of the config's origin request policies.
func (k *checker) originRequestPolicy(name string, p *schema.OriginRequestPolicy) {
	key := "originRequestPolicies." + name
	at := func(parts ...any) []cue.Selector {
		return sel(append([]any{"originRequestPolicies", name}, parts...)...)
	}
	where := fmt.Sprintf("origin request policy %q", name)
	if table.ManagedOriginRequestPolicies[name] != nil {
		k.shadowsManaged(key, at(), where)
	}
	for i, h := range p.HeadersConfig.Headers {
		switch {
		case h == "*":
			k.add(key, at("headersConfig", "headers", i), `%s: headersConfig: "*" names no header; headerBehavior "allViewer" forwards every one`, where)
		case textproto.CanonicalMIMEHeaderKey(h) == "Authorization" && p.HeadersConfig.HeaderBehavior != "allExcept":
			// "You can't forward the Authorization header individually in
			// an origin request policy" (http-401-unauthorized; CloudFront
			// answers "The parameter Headers contains Authorization that
			// is not allowed"): outside the key, one viewer's authorized
			// answer would be served to others. AllViewer forwards it.
			k.add(key, at("headersConfig", "headers", i), "%s: headersConfig: CloudFront does not forward %s by an origin request policy, as the cache would answer other viewers with what one viewer's credentials got; key it in the behavior's cache policy", where, h)
		}
		if b := p.HeadersConfig.HeaderBehavior; b == "whitelist" || b == "allViewerAndWhitelistCloudFront" {
			k.unsetCloudFrontHeader(key, at("headersConfig", "headers", i), where+": headersConfig", h)
		}
	}
}

// unsetCloudFrontHeader warns of a CloudFront-* header named for the
// origin that the node never sets: the origin gets none, and never the
// viewer's (table.CloudFrontHeadersFor holds back every named one). A
// name CloudFront documents that openfront does not set yet, or a typo
// of one it sets.
func (k *checker) unsetCloudFrontHeader(key string, at []cue.Selector, where, h string) {
	name := textproto.CanonicalMIMEHeaderKey(h)
	if !strings.HasPrefix(name, "Cloudfront-") || slices.Contains(table.CloudFrontHeaders, name) || slices.Contains(table.ViewerMtlsHeaders, name) ||
		name == "Cloudfront-Viewer-Ja3-Fingerprint" || name == "Cloudfront-Viewer-Ja4-Fingerprint" {
		return
	}
	if unsetCloudFrontHeaders[name] {
		// adding-cloudfront-headers.md, "Headers for determining the
		// viewer's header structure": the viewer's header names in order,
		// and their count. The node's HTTP servers keep no order.
		k.warn(key, at, "%s: openfront does not set %s (CloudFront's viewer header structure), so the origin and functions get none, and never the viewer's own", where, h)
		return
	}
	k.warn(key, at, "%s: %s is no header CloudFront adds, so the origin gets none, and never the viewer's own%s", where, h,
		suggestField(name, slices.Concat(table.CloudFrontHeaders, table.ViewerMtlsHeaders)))
}

// unsetCloudFrontHeaders are the CloudFront headers adding-cloudfront-headers.md
// lists that the node does not set (canonical names).
var unsetCloudFrontHeaders = map[string]bool{
	"Cloudfront-Viewer-Header-Order": true,
	"Cloudfront-Viewer-Header-Count": true,
}

// forwardedEncoding warns, at the header, of Accept-Encoding in the
// whitelist of the config's origin request policy a behavior pairs with a
// cache policy that enables gzip or brotli: there it "has no effect"
// (ParametersInCacheKeyAndForwardedToOrigin in CloudFront's API
// reference), the edge forwarding the normalized value itself. Once per
// policy, however many behaviors pair it so.
func (k *checker) forwardedEncoding(where func() string, b *schema.CacheBehavior, cfg *schema.Config) {
	name := b.OriginRequestPolicy
	orp := cfg.OriginRequestPolicies[name]
	if orp == nil || orp.HeadersConfig.HeaderBehavior != "whitelist" || k.encodingORPs[name] || table.ManagedOriginRequestPolicies[name] != nil {
		return
	}
	cp := table.CachePolicy(cfg, b.CachePolicy)
	if cp == nil || !cp.ParametersInCacheKeyAndForwardedToOrigin.EnableAcceptEncodingGzip && !cp.ParametersInCacheKeyAndForwardedToOrigin.EnableAcceptEncodingBrotli {
		return
	}
	for i, h := range orp.HeadersConfig.Headers {
		if textproto.CanonicalMIMEHeaderKey(h) != "Accept-Encoding" {
			continue
		}
		if k.encodingORPs == nil {
			k.encodingORPs = map[string]bool{}
		}
		k.encodingORPs[name] = true
		k.warn("originRequestPolicies."+name, sel("originRequestPolicies", name, "headersConfig", "headers", i),
			"origin request policy %q: headersConfig: %s has no effect beside a cache policy that enables enableAcceptEncodingGzip or enableAcceptEncodingBrotli, as %q does at %s: the edge forwards the viewer's Accept-Encoding, normalized, itself; drop it from headers", name, h, b.CachePolicy, where())
		return
	}
}

// responseHeadersPolicy checks one of the config's response headers
// policies, each problem at its field; the table refuses the same.
func (k *checker) responseHeadersPolicy(name string, p *schema.ResponseHeadersPolicy) {
	key := "responseHeadersPolicies." + name
	at := func(parts ...any) []cue.Selector {
		return sel(append([]any{"responseHeadersPolicies", name}, parts...)...)
	}
	where := fmt.Sprintf("response headers policy %q", name)
	if table.ManagedResponseHeadersPolicies[name] != nil {
		k.shadowsManaged(key, at(), where)
	}
	for _, pr := range table.ResponseHeadersProblems(p) {
		k.add(key, at(pr.Path...), "%s: %s", where, pr.Msg)
	}
	// Under credentials a browser reads "*" in these two as a header
	// named "*" (Fetch, "CORS protocol": the wildcard holds only for
	// requests without credentials). CloudFront accepts it: a warning.
	if c := p.CorsConfig; c != nil && c.AccessControlAllowCredentials {
		for _, f := range []struct {
			field string
			list  []string
			fails string
		}{
			{"accessControlAllowHeaders", c.AccessControlAllowHeaders, "the preflight of one that sends a header such as Content-Type: application/json or Authorization fails"},
			{"accessControlExposeHeaders", c.AccessControlExposeHeaders, "scripts read none of its response's headers but the safelisted ones"},
		} {
			if i := slices.Index(f.list, "*"); i >= 0 {
				k.warn(key, at("corsConfig", f.field, i), `%s: corsConfig: %s: "*" with accessControlAllowCredentials: true is no wildcard for a request with credentials, which browsers take for a header named "*": %s; name the headers`, where, f.field, f.fails)
			}
		}
	}
}

// distribution checks a distribution on its own.
// checkAlone runs only the checks of each distribution on its own.
func (c *Compiler) checkAlone(cfg *schema.Config, origin map[string]*unit) Errors {
	k := &checker{dir: c.dir}
	for _, id := range sortedKeys(cfg.Distributions) {
		k.distribution(id, cfg.Distributions[id])
	}
	failing := errorIssues(k.issues)
	if len(failing) == 0 {
		return nil
	}
	return c.locate(failing, origin)
}

func (k *checker) distribution(id string, d *schema.Distribution) {
	key := "distributions." + id
	base := sel("distributions", id)
	at := func(parts ...any) []cue.Selector { return append(slices.Clone(base), sel(parts...)...) }
	where := fmt.Sprintf("distribution %q", id)
	k.stagingDistribution(id, d)

	origins := map[string]*schema.Origin{}
	for i := range d.Origins {
		o := &d.Origins[i]
		if _, dup := origins[o.ID]; dup {
			k.add(key, at("origins", i, "id"), "%s: origins[%d]: duplicate origin id %q", where, i, o.ID)
		}
		origins[o.ID] = o
		if n := originKinds(o); n != 1 {
			k.add(key, at("origins", i, "id"), "%s: origin %q: an origin needs exactly one of customOriginConfig, s3OriginConfig, localOriginConfig or liveOriginConfig (found %d)", where, o.ID, n)
		}
		for j, h := range o.CustomHeaders {
			if cffunc.ForbiddenOriginHeader(h.HeaderName) {
				k.add(key, at("origins", i, "customHeaders", j, "headerName"), "%s: origin %q: CloudFront can't add the header %q to origin requests (Host, Range, Cache-Control, conditional and hop-by-hop headers, X-Amz-*, X-Edge-*, X-Real-Ip)", where, o.ID, h.HeaderName)
			}
		}
		if sh := o.OriginShield; sh != nil && sh.Enabled && sh.OriginShieldRegion == "" {
			k.add(key, at("origins", i, "originShield", "enabled"), "%s: origin %q: an enabled originShield needs its originShieldRegion, the region code of its shield node (such as \"us-east-2\")", where, o.ID)
		}
		switch {
		case o.S3OriginConfig != nil:
			if _, err := table.ParseS3Location(o.DomainName, *o.S3OriginConfig); err != nil {
				k.add(key, at("origins", i, "domainName"), "%s: origin %q: %v", where, o.ID, err)
			}
		}
	}
	groups := map[string][]schema.OriginGroupMember{} // by group id
	for i, g := range d.OriginGroups {
		gw := fmt.Sprintf("%s: originGroups[%d] (%q)", where, i, g.ID)
		if _, dup := groups[g.ID]; dup {
			k.add(key, at("originGroups", i, "id"), "%s: duplicate origin group id", gw)
		} else if origins[g.ID] != nil {
			k.add(key, at("originGroups", i, "id"), "%s: id is also an origin's id", gw)
		}
		groups[g.ID] = g.Members
		for j, m := range g.Members {
			if origins[m.OriginID] == nil {
				k.add(key, at("originGroups", i, "members", j, "originId"), "%s: unknown origin %q%s", gw, m.OriginID, nameHint(m.OriginID, sortedKeys(origins), originsPlace(origins, nil)))
			}
		}
		if len(g.Members) == 2 && g.Members[0].OriginID == g.Members[1].OriginID {
			k.add(key, at("originGroups", i, "members", 1, "originId"), "%s: both members are origin %q", gw, g.Members[0].OriginID)
		}
	}

	patterns := map[string]int{}
	for i := range d.CacheBehaviors {
		b := &d.CacheBehaviors[i]
		bw := fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, b.PathPattern)
		if p, err := table.CompilePattern(b.PathPattern); err != nil {
			k.add(key, at("cacheBehaviors", i, "pathPattern"), "%s: %v", bw, err)
		} else if j, dup := patterns[p.String()]; dup {
			k.add(key, at("cacheBehaviors", i, "pathPattern"), "%s: duplicate pathPattern, cacheBehaviors[%d] has it already", bw, j)
		} else {
			patterns[p.String()] = i
		}
		k.behavior(key, at("cacheBehaviors", i), bw, b, origins, groups)
		k.grpc(key, at("cacheBehaviors", i), bw, b, d, origins)
	}
	k.behavior(key, at("defaultCacheBehavior"), where+": defaultCacheBehavior", &d.DefaultCacheBehavior, origins, groups)
	k.grpc(key, at("defaultCacheBehavior"), where+": defaultCacheBehavior", &d.DefaultCacheBehavior, d, origins)

	codes := map[int]bool{}
	for i, e := range d.CustomErrorResponses {
		if codes[e.ErrorCode] {
			k.add(key, at("customErrorResponses", i, "errorCode"), "%s: customErrorResponses[%d]: errorCode %d appears twice", where, i, e.ErrorCode)
		}
		codes[e.ErrorCode] = true
		// As CloudFront: a responseCode is the status of a custom error page.
		if e.ResponseCode != 0 && e.ResponsePagePath == "" {
			k.add(key, at("customErrorResponses", i, "responseCode"), "%s: customErrorResponses[%d]: responseCode needs a responsePagePath", where, i)
		}
	}
	for i, c := range d.Restrictions.GeoRestriction.Items {
		if !countryCodes[c] {
			hint := ""
			if h := countryHints[c]; h != "" {
				hint = fmt.Sprintf(" (the code is %q)", h)
			}
			k.add(key, at("restrictions", "geoRestriction", "items", i), "%s: geoRestriction: %q is not an assigned ISO 3166-1 alpha-2 country code%s", where, c, hint)
		}
	}
	k.logging(key, at("logging"), where, d.Logging)
	k.viewerMtls(key, at, where, d)
}

func (k *checker) behavior(key string, at []cue.Selector, where string, b *schema.CacheBehavior, origins map[string]*schema.Origin, groups map[string][]schema.OriginGroupMember) {
	field := func(parts ...any) []cue.Selector { return append(slices.Clone(at), sel(parts...)...) }
	members, toGroup := groups[b.TargetOriginID]
	if origins[b.TargetOriginID] == nil && !toGroup {
		k.add(key, field("targetOriginId"), "%s: unknown origin %q%s", where, b.TargetOriginID, nameHint(b.TargetOriginID, append(sortedKeys(origins), sortedKeys(groups)...), originsPlace(origins, groups)))
	}
	// As CloudFront: failover re-sends a request, which only safe methods allow.
	if toGroup && slices.ContainsFunc(b.AllowedMethods, func(m string) bool { return m != "GET" && m != "HEAD" && m != "OPTIONS" }) {
		k.add(key, field("allowedMethods"), "%s: a behavior whose target is origin group %q may allow only GET, HEAD and OPTIONS", where, b.TargetOriginID)
	}
	if !isMethodSet(b.AllowedMethods, allowedMethodSets) {
		k.add(key, field("allowedMethods"), "%s: allowedMethods must be [GET, HEAD], [GET, HEAD, OPTIONS] or all seven methods", where)
	}
	if !isMethodSet(b.CachedMethods, cachedMethodSets) {
		k.add(key, field("cachedMethods"), "%s: cachedMethods must be [GET, HEAD] or [GET, HEAD, OPTIONS]", where)
	} else if slices.Contains(b.CachedMethods, "OPTIONS") && !slices.Contains(b.AllowedMethods, "OPTIONS") {
		k.add(key, field("cachedMethods"), "%s: cachedMethods has OPTIONS but allowedMethods does not", where)
	}
	if b.CachePolicy != "" {
		k.legacyCacheSettings(key, field, where, b)
		return
	}
	// openfront keys on forwardedValues and forwards the policy's values
	// beside them, as a cache policy would; CloudFront's API refuses the
	// pair, so such a config would not carry over.
	if b.OriginRequestPolicy != "" {
		k.warn(key, field("originRequestPolicy"), `%s: originRequestPolicy %q without a cachePolicy: CloudFront refuses an origin request policy beside legacy cache settings (forwardedValues and TTLs); name a cache policy ("CachingDisabled" where nothing is cached, else one that keys on what forwardedValues lists)`, where, b.OriginRequestPolicy)
	}
	k.ttlOrder(key, func(f string) []cue.Selector { return field(f) }, where, b.MinTTL, b.DefaultTTL, b.MaxTTL)
	fv := b.ForwardedValues
	if len(fv.QueryStringCacheKeys) > 0 && !fv.QueryString {
		k.add(key, field("forwardedValues", "queryStringCacheKeys"), "%s: queryStringCacheKeys needs forwardedValues.queryString: true", where)
	}
	if slices.Contains(fv.Headers, "*") && len(fv.Headers) > 1 {
		k.add(key, field("forwardedValues", "headers"), `%s: headers ["*"] forwards every header; list no others`, where)
	}
	s3 := s3Target(b.TargetOriginID, origins, members)
	k.keyHeaders(key, func(i int) []cue.Selector { return field("forwardedValues", "headers", i) }, where+": headers", fv.Headers, s3)
	k.s3Cookies(key, field("forwardedValues", "cookies", "forward"), where+": forwardedValues", b, fv.Cookies.Forward, s3)
}

// grpc reports what a behavior that proxies gRPC lacks, as CloudFront
// (distribution-using-grpc.md): gRPC calls are POSTs over HTTP/2, and go
// to the origin over HTTPS only.
func (k *checker) grpc(key string, at []cue.Selector, where string, b *schema.CacheBehavior, d *schema.Distribution, origins map[string]*schema.Origin) {
	if !b.GrpcConfig.Enabled {
		return
	}
	field := append(slices.Clone(at), sel("grpcConfig", "enabled")...)
	if !slices.Contains(b.AllowedMethods, "POST") {
		k.add(key, field, "%s: grpcConfig needs allowedMethods with POST (all seven methods): gRPC calls are POSTs", where)
	}
	if d.HTTPVersion != "http2" && d.HTTPVersion != "http2and3" {
		k.add(key, field, `%s: grpcConfig needs a distribution that serves HTTP/2 (httpVersion "http2" or "http2and3", not %q): gRPC runs over HTTP/2`, where, d.HTTPVersion)
	}
	o := origins[b.TargetOriginID]
	switch {
	case o == nil:
		// An unknown origin or an origin group: reported already (a group
		// allows no POST).
	case o.CustomOriginConfig == nil:
		k.add(key, field, "%s: grpcConfig: origin %q is not a custom origin; gRPC goes to an HTTP/2 server over HTTPS", where, o.ID)
	case o.CustomOriginConfig.OriginProtocolPolicy == "http-only":
		k.add(key, field, `%s: grpcConfig: origin %q is reached over HTTP only; gRPC goes to the origin over HTTPS, as on CloudFront ("https-only" or "match-viewer")`, where, o.ID)
	}
}

// legacyCacheSettings reports, at each, the cache settings a behavior with
// a cache policy sets too: CloudFront refuses CachePolicyId beside
// ForwardedValues or TTLs, and here the policy would silently win.
func (k *checker) legacyCacheSettings(key string, field func(...any) []cue.Selector, where string, b *schema.CacheBehavior) {
	// refuse reports the field at path, which moves to the policy's to.
	refuse := func(to string, path ...any) {
		name := fmt.Sprint(path[0])
		for _, p := range path[1:] {
			name += fmt.Sprint(".", p)
		}
		k.add(key, field(path...), "%s: %s beside cachePolicy %q: CloudFront refuses a behavior with both, and the cache policy sets the key and TTLs; move it into a cache policy's %s", where, name, b.CachePolicy, to)
	}
	const params = "parametersInCacheKeyAndForwardedToOrigin."
	fv := b.ForwardedValues
	switch {
	case len(fv.QueryStringCacheKeys) > 0:
		refuse(params+"queryStringsConfig", "forwardedValues", "queryStringCacheKeys")
	case fv.QueryString:
		refuse(params+"queryStringsConfig", "forwardedValues", "queryString")
	}
	if fv.Cookies.Forward != "none" && fv.Cookies.Forward != "" {
		refuse(params+"cookiesConfig", "forwardedValues", "cookies")
	}
	if len(fv.Headers) > 0 {
		refuse(params+"headersConfig", "forwardedValues", "headers")
	}
	// The schema's defaults: a value written out as the default is not told apart.
	for _, t := range []struct {
		name      string
		got, want int64
	}{{"minTTL", b.MinTTL, 0}, {"defaultTTL", b.DefaultTTL, 86400}, {"maxTTL", b.MaxTTL, 31536000}} {
		if t.got != t.want {
			refuse(t.name, t.name)
		}
	}
}

// ttlOrder checks minTTL <= defaultTTL <= maxTTL, at the first field out
// of order.
func (k *checker) ttlOrder(key string, field func(string) []cue.Selector, where string, minTTL, defaultTTL, maxTTL int64) {
	switch {
	case minTTL > defaultTTL:
		k.add(key, field("minTTL"), "%s: minTTL %d is greater than defaultTTL %d", where, minTTL, defaultTTL)
	case defaultTTL > maxTTL:
		k.add(key, field("defaultTTL"), "%s: defaultTTL %d is greater than maxTTL %d", where, defaultTTL, maxTTL)
	}
}

// keyHeaders warns of headers in a cache key that do not do what they
// say, each at(i); s3 is the S3 origin the requests may go to, or "".
func (k *checker) keyHeaders(key string, at func(int) []cue.Selector, where string, headers []string, s3 string) {
	for i, h := range headers {
		name := textproto.CanonicalMIMEHeaderKey(h)
		k.unsetCloudFrontHeader(key, at(i), where, h)
		switch {
		case name == "Authorization" && s3 != "":
			// CloudFront: "For Amazon S3 origins, caching based on the
			// Authorization header isn't supported" (a warning: CloudFront
			// takes the legacy setting). The node does not send it to S3
			// either, so it only splits the cache per credential.
			k.warn(key, at(i), "%s: %s with S3 origin %q: CloudFront does not support caching on Authorization for S3 origins, and S3 gets no Authorization from the node; each credential only gets a cached copy of its own", where, h, s3)
		case originRequestOnly[name]:
			// adding-cloudfront-headers.md, of each of these: it "can be added
			// in an origin request policy, but not in a cache policy". A
			// warning, not an error: openfront took it in the cache key
			// before, and a config that served must not stop compiling.
			k.warn(key, at(i), `%s: CloudFront adds %s to origin requests through an origin request policy, never to the cache key, where each viewer gets a cached copy of its own; name it in no headers: originRequestPolicy: "AllViewerAndCloudFrontHeaders-2022-06" adds it outside the key`, where, h)
		case name == "Cloudfront-Viewer-Cert-Validity" || name == "Cloudfront-Viewer-Cert-Pem":
			// viewer-mtls-headers.md: "For origin requests, two additional
			// headers are supplied, in addition the headers above made
			// available for cache behaviors".
			k.warn(key, at(i), "%s: CloudFront adds %s to origin requests only, never to the cache key, where each client certificate would get a cached copy of its own; name it in an origin request policy", where, h)
		case name == "Cloudfront-Viewer-Ja3-Fingerprint" || name == "Cloudfront-Viewer-Ja4-Fingerprint":
			// Not in the dated managed policy; an origin request policy of
			// the config's adds it outside the key.
			k.warn(key, at(i), "%s: CloudFront adds %s through an origin request policy only, never to the cache key, where each TLS client gets a cached copy of its own; name it in an origin request policy of the config's (headerBehavior \"whitelist\" or \"allViewerAndWhitelistCloudFront\"), which adds it outside the key (AllViewerAndCloudFrontHeaders-2022-06 predates it)", where, h)
		}
	}
}

// originRequestOnly are the CloudFront headers CloudFront allows in an
// origin request policy but not in a cache key (canonical names) that
// AllViewerAndCloudFrontHeaders-2022-06 adds.
var originRequestOnly = map[string]bool{
	"Cloudfront-Viewer-Address": true,
	"Cloudfront-Viewer-Asn":     true,
	"Cloudfront-Viewer-Tls":     true,
}

// s3Target is the id of the S3 origin a behavior's requests may go to, the
// target or a member of the target group, or "".
// customTarget reports whether target, or a member of its group, is a
// custom origin: the only kind that gets the viewer's Host.
func customTarget(target string, origins map[string]*schema.Origin, members []schema.OriginGroupMember) bool {
	if o := origins[target]; o != nil && o.CustomOriginConfig != nil {
		return true
	}
	return slices.ContainsFunc(members, func(m schema.OriginGroupMember) bool {
		o := origins[m.OriginID]
		return o != nil && o.CustomOriginConfig != nil
	})
}

func s3Target(target string, origins map[string]*schema.Origin, members []schema.OriginGroupMember) string {
	if o := origins[target]; o != nil && o.S3OriginConfig != nil {
		return target
	}
	for _, m := range members {
		if o := origins[m.OriginID]; o != nil && o.S3OriginConfig != nil {
			return m.OriginID
		}
	}
	return ""
}

func (k *checker) keyGroupRefs(key string, at []cue.Selector, where string, refs []string, cfg *schema.Config) {
	for i, id := range refs {
		if cfg.KeyGroups[id] == nil {
			k.add(key, append(slices.Clone(at), cue.Index(i)), "%s: trustedKeyGroups: unknown key group %q%s", where, id, nameHint(id, sortedKeys(cfg.KeyGroups), "a key of keyGroups"))
		}
	}
}

// keyGroupsPerDistribution is CloudFront's quota "Key groups associated
// with a single distribution" (#Quotas.keyGroupsPerDistribution): the
// schema bounds each behavior's list, not the union over behaviors.
const keyGroupsPerDistribution = 4

// keyGroupsPerDistribution adds a behavior's trusted key groups to those of
// its distribution (seen), refusing the one past CloudFront's quota, as its
// API does with TooManyKeyGroupsAssociatedToDistribution.
func (k *checker) keyGroupsPerDistribution(key string, at []cue.Selector, where string, refs []string, seen map[string]bool) {
	for i, id := range refs {
		if seen[id] {
			continue
		}
		seen[id] = true
		if len(seen) == keyGroupsPerDistribution+1 {
			k.add(key, append(slices.Clone(at), cue.Index(i)), "%s: trustedKeyGroups: key group %q makes %d key groups over the distribution's behaviors; CloudFront allows %d per distribution (TooManyKeyGroupsAssociatedToDistribution)", where, id, len(seen), keyGroupsPerDistribution)
		}
	}
}

func (k *checker) aliases(key string, base []cue.Selector, kind, id string, aliases []string, owner map[string]string) {
	for i, a := range aliases {
		// CNAMEs.html: "You can't add a wildcard to a top level domain
		// name, such as *.com": it would answer every host of the TLD.
		if suffix, wild := strings.CutPrefix(a, "*."); wild && !strings.Contains(suffix, ".") {
			k.add(key, append(slices.Clone(base), sel("aliases", i)...), "%s %q: alias %q is a wildcard on a top-level domain, which CloudFront refuses: name a domain below it, such as \"*.example%s\"", kind, id, a, a[1:])
			continue
		}
		if other, dup := owner[a]; dup && other != id {
			k.add(key, append(slices.Clone(base), sel("aliases", i)...), "%s %q: alias %q is already claimed by %s %q (CNAMEAlreadyExists)", kind, id, a, kind, other)
			continue
		}
		owner[a] = id
	}
}

// awsLogBucket matches CloudFront's logging bucket form, name.s3[.region].amazonaws.com.
func (k *checker) logging(key string, at []cue.Selector, where string, l schema.Logging) {
	if l.Bucket == "" {
		if l.Endpoint != "" || l.Region != "" {
			k.add(key, append(slices.Clone(at), cue.Str("bucket")), "%s: logging: endpoint and region need a bucket", where)
		}
		return
	}
	var err error
	if l.Endpoint != "" {
		if l.Region == "" {
			err = fmt.Errorf("an S3 endpoint needs a region")
		} else if !validBucketName(l.Bucket) {
			err = fmt.Errorf("%q is not a valid S3 bucket name", l.Bucket)
		}
	} else {
		_, err = table.ParseS3Location(l.Bucket, schema.S3OriginConfig{})
		if err != nil {
			err = fmt.Errorf("bucket %q: want BUCKET.s3.amazonaws.com or BUCKET.s3.REGION.amazonaws.com, or endpoint and region for an S3-compatible server", l.Bucket)
		}
	}
	if err != nil {
		k.add(key, append(slices.Clone(at), cue.Str("bucket")), "%s: logging: %v", where, err)
	}
}

// validBucketName applies S3's bucket naming rules.
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return b[0] != '.' && b[0] != '-' && b[len(b)-1] != '.' && b[len(b)-1] != '-'
}

func isMethodSet(methods []string, sets [][]string) bool {
	m := slices.Clone(methods)
	slices.Sort(m)
	for _, s := range sets {
		s = slices.Clone(s)
		slices.Sort(s)
		if slices.Equal(m, s) {
			return true
		}
	}
	return false
}

// locate turns issues into positioned errors by evaluating the units that
// hold them again: positions are kept only when something is wrong.
// Without units (origin nil: a table artifact's config), an issue is
// placed by its path in the artifact's JSON.
func (c *Compiler) locate(issues []issue, origin map[string]*unit) Errors {
	var e *evaluator
	values := map[*unit]cue.Value{}
	var errs Errors
	for _, is := range issues {
		if origin == nil {
			errs = append(errs, Error{Msg: jsonPlace(is) + ": " + is.msg})
			continue
		}
		u := origin[is.unitKey]
		if u == nil {
			errs = append(errs, Error{Msg: is.msg})
			continue
		}
		v, ok := values[u]
		if !ok {
			if e == nil {
				e = c.newEvaluator()
			}
			v, _ = e.build(u)
			values[u] = v
		}
		pos := userPos(v, is.path)
		if is.in != (codePos{}) {
			errs = append(errs, c.codeError(pos, is.in, is.msg))
			continue
		}
		errs = append(errs, c.posError(pos, is.msg))
	}
	return errs
}

func originKinds(o *schema.Origin) int {
	n := 0
	for _, set := range []bool{o.CustomOriginConfig != nil, o.S3OriginConfig != nil, o.LocalOriginConfig != nil, o.LiveOriginConfig != nil} {
		if set {
			n++
		}
	}
	return n
}
