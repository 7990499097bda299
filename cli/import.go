package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"cuelang.org/go/cue/format"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

func init() {
	register("import", command{
		summary: "turn `aws cloudfront get-*` JSON output into an openfront config",
		usage:   "import [-o FILE] [--id ID] [--accept-dropped-protection] JSON|NAME.js|STORE.keys.json|TRUSTSTOREID.pem...",
		examples: []string{
			"import --id site -o config/site.cue dist.json cp.json url-rewrite.js url-rewrite.function.json",
		},
		run: runImport,
	})
}

// CloudFront's managed policies by the IDs the AWS CLI prints, mapped to
// openfront's names for them (compiler/table). The IDs are AWS's published
// ones: using-managed-cache-policies.md,
// using-managed-origin-request-policies.md and
// using-managed-response-headers-policies.md in the CloudFront Developer
// Guide (the newer ones as aws-cdk's aws-cloudfront constants carry them).
// HostHeaderOnly is left out: its ID could not be checked against AWS's
// pages; `get-origin-request-policy` output imports it as a custom policy.
var (
	managedCachePolicyIDs = map[string]string{
		"658327ea-f89d-4fab-a63d-7e88639e58f6": "CachingOptimized",
		"b2884449-e4de-46a7-ac36-70bc7f1ddd6d": "CachingOptimizedForUncompressedObjects",
		"4135ea2d-6df8-44a3-9df3-4b5a84be39ad": "CachingDisabled",
		"08627262-05a9-4f76-9ded-b50ca2e3a84f": "Elemental-MediaPackage",
		"83da9c7e-98b4-4e11-a168-04f0df8e2c65": "UseOriginCacheControlHeaders",
		"4cc15a8a-d715-48a4-82b8-cc0b614638fe": "UseOriginCacheControlHeaders-QueryStrings",
		"2e54312d-136d-493c-8eb9-b001f22f67d2": "Amplify",
	}
	managedOriginRequestPolicyIDs = map[string]string{
		"216adef6-5c7f-47e4-b989-5492eafa07d3": "AllViewer",
		"b689b0a8-53d0-40ab-baf2-68738e2966ac": "AllViewerExceptHostHeader",
		"33f36d7e-f396-46d9-90e0-52428a34d9dc": "AllViewerAndCloudFrontHeaders-2022-06",
		"88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": "CORS-S3Origin",
		"59781a5b-3903-41f3-afcb-af62929ccde1": "CORS-CustomOrigin",
		"acba4595-bd28-49b8-b9fe-13317c0390fa": "UserAgentRefererHeaders",
		"775133bc-15f2-49f9-abea-afb2e0bf67d2": "Elemental-MediaTailor-PersonalizedManifests",
	}
	managedResponseHeadersPolicyIDs = map[string]string{
		"60669652-455b-4ae9-85a4-c4c02393f86c": "SimpleCORS",
		"5cc3b908-e619-4b99-88e5-2cf7f45965bd": "CORS-With-Preflight",
		"67f7725c-6f97-4210-82d7-5512b31e9d03": "SecurityHeadersPolicy",
		"e61eb60c-9c35-4d20-a928-2b84e02af89c": "CORS-and-SecurityHeadersPolicy",
		"eaab4381-ed33-4a86-88ca-d9558dc6cd63": "CORS-with-preflight-and-SecurityHeadersPolicy",
	}
)

// importPolicy is one kind of policy a behavior names by ID.
type importPolicy struct {
	field   string            // the behavior's field in openfront
	section string            // the config's map of custom ones
	command string            // the AWS CLI command that fetches one
	managed map[string]string // managed IDs to openfront names
	names   func(string) bool // openfront's managed names, which a custom one must not take
}

var (
	cachePolicyKind = importPolicy{"cachePolicy", "cachePolicies", "get-cache-policy", managedCachePolicyIDs,
		func(n string) bool { return table.ManagedCachePolicies[n] != nil }}
	originRequestPolicyKind = importPolicy{"originRequestPolicy", "originRequestPolicies", "get-origin-request-policy", managedOriginRequestPolicyIDs,
		func(n string) bool { return table.ManagedOriginRequestPolicies[n] != nil }}
	responseHeadersPolicyKind = importPolicy{"responseHeadersPolicy", "responseHeadersPolicies", "get-response-headers-policy", managedResponseHeadersPolicyIDs,
		func(n string) bool { return table.ManagedResponseHeadersPolicies[n] != nil }}
)

func runImport(args []string, stdout, stderr io.Writer) int {
	fl := newFlags("import", "import [-o FILE] [--id ID] [--accept-dropped-protection] JSON|NAME.js|STORE.keys.json|TRUSTSTOREID.pem...", stderr)
	out := fl.String("o", "", "write the config to `FILE` instead of stdout")
	id := fl.String("id", "", "the distribution's `ID` in the config (default: the Distribution's Id, else its CallerReference)")
	accept := fl.Bool("accept-dropped-protection", false, "exit 0 when the config lacks a protection CloudFront enforced (a blocking WAF rule, a viewer-request function, ...): the lines that name them become warnings")
	pos, err := parseFlags(fl, args)
	if err != nil || len(pos) == 0 {
		return badUsage(fl, err, "missing JSON: name at least one file of `aws cloudfront get-*` output")
	}
	imp := &importer{distID: *id}
	for _, name := range pos {
		if err := imp.read(name); err != nil {
			fmt.Fprintf(stderr, "openfront import: %v\n", err)
			return exitFail
		}
	}
	src, err := imp.build(pos)
	if err != nil {
		fmt.Fprintf(stderr, "openfront import: %v\n", err)
		return exitFail
	}
	for _, n := range imp.notes {
		fmt.Fprintln(stderr, n)
	}
	display := "<stdout>"
	if *out != "" {
		display = *out
		// A migration starts in an empty directory: -o config/site.cue
		// makes config/, as openfront init does.
		err := os.MkdirAll(filepath.Dir(*out), 0o777)
		if err == nil {
			err = writeFileAtomic(*out, src, "cdn.cue")
		}
		if err != nil {
			fmt.Fprintf(stderr, "openfront import: %v\n", err)
			return exitFail
		}
	} else if _, err := stdout.Write(src); err != nil {
		fmt.Fprintf(stderr, "openfront import: %v\n", err)
		return exitFail
	}
	code := vetImported(src, display, stderr)
	if imp.reportDropped(src, display, *accept, stderr) {
		code = exitFail
	}
	return code
}

// dropped is a protection CloudFront enforced that the config lacks:
// traffic CloudFront refused would be served.
type dropped struct {
	note string // the comment's text, which finds its line in the output
	what string // what it protected
}

// reportDropped prints a line per dropped protection at the output's
// line of its note and reports whether import must fail for them.
func (imp *importer) reportDropped(src []byte, display string, accept bool, stderr io.Writer) bool {
	if len(imp.dropped) == 0 {
		return false
	}
	lines := strings.Split(string(src), "\n")
	used := map[int]bool{}
	kind := "protection dropped"
	if accept {
		kind = "warning: " + kind
	}
	for _, d := range imp.dropped {
		first, _, _ := strings.Cut(d.note, "\n")
		at := "?"
		for i, l := range lines {
			if !used[i] && strings.TrimSpace(l) == "// openfront import: "+first {
				used[i] = true
				at = strconv.Itoa(i + 1)
				break
			}
		}
		fmt.Fprintf(stderr, "%s:%s: %s: %s\n", display, at, kind, d.what)
	}
	if accept {
		return false
	}
	fmt.Fprintf(stderr, "openfront import: %d protection(s) CloudFront enforced are not in the config: it would serve what CloudFront refused. The config is written; fix each at its line, or pass --accept-dropped-protection to accept them\n", len(imp.dropped))
	return true
}

// vetImported compiles the imported file alone, as vet would, and prints
// its problems at display:line:col.
func vetImported(src []byte, display string, stderr io.Writer) int {
	dir, err := os.MkdirTemp("", "openfront-import-*")
	if err != nil {
		fmt.Fprintf(stderr, "openfront import: %v\n", err)
		return exitFail
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "imported.cue")
	if err := os.WriteFile(name, src, 0o666); err != nil {
		fmt.Fprintf(stderr, "openfront import: %v\n", err)
		return exitFail
	}
	rename := func(e compiler.Error) compiler.Error {
		if e.File == name {
			e.File = display
		}
		return e
	}
	res, err := compiler.New(dir).Compile()
	if err != nil {
		var errs compiler.Errors
		if !errors.As(err, &errs) {
			fmt.Fprintf(stderr, "openfront import: %v\n", err)
			return exitFail
		}
		for _, e := range errs {
			fmt.Fprintln(stderr, rename(e))
		}
		fmt.Fprintf(stderr, "openfront import: the imported config does not vet: %d error(s)\n", len(errs))
		return exitFail
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, rename(w))
	}
	return exitOK
}

// importer gathers the AWS objects of every input file, then writes one
// config.
type importer struct {
	distID string // --id

	dists     []awsObject // web distributions
	streaming []awsObject
	policies  map[string]map[string]*awsPolicy // by section, then AWS ID
	keyGroups []awsObject
	keyNames  map[string]string    // key group AWS ID to its key in the config
	publicKey map[string]awsObject // public key AWS ID to its PublicKeyConfig
	// functions are CloudFront Functions by name: their code from NAME.js
	// (get-function's output file), their config from describe-function.
	functions map[string]*awsFunction

	functionNames map[string]bool // functions' keys in the config

	// stores are KeyValueStores by ARN, from describe-key-value-store or
	// list-key-value-stores; storeKeys their keys by the store's name in
	// CloudFront, from STORE.keys.json.
	stores    map[string]*awsStore
	storeKeys map[string]*awsKeys

	// deployments are continuous deployment policies, from
	// get-continuous-deployment-policy, and deploymentNames their keys in
	// the config by AWS ID; dnsNames are the web distributions' files by
	// DNS name (get-distribution prints it), and distNames their keys in
	// the config by file: a policy names its staging distribution by DNS
	// name.
	deployments     []awsObject
	deploymentNames map[string]string
	dnsNames        map[string]string
	distNames       map[string]string

	// vpcOrigins are get-vpc-origin output by VPC origin ID: the
	// endpoint's ports and protocols, which the distribution's origin
	// does not repeat.
	vpcOrigins map[string]awsObject

	// certNames are certificate files' names by certificate ARN (or IAM
	// certificate ID), named for the first alias of the first
	// distribution that has the certificate and aliases.
	certNames map[string]string

	// originIDs are the config's IDs for the origins and origin groups of
	// the distribution being converted whose CloudFront IDs the schema
	// refuses, by CloudFront ID.
	originIDs map[string]string

	// webACLs, ipSets and regexSets are AWS WAF's, from get-web-acl,
	// get-ip-set and get-regex-pattern-set.
	webACLs, ipSets, regexSets []*awsWAF
	// ruleGroups are from get-rule-group (importwafgroup.go).
	ruleGroups []*awsWAF

	// trustStorePEMs are trust stores' CA certificates by AWS ID, from
	// ID.pem; trustStoreNames their keys in the config, once a
	// distribution names them (importmtls.go).
	trustStorePEMs map[string]string
	// renamedOriginIDs are the new ids of the origin ids the schema
	// refuses, over all distributions (one each, unless two distributions
	// needed different ones): functions' code names them too.
	renamedOriginIDs map[string]map[string]bool
	trustStoreNames  map[string]string

	notes   []string  // what was not imported, for stderr
	dropped []dropped // the notes that drop a protection
}

// awsObject is one config read from a file: id is AWS's Id, if printed.
type awsObject struct {
	file, id string
	cfg      map[string]any
}

type awsFunction struct {
	code     string
	codeFile string         // NAME.js
	cfg      map[string]any // FunctionConfig
	file     string         // of cfg
	name     string         // in the config, once a behavior runs it
}

// function is the CloudFront Function name, made when first met.
func (imp *importer) function(name string) *awsFunction {
	if imp.functions == nil {
		imp.functions = map[string]*awsFunction{}
	}
	if imp.functions[name] == nil {
		imp.functions[name] = &awsFunction{}
	}
	return imp.functions[name]
}

type awsStore struct {
	awsObject
	described bool   // by describe-key-value-store, not only listed
	name      string // in the config, once declared with its keys
}

// awsKeys are a store's keys from list-keys output or CloudFront's import
// file, in the file's order.
type awsKeys struct {
	file string
	keys [][2]string
	more bool // list-keys printed a NextToken: more pages follow
}

type awsPolicy struct {
	awsObject
	name string // its key in the config
}

func (imp *importer) read(name string) error {
	b, err := os.ReadFile(name)
	if errors.Is(err, syscall.EISDIR) {
		return fmt.Errorf("%s is a directory: name the files of aws output in it (%s, say)", name, filepath.Join(name, "*.json"))
	}
	if err != nil {
		return err
	}
	if id, ok := strings.CutSuffix(filepath.Base(name), ".pem"); ok {
		// A trust store's CA bundle, copied from the S3 object its
		// get-trust-store output names.
		if imp.trustStorePEMs == nil {
			imp.trustStorePEMs = map[string]string{}
		}
		// Only its certificates: openssl's "Bag Attributes" lines, which
		// may hold text in another encoding than UTF-8 (a friendlyName),
		// are not the bundle's.
		var certs []byte
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: blk.Bytes})...)
		}
		if len(certs) == 0 {
			return fmt.Errorf("%s: no PEM block: a trust store's CA bundle holds its CA certificates as PEM", name)
		}
		imp.trustStorePEMs[id] = string(certs)
		return nil
	}
	if fn, ok := strings.CutSuffix(filepath.Base(name), ".js"); ok {
		// aws cloudfront get-function --name NAME NAME.js writes the code.
		if !utf8.Valid(b) {
			// CUE, which the config is, holds UTF-8 text only.
			off := 0
			for r, n := utf8.DecodeRune(b); r != utf8.RuneError || n != 1; r, n = utf8.DecodeRune(b[off:]) {
				off += n
			}
			line, col := lineCol(b, off)
			return fmt.Errorf("%s:%d:%d: not UTF-8: save the function's code as UTF-8", name, line, col)
		}
		f := imp.function(fn)
		f.code, f.codeFile = string(b), name
		return nil
	}
	top, off, err := decodeObject(b)
	if err != nil {
		line, col := lineCol(b, off)
		return fmt.Errorf("%s:%d:%d: not the JSON the AWS CLI prints: %w", name, line, col, err)
	}
	if store, ok := strings.CutSuffix(filepath.Base(name), ".keys.json"); ok {
		// Neither list-keys nor the import file names its store: the
		// file's name does, as NAME.js names a function.
		return imp.readKeys(name, store, top)
	}
	obj := func(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	policy := func(k importPolicy, wrapper, config string) {
		p := obj(top, wrapper)
		if imp.policies == nil {
			imp.policies = map[string]map[string]*awsPolicy{}
		}
		if imp.policies[k.section] == nil {
			imp.policies[k.section] = map[string]*awsPolicy{}
		}
		imp.policies[k.section][str(p, "Id")] = &awsPolicy{awsObject: awsObject{name, str(p, "Id"), obj(p, config)}}
	}
	switch {
	case obj(top, "Distribution") != nil:
		d := obj(top, "Distribution")
		imp.dists = append(imp.dists, awsObject{name, str(d, "Id"), obj(d, "DistributionConfig")})
		if dns := str(d, "DomainName"); dns != "" {
			if imp.dnsNames == nil {
				imp.dnsNames = map[string]string{}
			}
			imp.dnsNames[dns] = name
		}
	case obj(top, "VpcOrigin") != nil:
		v := obj(top, "VpcOrigin")
		if imp.vpcOrigins == nil {
			imp.vpcOrigins = map[string]awsObject{}
		}
		imp.vpcOrigins[str(v, "Id")] = awsObject{name, str(v, "Id"), v}
	case obj(top, "ContinuousDeploymentPolicy") != nil:
		p := obj(top, "ContinuousDeploymentPolicy")
		imp.deployments = append(imp.deployments, awsObject{name, str(p, "Id"), obj(p, "ContinuousDeploymentPolicyConfig")})
	case obj(top, "DistributionConfig") != nil:
		imp.dists = append(imp.dists, awsObject{name, "", obj(top, "DistributionConfig")})
	case top["Origins"] != nil && top["DefaultCacheBehavior"] != nil:
		imp.dists = append(imp.dists, awsObject{name, "", top})
	case obj(top, "StreamingDistribution") != nil:
		d := obj(top, "StreamingDistribution")
		imp.streaming = append(imp.streaming, awsObject{name, str(d, "Id"), obj(d, "StreamingDistributionConfig")})
	case obj(top, "StreamingDistributionConfig") != nil:
		imp.streaming = append(imp.streaming, awsObject{name, "", obj(top, "StreamingDistributionConfig")})
	case obj(top, "DistributionList") != nil:
		// API_DistributionSummary has no CallerReference, DefaultRootObject,
		// Logging or ContinuousDeploymentPolicyId: importing a summary would
		// drop them without a word.
		var ids []string
		for _, it := range newSrc(name, "", obj(top, "DistributionList")).items("Items") {
			m, _ := it.(map[string]any)
			ids = append(ids, str(m, "Id"))
		}
		return fmt.Errorf("%s: list-distributions output: its summaries lack a distribution's CallerReference, DefaultRootObject, Logging and ContinuousDeploymentPolicyId; import each distribution from its own `aws cloudfront get-distribution --id ID` output: %s", name, strings.Join(ids, ", "))
	case obj(top, "CachePolicy") != nil:
		policy(cachePolicyKind, "CachePolicy", "CachePolicyConfig")
	case obj(top, "OriginRequestPolicy") != nil:
		policy(originRequestPolicyKind, "OriginRequestPolicy", "OriginRequestPolicyConfig")
	case obj(top, "ResponseHeadersPolicy") != nil:
		policy(responseHeadersPolicyKind, "ResponseHeadersPolicy", "ResponseHeadersPolicyConfig")
	case obj(top, "KeyGroup") != nil:
		k := obj(top, "KeyGroup")
		imp.keyGroups = append(imp.keyGroups, awsObject{name, str(k, "Id"), obj(k, "KeyGroupConfig")})
	case obj(top, "FunctionSummary") != nil:
		f := obj(top, "FunctionSummary")
		fn := imp.function(str(f, "Name"))
		fn.cfg, fn.file = obj(f, "FunctionConfig"), name
	case obj(top, "KeyValueStore") != nil:
		imp.store(name, obj(top, "KeyValueStore"), true)
	case obj(top, "KeyValueStoreList") != nil:
		for _, s := range newSrc(name, "", obj(top, "KeyValueStoreList")).items("Items") {
			m, _ := s.(map[string]any)
			imp.store(name, m, false)
		}
	case top["Items"] != nil || top["data"] != nil:
		return fmt.Errorf("%s: the keys of a key value store: name the file STORE.keys.json, STORE the store's name in CloudFront, so that import knows which store they fill", name)
	case obj(top, "WebACL") != nil:
		a := obj(top, "WebACL")
		imp.webACLs = append(imp.webACLs, &awsWAF{awsObject: awsObject{name, str(a, "Id"), a}, arn: str(a, "ARN")})
	case obj(top, "IPSet") != nil:
		a := obj(top, "IPSet")
		imp.ipSets = append(imp.ipSets, &awsWAF{awsObject: awsObject{name, str(a, "Id"), a}, arn: str(a, "ARN")})
	case obj(top, "RegexPatternSet") != nil:
		a := obj(top, "RegexPatternSet")
		imp.regexSets = append(imp.regexSets, &awsWAF{awsObject: awsObject{name, str(a, "Id"), a}, arn: str(a, "ARN")})
	case obj(top, "RuleGroup") != nil:
		a := obj(top, "RuleGroup")
		imp.ruleGroups = append(imp.ruleGroups, &awsWAF{awsObject: awsObject{name, str(a, "Id"), a}, arn: str(a, "ARN")})
	case obj(top, "PublicKey") != nil:
		k := obj(top, "PublicKey")
		if imp.publicKey == nil {
			imp.publicKey = map[string]awsObject{}
		}
		imp.publicKey[str(k, "Id")] = awsObject{name, str(k, "Id"), obj(k, "PublicKeyConfig")}
	default:
		return fmt.Errorf("%s: not the output of aws cloudfront get-distribution(-config), get-streaming-distribution(-config), get-cache-policy, get-origin-request-policy, get-response-headers-policy, get-key-group, get-public-key, get-continuous-deployment-policy, get-vpc-origin, describe-function, describe-key-value-store, list-key-value-stores, or aws wafv2 get-web-acl or get-ip-set (nor a function's code, NAME.js, or a store's keys, STORE.keys.json)", name)
	}
	return nil
}

// store records a KeyValueStore of describe-key-value-store or
// list-key-value-stores output; both name it by the same ARN.
func (imp *importer) store(file string, m map[string]any, described bool) {
	arn, _ := m["ARN"].(string)
	if imp.stores == nil {
		imp.stores = map[string]*awsStore{}
	}
	if old := imp.stores[arn]; old != nil && old.described {
		return
	}
	id, _ := m["Id"].(string)
	imp.stores[arn] = &awsStore{awsObject: awsObject{file, id, m}, described: described}
}

// readKeys reads STORE.keys.json: `aws cloudfront-keyvaluestore
// list-keys` output ({"Items": [{"Key", "Value"}], "NextToken"}) or
// CloudFront's import file ({"data": [{"key", "value"}]}).
func (imp *importer) readKeys(file, store string, top map[string]any) error {
	items, key, value := top["Items"], "Key", "Value"
	if items == nil {
		items, key, value = top["data"], "key", "value"
	}
	list, ok := items.([]any)
	if !ok {
		return fmt.Errorf("%s: not the keys of a key value store: the output of `aws cloudfront-keyvaluestore list-keys --kvs-arn ARN` ({\"Items\": [{\"Key\", \"Value\"}]}) or CloudFront's import file ({\"data\": [{\"key\", \"value\"}]})", file)
	}
	if old := imp.storeKeys[store]; old != nil {
		return fmt.Errorf("%s: the keys of key value store %s again (first in %s)", file, store, old.file)
	}
	ks := &awsKeys{file: file}
	if t, _ := top["NextToken"].(string); t != "" {
		ks.more = true
	}
	seen := map[string]bool{}
	for i, it := range list {
		m, _ := it.(map[string]any)
		k, kok := m[key].(string)
		v, vok := m[value].(string)
		if !kok || !vok {
			return fmt.Errorf("%s: item %d: not {%q: string, %q: string}", file, i, key, value)
		}
		if seen[k] {
			// CloudFront refuses an import file with a key twice.
			return fmt.Errorf("%s: item %d: key %q again: a store holds each key once", file, i, k)
		}
		seen[k] = true
		ks.keys = append(ks.keys, [2]string{k, v})
	}
	if imp.storeKeys == nil {
		imp.storeKeys = map[string]*awsKeys{}
	}
	imp.storeKeys[store] = ks
	return nil
}

// keyValueStores declares the stores whose keys are given, each under its
// CloudFront name. Keys need their store's ARN (describe-key-value-store
// or list-key-value-stores), which a function's association names; a
// described store needs its keys. A store only listed is declared when
// its keys are given: the list names every store of the account.
func (imp *importer) keyValueStores() (*cueStruct, error) {
	byName := map[string]*awsStore{}
	for _, arn := range slices.Sorted(maps.Keys(imp.stores)) {
		st := imp.stores[arn]
		name, _ := st.cfg["Name"].(string)
		byName[name] = st
		if ks := imp.storeKeys[name]; ks == nil && st.described {
			return nil, fmt.Errorf("%s: key value store %s: its keys are in no file given: add %s.keys.json, from `aws cloudfront-keyvaluestore list-keys --kvs-arn %s > %s.keys.json`", st.file, name, name, arn, name)
		}
	}
	out := &cueStruct{}
	names := map[string]bool{}
	for _, store := range slices.Sorted(maps.Keys(imp.storeKeys)) {
		ks := imp.storeKeys[store]
		st := byName[store]
		if st == nil {
			return nil, fmt.Errorf("%s: the keys of key value store %s, which is in no file given: add the output of `aws cloudfront describe-key-value-store --name %s`", ks.file, store, store)
		}
		st.name = uniqueName(sanitizeID(store, st.id), names, nil)
		s := newSrc(st.file, "keyValueStores."+st.name, st.cfg)
		for _, k := range []string{"Name", "Id", "ARN", "Status", "LastModifiedTime"} {
			s.get(k)
		}
		o := &cueStruct{}
		if ks.more {
			imp.note(o, newSrc(ks.file, s.path, nil), "keys may be missing: list-keys printed a NextToken, so more pages follow; run it without --max-items or --no-paginate and the AWS CLI prints every key")
		}
		o.setStr("comment", s.str("Comment"), "")
		// CloudFront's code names the store by its Id: cf.kvs(kvsId).
		o.setStr("id", st.id, "")
		imp.rest(o, s)
		data := &cueStruct{}
		for _, kv := range slices.SortedFunc(slices.Values(ks.keys), func(a, b [2]string) int { return strings.Compare(a[0], b[0]) }) {
			data.set(kv[0], kv[1])
		}
		o.set("data", data)
		out.set(st.name, o)
	}
	return out, nil
}

// build returns the config as formatted CUE.
func (imp *importer) build(files []string) ([]byte, error) {
	if imp.distID != "" && len(imp.dists)+len(imp.streaming) != 1 {
		return nil, fmt.Errorf("--id names one distribution; the files hold %d", len(imp.dists)+len(imp.streaming))
	}
	root := &cueStruct{}
	taken := map[string]bool{}
	// Policies and key groups first: behaviors refer to their names.
	sections := map[string]*cueStruct{}
	for _, k := range []importPolicy{cachePolicyKind, originRequestPolicyKind, responseHeadersPolicyKind} {
		ids := slices.Sorted(maps.Keys(imp.policies[k.section]))
		sec := &cueStruct{}
		names := map[string]bool{}
		for _, id := range ids {
			p := imp.policies[k.section][id]
			s := newSrc(p.file, "", p.cfg)
			p.name = uniqueName(sanitizeID(s.str("Name"), p.id), names, k.names)
			s.path = k.section + "." + p.name
			var v *cueStruct
			switch k.section {
			case cachePolicyKind.section:
				v = imp.cachePolicy(s)
			case originRequestPolicyKind.section:
				v = imp.originRequestPolicy(s)
			default:
				v = imp.responseHeadersPolicy(s)
			}
			sec.set(p.name, v)
		}
		sections[k.section] = sec
	}
	keyGroups := &cueStruct{}
	kgNames := map[string]bool{}
	imp.keyNames = map[string]string{}
	for _, kg := range imp.keyGroups {
		s := newSrc(kg.file, "", kg.cfg)
		name := uniqueName(sanitizeID(s.str("Name"), kg.id), kgNames, nil)
		imp.keyNames[kg.id] = name
		s.path = "keyGroups." + name
		v, err := imp.keyGroup(s)
		if err != nil {
			return nil, err
		}
		keyGroups.set(name, v)
	}

	stores, err := imp.keyValueStores()
	if err != nil {
		return nil, err
	}
	imp.functionNames = map[string]bool{}
	imp.deploymentNames = map[string]string{}
	cdNames := map[string]bool{}
	for _, p := range imp.deployments {
		imp.deploymentNames[p.id] = uniqueName(sanitizeID(p.id), cdNames, nil)
	}
	imp.wafNames()
	imp.distNames = map[string]string{}
	imp.nameCertificates()
	dists, err := imp.section(imp.dists, "distributions", taken, imp.distribution)
	if err != nil {
		return nil, err
	}
	deployments, err := imp.deploymentsSection()
	if err != nil {
		return nil, err
	}
	streaming, err := imp.section(imp.streaming, "streamingDistributions", taken, imp.streamingDistribution)
	if err != nil {
		return nil, err
	}
	for _, sec := range []struct {
		name string
		v    *cueStruct
	}{
		{"distributions", dists},
		{"streamingDistributions", streaming},
		{"keyGroups", keyGroups},
		{"trustStores", imp.trustStoresSection()},
		{cachePolicyKind.section, sections[cachePolicyKind.section]},
		{originRequestPolicyKind.section, sections[originRequestPolicyKind.section]},
		{responseHeadersPolicyKind.section, sections[responseHeadersPolicyKind.section]},
		{"functions", imp.functionsSection()},
		{"keyValueStores", stores},
		{"continuousDeploymentPolicies", deployments},
		{"webACLs", imp.webACLsSection()},
		{"ipSets", imp.ipSetsSection()},
		{"regexPatternSets", imp.regexSetsSection()},
		{"ruleGroups", imp.ruleGroupsSection()},
	} {
		if len(sec.v.fields) > 0 {
			root.set(sec.name, sec.v)
		}
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Imported by `openfront import` from %s.\n", strings.Join(baseNames(files), ", "))
	b.WriteString("// Lines that start with \"openfront import:\" name what openfront does not do\n")
	b.WriteString("// as CloudFront did: decide on each before this config serves traffic.\n\n")
	b.WriteString("// Makes plain `cue vet` refuse a field schema.#Config lacks (a misspelt\n")
	b.WriteString("// name), as openfront does; it must stay above the package clause.\n")
	b.WriteString("@experiment(explicitopen)\n\npackage cdn\n\nimport \"openfront.dev/schema\"\n\nschema.#Config\n")
	for _, f := range root.fields {
		b.WriteString("\n")
		writeField(&b, f, 0)
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format the config: %w\n%s", err, b.Bytes())
	}
	return out, nil
}

// deploymentsSection converts the continuous deployment policies, once
// the distributions have their keys: CloudFront names the staging
// distribution by its DNS name, the config by its key.
func (imp *importer) deploymentsSection() (*cueStruct, error) {
	out := &cueStruct{}
	for _, p := range imp.deployments {
		name := imp.deploymentNames[p.id]
		s := newSrc(p.file, "continuousDeploymentPolicies."+name, p.cfg)
		o := &cueStruct{}
		o.setBool("enabled", s.boolean("Enabled"), true)
		dns := s.strs("StagingDistributionDnsNames")
		if len(dns) != 1 {
			return nil, fmt.Errorf("%s: continuous deployment policy %s: want one staging distribution DNS name, have %d", p.file, p.id, len(dns))
		}
		staging := imp.distNames[imp.dnsNames[dns[0]]]
		if staging == "" {
			return nil, fmt.Errorf("%s: continuous deployment policy %s: staging distribution %s is in no file given: add `aws cloudfront get-distribution` output for it (get-distribution-config does not print its DNS name)", p.file, p.id, dns[0])
		}
		o.set("stagingDistributionId", staging)
		ts := s.obj("TrafficConfig").at("trafficConfig")
		tc := &cueStruct{}
		tc.set("type", ts.str("Type"))
		if ws := ts.obj("SingleWeightConfig").at("singleWeightConfig"); ws.m != nil {
			w := &cueStruct{}
			if n, ok := ws.get("Weight").(json.Number); ok {
				w.set("weight", n)
			}
			if ss := ws.obj("SessionStickinessConfig").at("sessionStickinessConfig"); ss.m != nil {
				st := &cueStruct{}
				st.setNum(ss, "IdleTTL", "idleTTL", -1)
				st.setNum(ss, "MaximumTTL", "maximumTTL", -1)
				imp.rest(st, ss)
				w.set("sessionStickinessConfig", st)
			}
			imp.rest(w, ws)
			tc.set("singleWeightConfig", w)
		}
		if hs := ts.obj("SingleHeaderConfig").at("singleHeaderConfig"); hs.m != nil {
			h := &cueStruct{}
			h.set("header", hs.str("Header"))
			h.set("value", hs.str("Value"))
			imp.rest(h, hs)
			tc.set("singleHeaderConfig", h)
		}
		imp.rest(tc, ts)
		o.set("trafficConfig", tc)
		imp.rest(o, s)
		out.set(name, o)
	}
	return out, nil
}

// functionsSection is the functions behaviors run, with their code.
func (imp *importer) functionsSection() *cueStruct {
	out := &cueStruct{}
	for _, name := range slices.Sorted(maps.Keys(imp.functions)) {
		fn := imp.functions[name]
		if fn.name == "" {
			continue // run by no behavior imported, or without its code
		}
		o := &cueStruct{}
		s := newSrc(fn.file, "functions."+fn.name, fn.cfg)
		if fn.cfg == nil {
			// Its code does not say which runtime runs it or which
			// KeyValueStore its cf.kvs() calls read.
			s.file = fn.codeFile
			imp.note(o, s, "its describe-function output is in no file given: runtime cloudfront-js-2.0 assumed and no KeyValueStore associated; add `aws cloudfront describe-function --name %s --stage LIVE > %s.function.json`", name, name)
		}
		o.setStr("comment", s.str("Comment"), "")
		o.setStr("runtime", s.str("Runtime"), "cloudfront-js-2.0")
		var stores []string
		for _, kv := range s.objs("KeyValueStoreAssociations", "keyValueStoreAssociations") {
			arn := kv.str("KeyValueStoreARN")
			switch st := imp.stores[arn]; {
			case st != nil && st.name != "":
				stores = append(stores, st.name)
			case st != nil:
				name, _ := st.cfg["Name"].(string)
				imp.note(o, s, "key value store %s not imported: its keys are in no file given: add %s.keys.json, from `aws cloudfront-keyvaluestore list-keys --kvs-arn %s > %s.keys.json`; until then the function's cf.kvs() calls fail", name, name, arn, name)
			default:
				imp.note(o, s, "key value store %s not imported: it is in no file given: add the output of `aws cloudfront list-key-value-stores` (or describe-key-value-store --name STORE) and its keys as STORE.keys.json, from `aws cloudfront-keyvaluestore list-keys --kvs-arn %s > STORE.keys.json`; until then the function's cf.kvs() calls fail", arn, arn)
			}
		}
		o.setList("keyValueStoreAssociations", stores)
		imp.rest(o, s)
		o.set("functionCode", imp.renameOriginIDsIn(o, s, fn.code))
		out.set(fn.name, o)
	}
	return out
}

// renameOriginIDsIn is a function's code with the origin ids this import
// renamed changed where the code quotes them whole, as the argument of
// cf.selectRequestOriginById or in cf.createRequestOriginGroup's
// originIds would: the function would otherwise fail each request,
// naming an origin the config does not have. Each change is noted; an id
// renamed two ways (in two distributions) is noted, not changed.
func (imp *importer) renameOriginIDsIn(o *cueStruct, s *src, code string) string {
	for _, id := range slices.Sorted(maps.Keys(imp.renamedOriginIDs)) {
		news := slices.Sorted(maps.Keys(imp.renamedOriginIDs[id]))
		found := false
		for _, q := range []string{`'`, `"`, "`"} {
			if !strings.Contains(code, q+id+q) {
				continue
			}
			found = true
			if len(news) == 1 {
				code = strings.ReplaceAll(code, q+id+q, q+news[0]+q)
			}
		}
		switch {
		case !found:
		case len(news) == 1:
			imp.note(o, s, "the code names origin id %s, imported as %s: changed in the code", cueString(id), cueString(news[0]))
		default:
			imp.note(o, s, "the code names origin id %s, imported as %s in different distributions: change the code to the one of its distribution", cueString(id), strings.Join(news, " or "))
		}
	}
	return code
}

// section converts distributions of one kind into the config's map of them.
func (imp *importer) section(objs []awsObject, field string, taken map[string]bool, convert func(*src) (*cueStruct, error)) (*cueStruct, error) {
	out := &cueStruct{}
	for _, d := range objs {
		name, err := imp.name(d, taken)
		if err != nil {
			return nil, err
		}
		if field == "distributions" {
			imp.distNames[d.file] = name
		}
		v, err := convert(newSrc(d.file, field+"."+name, d.cfg))
		if err != nil {
			return nil, err
		}
		out.set(name, v)
	}
	return out, nil
}

// name is a distribution's key: --id, AWS's Id, or its CallerReference.
func (imp *importer) name(d awsObject, taken map[string]bool) (string, error) {
	ref, _ := d.cfg["CallerReference"].(string)
	name := imp.distID
	if name == "" {
		name = sanitizeID(d.id, ref)
	}
	if !idPattern.MatchString(name) {
		return "", fmt.Errorf("--id %q: a distribution id is letters, digits, - and _, starting with a letter or digit", name)
	}
	if taken[name] {
		return "", fmt.Errorf("%s: a second distribution named %s: import it alone with --id", d.file, name)
	}
	taken[name] = true
	return name, nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// sanitizeID makes the first non-empty of names a schema #ID: other
// characters become "-".
func sanitizeID(names ...string) string {
	for _, n := range names {
		if s := sanitizeName(n, "_-"); s != "" {
			return s
		}
	}
	return "imported"
}

// sanitizeName keeps n's ASCII letters and digits, and the characters of
// punct after the first of them; each other character becomes "-". ""
// when nothing is left.
func sanitizeName(n, punct string) string {
	var b strings.Builder
	for _, r := range n {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
		case strings.ContainsRune(punct, r):
			if b.Len() > 0 {
				b.WriteRune(r)
			}
		default:
			if b.Len() > 0 {
				b.WriteByte('-')
			}
		}
	}
	s := strings.TrimRight(b.String(), "-_")
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

// originIDPattern is the schema's #OriginID.
var originIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// mapOriginIDs gives each origin and origin group ID of a distribution
// that the schema refuses a new one. CloudFront takes any string
// (API_Origin: Id is "A unique identifier for the origin. This value must
// be unique within the distribution."), and its old console made IDs such
// as "S3-bucket/path": each character the schema refuses becomes "-", and
// the ID stays unique in the distribution.
func mapOriginIDs(s *src) map[string]string {
	var ids []string
	for _, k := range []string{"Origins", "OriginGroups"} {
		m, _ := s.m[k].(map[string]any)
		items, _ := m["Items"].([]any)
		for _, it := range items {
			o, _ := it.(map[string]any)
			if id, _ := o["Id"].(string); id != "" {
				ids = append(ids, id)
			}
		}
	}
	taken := map[string]bool{}
	for _, id := range ids {
		taken[id] = true
	}
	renamed := map[string]string{}
	for _, id := range ids {
		if !originIDPattern.MatchString(id) && renamed[id] == "" {
			renamed[id] = uniqueNameWithin(cmp.Or(sanitizeName(id, "._:-"), "origin"), maxOriginID, taken, nil)
		}
	}
	return renamed
}

// maxOriginID is the longest origin id the schema takes.
const maxOriginID = 128

// originID is the config's ID for the origin or origin group CloudFront
// calls id.
func (imp *importer) originID(id string) string {
	return cmp.Or(imp.originIDs[id], id)
}

// originIDField sets o's id, with a note when the schema needed a new one.
func (imp *importer) originIDField(o *cueStruct, s *src) {
	id := s.str("Id")
	if n := imp.originIDs[id]; n != "" {
		imp.note(o, s, "Id %s imported as %s: an origin id is letters, digits, \".\", \"_\", \":\" and \"-\"; targetOriginId and origin group members name it so, and functions' code that quotes it whole (cf.selectRequestOriginById, cf.createRequestOriginGroup) is changed; code that makes it otherwise must use the new one", cueString(id), cueString(n))
		id = n
	}
	o.set("id", id)
}

// uniqueName keeps name apart from the names taken and from reserved ones
// (a managed policy's).
func uniqueName(name string, taken map[string]bool, reserved func(string) bool) string {
	return uniqueNameWithin(name, 0, taken, reserved)
}

// uniqueNameWithin is uniqueName of at most max bytes (0: any): the base
// is cut to leave the suffix room.
func uniqueNameWithin(name string, max int, taken map[string]bool, reserved func(string) bool) string {
	base := name
	for i := 2; taken[name] || reserved != nil && reserved(name); i++ {
		suffix := fmt.Sprintf("-%d", i)
		if max > 0 && len(base)+len(suffix) > max {
			base = base[:max-len(suffix)]
		}
		name = base + suffix
	}
	taken[name] = true
	return name
}

// note records what openfront cannot express: a comment at its place in
// the output and a line on stderr.
func (imp *importer) note(o *cueStruct, s *src, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	o.comment(msg)
	imp.notes = append(imp.notes, fmt.Sprintf("openfront import: %s: %s: %s", s.file, s.path, msg))
}

// weaker notes what openfront cannot express and, unless what is "",
// that it protected the distribution: what names it for the line import
// fails with.
func (imp *importer) weaker(o *cueStruct, s *src, what, format string, args ...any) {
	imp.note(o, s, format, args...)
	if what != "" {
		imp.dropped = append(imp.dropped, dropped{note: fmt.Sprintf(format, args...), what: what})
	}
}

// refuser is what a function on event protected, "" for nothing: on a
// request event it sees the request before it is served, so can refuse
// it (authenticate it, say).
func refuser(path, fn, event string) string {
	if event != "viewer-request" && event != "origin-request" {
		return ""
	}
	return fmt.Sprintf("%s: %s on %s, which could refuse requests (authenticate them, say) before they were served", path, fn, event)
}

func (imp *importer) priceClass(o *cueStruct, s *src) {
	if p := s.str("PriceClass"); p != "" && p != "PriceClass_All" {
		imp.note(o, s, "PriceClass %s not imported: a node serves wherever it runs; place the nodes instead", p)
	}
}

// unsupported notes each of the string fields given as key, why pairs
// that s sets.
func (imp *importer) unsupported(o *cueStruct, s *src, keysWhy ...string) {
	for i := 0; i+1 < len(keysWhy); i += 2 {
		if v := s.str(keysWhy[i]); v != "" {
			imp.note(o, s, "%s %s %s", keysWhy[i], v, keysWhy[i+1])
		}
	}
}

// rest notes the fields of s that nothing consumed and that say more than
// their zero value.
func (imp *importer) rest(o *cueStruct, s *src) {
	for _, k := range slices.Sorted(maps.Keys(s.m)) {
		if s.used[k] || isZero(s.m[k]) {
			continue
		}
		v, _ := json.Marshal(s.m[k])
		imp.note(o, s, "%s %s not imported: openfront has no such setting", k, v)
	}
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case json.Number:
		return v == "0"
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, e := range v {
			if !isZero(e) {
				return false
			}
		}
		return true
	}
	return false
}

// src reads one AWS object, remembering which fields were read.
type src struct {
	file, path string // path: where its value goes in the config, for notes
	m          map[string]any
	used       map[string]bool
}

func newSrc(file, path string, m map[string]any) *src {
	return &src{file: file, path: path, m: m, used: map[string]bool{}}
}

func (s *src) get(k string) any { s.used[k] = true; return s.m[k] }
func (s *src) has(k string) bool {
	_, ok := s.m[k]
	return ok
}
func (s *src) str(k string) string { v, _ := s.get(k).(string); return v }
func (s *src) boolean(k string) bool {
	v, _ := s.get(k).(bool)
	return v
}

// num reads a number; CloudFront prints some (ResponseCode) as strings.
func (s *src) num(k string) (int64, bool) { return numValue(s.get(k)) }

// numValue is v as an integer: a JSON number, or one written as a string.
func numValue(v any) (int64, bool) {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = v
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

func (s *src) obj(k string) *src {
	m, _ := s.get(k).(map[string]any)
	return &src{file: s.file, path: s.path, m: m, used: map[string]bool{}}
}

// items unwraps CloudFront's {Quantity, Items} list.
func (s *src) items(k string) []any {
	switch v := s.get(k).(type) {
	case map[string]any:
		l, _ := v["Items"].([]any)
		return l
	case []any:
		return v
	}
	return nil
}

func (s *src) strs(k string) []string {
	var out []string
	for _, v := range s.items(k) {
		if str, ok := v.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// objs is items as objects, each with its path in the config.
func (s *src) objs(k, field string) []*src {
	var out []*src
	for i, v := range s.items(k) {
		m, _ := v.(map[string]any)
		out = append(out, &src{file: s.file, path: fmt.Sprintf("%s.%s[%d]", s.path, field, i), m: m, used: map[string]bool{}})
	}
	return out
}

func (s *src) at(field string) *src {
	c := *s
	c.path = s.path + "." + field
	return &c
}

// Defaults are left out of the output, as a person would write the config.
func (o *cueStruct) setStr(name, v, def string) {
	if v != def && v != "" { // "" is CloudFront's unset
		o.set(name, v)
	}
}
func (o *cueStruct) setBool(name string, v, def bool) {
	if v != def {
		o.set(name, v)
	}
}
func (o *cueStruct) setNum(s *src, k, name string, def int64) {
	if n, ok := s.num(k); ok && n != def {
		o.set(name, n)
	}
}
func (o *cueStruct) setList(name string, v []string) {
	if len(v) > 0 {
		o.set(name, v)
	}
}

// distributionHead converts what web and streaming distributions share.
func distributionHead(s *src) *cueStruct {
	o := &cueStruct{}
	s.get("CallerReference")
	if s.has("Enabled") {
		o.setBool("enabled", s.boolean("Enabled"), true)
	}
	o.setStr("comment", s.str("Comment"), "")
	o.setList("aliases", lower(s.strs("Aliases")))
	return o
}

func (imp *importer) distribution(s *src) (*cueStruct, error) {
	o := distributionHead(s)
	imp.originIDs = mapOriginIDs(s)
	for id, n := range imp.originIDs {
		if imp.renamedOriginIDs == nil {
			imp.renamedOriginIDs = map[string]map[string]bool{}
		}
		if imp.renamedOriginIDs[id] == nil {
			imp.renamedOriginIDs[id] = map[string]bool{}
		}
		imp.renamedOriginIDs[id][n] = true
	}
	var origins []any
	for _, ors := range s.objs("Origins", "origins") {
		o, err := imp.origin(ors)
		if err != nil {
			return nil, err
		}
		origins = append(origins, o)
	}
	o.set("origins", origins)
	var groups []any
	for _, gs := range s.objs("OriginGroups", "originGroups") {
		g, err := imp.originGroup(gs)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	if len(groups) > 0 {
		o.set("originGroups", groups)
	}
	b, err := imp.behavior(s.obj("DefaultCacheBehavior").at("defaultCacheBehavior"))
	if err != nil {
		return nil, err
	}
	o.set("defaultCacheBehavior", b)
	var behaviors []any
	for _, bs := range s.objs("CacheBehaviors", "cacheBehaviors") {
		b, err := imp.behavior(bs)
		if err != nil {
			return nil, err
		}
		behaviors = append(behaviors, b)
	}
	if len(behaviors) > 0 {
		o.set("cacheBehaviors", behaviors)
	}
	o.setStr("defaultRootObject", s.str("DefaultRootObject"), "")
	var errs []any
	for _, es := range s.objs("CustomErrorResponses", "customErrorResponses") {
		e := &cueStruct{}
		e.setNum(es, "ErrorCode", "errorCode", -1)
		e.setStr("responsePagePath", es.str("ResponsePagePath"), "")
		e.setNum(es, "ResponseCode", "responseCode", -1) // "" (unset) is no number
		e.setNum(es, "ErrorCachingMinTTL", "errorCachingMinTTL", 10)
		imp.rest(e, es)
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		o.set("customErrorResponses", errs)
	}
	if l := imp.logging(s.obj("Logging").at("logging")); l != nil {
		o.set("logging", l)
	}
	rs := s.obj("Restrictions").at("restrictions")
	gs := rs.obj("GeoRestriction").at("geoRestriction")
	if t := gs.str("RestrictionType"); t != "" && t != "none" {
		g := &cueStruct{}
		g.set("restrictionType", t)
		g.set("items", gs.strs("Items"))
		gs.get("Quantity")
		imp.rest(g, gs)
		o.set("restrictions", &cueStruct{fields: []cueField{{name: "geoRestriction", val: g}}})
	}
	imp.rest(o, rs)
	if c := imp.viewerCertificate(s.obj("ViewerCertificate").at("viewerCertificate"), s.strs("Aliases")); c != nil {
		o.set("viewerCertificate", c)
	}
	o.setStr("httpVersion", s.str("HttpVersion"), "http2")
	imp.viewerMtls(o, s)
	if s.has("IsIPV6Enabled") {
		o.setBool("isIPV6Enabled", s.boolean("IsIPV6Enabled"), true)
	}
	imp.priceClass(o, s)
	imp.webACLRef(o, s)
	if s.boolean("Staging") {
		o.set("staging", true)
	}
	if id := s.str("ContinuousDeploymentPolicyId"); id != "" {
		if name := imp.deploymentNames[id]; name != "" {
			o.set("continuousDeploymentPolicyId", name)
		} else {
			imp.note(o, s, "ContinuousDeploymentPolicyId %s not imported: add the output of `aws cloudfront get-continuous-deployment-policy --id %s` and the staging distribution's `aws cloudfront get-distribution`", id, id)
		}
	}
	// "direct" is a standard distribution, the only kind openfront has
	// (API_DistributionConfig: "whether the connection mode is through a
	// standard distribution (direct) or a multi-tenant distribution with
	// distribution tenants (tenant-only)"); tenant-only stays a note.
	switch s.m["ConnectionMode"] {
	case "direct":
		s.get("ConnectionMode")
	case "tenant-only":
		imp.multiTenant(o, s)
	}
	imp.rest(o, s)
	return o, nil
}

// multiTenant notes a multi-tenant distribution: a template that serves
// its distribution tenants' domains, each tenant with its own values of
// the template's parameters, which "you can use in the origin domain or
// origin path" (tenant-customization.md). openfront has no tenants.
func (imp *importer) multiTenant(o *cueStruct, s *src) {
	s.get("ConnectionMode")
	var params []string
	for _, p := range s.obj("TenantConfig").objs("ParameterDefinitions", "") {
		ss := p.obj("Definition").obj("StringSchema")
		param := "{{" + p.str("Name") + "}}"
		switch def := ss.str("DefaultValue"); {
		case def != "":
			param += fmt.Sprintf(" (default %q)", def)
		case ss.boolean("Required"):
			param += " (required)"
		}
		params = append(params, param)
	}
	msg := "ConnectionMode tenant-only not imported: this is a multi-tenant distribution, which viewers reached only through its distribution tenants' domains, and openfront has no tenants: copy it for each tenant (`aws cloudfront list-distribution-tenants`, `get-distribution-tenant --identifier ID`), with the tenant's domains as aliases and its parameter values in origin domain names and paths"
	if len(params) > 0 {
		msg += "; its parameters: " + strings.Join(params, ", ")
	}
	// Each tenant's own web ACL, certificate and geo restriction are not
	// imported either: protections dropped.
	imp.weaker(o, s, s.path+": a multi-tenant distribution, whose tenants' own web ACLs, certificates and geo restrictions are not imported", "%s", msg)
}

// tenantParam is a multi-tenant distribution's parameter in an origin's
// domain name or path: {{NAME}}, NAME being [a-zA-Z0-9-_]+
// (AWS::CloudFront::DistributionTenant Parameter).
var tenantParam = regexp.MustCompile(`\{\{[a-zA-Z0-9_-]+\}\}`)

// lowerHost lower-cases a host name but for the names of the tenant
// parameters in it, which keep the case they are defined with.
func lowerHost(h string) string {
	var b strings.Builder
	last := 0
	for _, m := range tenantParam.FindAllStringIndex(h, -1) {
		b.WriteString(strings.ToLower(h[last:m[0]]))
		b.WriteString(h[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(strings.ToLower(h[last:]))
	return b.String()
}

func lower(names []string) []string {
	for i, n := range names {
		names[i] = strings.ToLower(n)
	}
	return names
}

func (imp *importer) origin(s *src) (*cueStruct, error) {
	o := &cueStruct{}
	imp.originIDField(o, s)
	if d := s.str("DomainName"); d != "" {
		o.set("domainName", lowerHost(d))
	}
	o.setStr("originPath", s.str("OriginPath"), "")
	var headers []any
	for _, hs := range s.objs("CustomHeaders", "customHeaders") {
		h := &cueStruct{}
		h.set("headerName", hs.str("HeaderName"))
		h.set("headerValue", hs.str("HeaderValue"))
		imp.rest(h, hs)
		headers = append(headers, h)
	}
	if len(headers) > 0 {
		o.set("customHeaders", headers)
	}
	o.setNum(s, "ConnectionAttempts", "connectionAttempts", 3)
	o.setNum(s, "ConnectionTimeout", "connectionTimeout", 10)
	o.setNum(s, "ResponseCompletionTimeout", "responseCompletionTimeout", 0) // 0: no maximum
	oac := s.str("OriginAccessControlId")
	if s.has("S3OriginConfig") {
		ss := s.obj("S3OriginConfig").at("s3OriginConfig")
		c := &cueStruct{}
		oai := ss.str("OriginAccessIdentity")
		switch {
		case oai != "" || oac != "":
			which := "origin access control " + oac
			if oai != "" {
				which = "origin access identity " + strings.TrimPrefix(oai, "origin-access-identity/cloudfront/")
			}
			imp.note(c, ss, "%s not imported: openfront signs requests to the bucket with the node's own AWS credentials (signRequests); grant them s3:GetObject", which)
		default:
			// CloudFront read the bucket anonymously.
			c.set("signRequests", false)
		}
		c.setNum(ss, "OriginReadTimeout", "originReadTimeout", 30)
		imp.rest(c, ss)
		o.set("s3OriginConfig", c)
	} else if oac != "" {
		imp.note(o, s, "OriginAccessControlId %s not imported: openfront signs only S3 origin requests", oac)
	}
	if s.has("CustomOriginConfig") {
		cs := s.obj("CustomOriginConfig").at("customOriginConfig")
		c := &cueStruct{}
		originEndpoint(c, cs, cs)
		imp.ipAddressType(c, cs)
		imp.rest(c, cs)
		o.set("customOriginConfig", c)
	}
	if s.has("VpcOriginConfig") {
		c, err := imp.vpcOrigin(s.obj("VpcOriginConfig").at("customOriginConfig"))
		if err != nil {
			return nil, err
		}
		o.set("customOriginConfig", c)
	}
	// A disabled shield does nothing: left out, whatever its region.
	if sh := s.obj("OriginShield"); sh.boolean("Enabled") {
		o.set("originShield", &cueStruct{fields: []cueField{{name: "enabled", val: true}, {name: "originShieldRegion", val: sh.str("OriginShieldRegion")}}})
	}
	imp.rest(o, s)
	return o, nil
}

// originEndpoint sets a custom origin's ports, protocols and timeouts:
// ep holds the ports and protocols, timeouts the timeouts (a VPC origin
// keeps them apart).
func originEndpoint(c *cueStruct, ep, timeouts *src) {
	c.setNum(ep, "HTTPPort", "httpPort", 80)
	c.setNum(ep, "HTTPSPort", "httpsPort", 443)
	c.set("originProtocolPolicy", ep.str("OriginProtocolPolicy"))
	c.setNum(timeouts, "OriginReadTimeout", "originReadTimeout", 30)
	c.setNum(timeouts, "OriginKeepaliveTimeout", "originKeepaliveTimeout", 5)
	if p := ep.strs("OriginSslProtocols"); !slices.Equal(p, []string{"TLSv1.2"}) {
		c.setList("originSslProtocols", p)
	}
}

// ipAddressType notes a custom origin's IpAddressType other than
// dualstack ("Use both IPv4 and IPv6 addresses"), which is what a node
// does: it dials every address of domainName, IPv6 and IPv4 alike, and
// takes the first to answer.
func (imp *importer) ipAddressType(c *cueStruct, cs *src) {
	switch t := cs.str("IpAddressType"); t {
	case "", "dualstack":
	case "ipv4", "ipv6":
		imp.note(c, cs, "IpAddressType %s not imported: the node connects over IPv4 and IPv6 alike, to whichever of domainName's addresses answers first; to keep to %s, give domainName only %s records", t, map[string]string{"ipv4": "IPv4", "ipv6": "IPv6"}[t], map[string]string{"ipv4": "A", "ipv6": "AAAA"}[t])
	default:
		imp.note(c, cs, "IpAddressType %q not imported: openfront has no such setting", t)
	}
}

// vpcOrigin imports an origin's VpcOriginConfig as a custom origin. The
// distribution names the VPC origin by ID and has its timeouts; its ports
// and protocols are the VPC origin's VpcOriginEndpointConfig
// (API_VpcOriginEndpointConfig: HTTPPort, HTTPSPort,
// OriginProtocolPolicy, OriginSslProtocols), from get-vpc-origin output.
func (imp *importer) vpcOrigin(vs *src) (*cueStruct, error) {
	id := vs.str("VpcOriginId")
	vs.get("OwnerAccountId")
	vo, ok := imp.vpcOrigins[id]
	if !ok {
		return nil, fmt.Errorf("%s: %s: VPC origin %s is in no file given: add the output of `aws cloudfront get-vpc-origin --id %s` (its ports and protocols are there)", vs.file, strings.TrimSuffix(vs.path, ".customOriginConfig"), id, id)
	}
	es := newSrc(vo.file, vs.path, vo.cfg).obj("VpcOriginEndpointConfig")
	c := &cueStruct{}
	imp.note(c, vs, "VPC origin %s (%s) imported as a custom origin: CloudFront reached it inside its VPC; the nodes connect to domainName, so they must reach it over the network", id, es.str("Arn"))
	es.get("Name")
	originEndpoint(c, es, vs)
	imp.ipAddressType(c, es)
	imp.rest(c, es)
	imp.rest(c, vs)
	return c, nil
}

func (imp *importer) originGroup(s *src) (*cueStruct, error) {
	o := &cueStruct{}
	imp.originIDField(o, s)
	fs := s.obj("FailoverCriteria")
	var codes []any
	for i, c := range fs.obj("StatusCodes").items("Items") {
		// The CLI prints numbers; one written as a string is taken as
		// CloudFront prints ResponseCode.
		n, ok := numValue(c)
		if !ok {
			v, _ := json.Marshal(c)
			return nil, fmt.Errorf("%s: %s.failoverCriteria.statusCodes[%d]: %s is not a status code", s.file, s.path, i, v)
		}
		codes = append(codes, n)
	}
	o.set("failoverCriteria", &cueStruct{fields: []cueField{{name: "statusCodes", val: codes}}})
	var members []any
	for _, ms := range s.objs("Members", "members") {
		members = append(members, &cueStruct{fields: []cueField{{name: "originId", val: imp.originID(ms.str("OriginId"))}}})
	}
	o.set("members", members)
	if c := s.str("SelectionCriteria"); c != "" && c != "default" {
		imp.note(o, s, "SelectionCriteria %s not imported: openfront fails over on the status codes only", c)
	}
	imp.rest(o, s)
	return o, nil
}

// methodOrder is CloudFront's, as openfront's docs list the methods.
var methodOrder = []string{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}

func sortMethods(ms []string) []string {
	sort.Slice(ms, func(i, j int) bool { return slices.Index(methodOrder, ms[i]) < slices.Index(methodOrder, ms[j]) })
	return ms
}

func (imp *importer) behavior(s *src) (*cueStruct, error) {
	o := &cueStruct{}
	if p := s.str("PathPattern"); p != "" {
		o.set("pathPattern", p)
	}
	o.set("targetOriginId", imp.originID(s.str("TargetOriginId")))
	o.set("viewerProtocolPolicy", s.str("ViewerProtocolPolicy"))
	am := s.obj("AllowedMethods")
	if m := sortMethods(am.strs("Items")); len(m) > 0 && !slices.Equal(m, []string{"GET", "HEAD"}) {
		o.set("allowedMethods", m)
	}
	if m := sortMethods(am.obj("CachedMethods").strs("Items")); len(m) > 0 && !slices.Equal(m, []string{"GET", "HEAD"}) {
		o.set("cachedMethods", m)
	}
	policies := false
	for _, p := range []struct {
		key  string
		kind importPolicy
	}{{"CachePolicyId", cachePolicyKind}, {"OriginRequestPolicyId", originRequestPolicyKind}, {"ResponseHeadersPolicyId", responseHeadersPolicyKind}} {
		id := s.str(p.key)
		if id == "" {
			continue
		}
		name, err := imp.policyName(p.kind, id)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", s.file, s.path, err)
		}
		o.set(p.kind.field, name)
		policies = policies || p.kind.section == cachePolicyKind.section
	}
	if policies {
		// CloudFront ignores the legacy settings beside a cache policy.
		s.get("ForwardedValues")
		s.get("MinTTL")
		s.get("DefaultTTL")
		s.get("MaxTTL")
	} else {
		if fv := imp.forwardedValues(s.obj("ForwardedValues").at("forwardedValues")); fv != nil {
			o.set("forwardedValues", fv)
		}
		o.setNum(s, "MinTTL", "minTTL", 0)
		o.setNum(s, "DefaultTTL", "defaultTTL", 86400)
		o.setNum(s, "MaxTTL", "maxTTL", 31536000)
	}
	o.setBool("compress", s.boolean("Compress"), false)
	if kg := s.obj("TrustedKeyGroups"); kg.boolean("Enabled") {
		var names []string
		for _, id := range kg.strs("Items") {
			name, ok := imp.keyNames[id]
			if !ok {
				return nil, fmt.Errorf("%s: %s: key group %s is in no file given: add the output of `aws cloudfront get-key-group --id %s` (and get-public-key for its keys)", s.file, s.path, id, id)
			}
			names = append(names, name)
		}
		o.set("trustedKeyGroups", names)
	}
	if ts := s.obj("TrustedSigners"); ts.boolean("Enabled") {
		imp.legacySigners(o, s, ts, s.obj("TrustedKeyGroups").boolean("Enabled"))
	}
	for _, ls := range s.objs("LambdaFunctionAssociations", "lambdaFunctionAssociations") {
		event, arn := ls.str("EventType"), ls.str("LambdaFunctionARN")
		imp.weaker(o, s, refuser(s.path, "Lambda@Edge "+arn, event), "Lambda@Edge %s %s not imported: openfront runs no edge functions", event, arn)
	}
	var assocs []any
	for _, fs := range s.objs("FunctionAssociations", "functionAssociations") {
		arn, event := fs.str("FunctionARN"), fs.str("EventType")
		_, name, _ := strings.Cut(arn, ":function/")
		fn := imp.function(name)
		if fn.code == "" {
			imp.weaker(o, s, refuser(s.path, "CloudFront Function "+name, event),
				"CloudFront Function %s on %s not imported: its code is in no file given: add %s.js, from `aws cloudfront get-function --name %s --stage LIVE %s.js` (and its describe-function output)", arn, event, name, name, name)
			continue
		}
		if fn.name == "" {
			fn.name = uniqueName(sanitizeID(name), imp.functionNames, nil)
		}
		a := &cueStruct{}
		a.set("eventType", event)
		a.set("functionName", fn.name)
		imp.rest(a, fs)
		assocs = append(assocs, a)
	}
	if len(assocs) > 0 {
		o.set("functionAssociations", assocs)
	}
	if s.obj("GrpcConfig").boolean("Enabled") {
		g := &cueStruct{}
		g.set("enabled", true)
		o.set("grpcConfig", g)
	}
	if id := s.str("FieldLevelEncryptionId"); id != "" {
		imp.weaker(o, s, fmt.Sprintf("%s: field-level encryption %s, which encrypted fields of POST bodies at the edge so that only their key's holder reads them", s.path, id),
			"FieldLevelEncryptionId %s not imported: openfront has no field-level encryption", id)
	}
	imp.unsupported(o, s,
		"RealtimeLogConfigArn", "not imported: openfront writes standard access logs (serve --log-dir)")
	if s.boolean("SmoothStreaming") {
		imp.note(o, s, "SmoothStreaming not imported: openfront does not serve Microsoft Smooth Streaming")
	}
	imp.rest(o, s)
	return o, nil
}

// policyName is the name a behavior gives the policy AWS calls id.
func (imp *importer) policyName(k importPolicy, id string) (string, error) {
	if n, ok := k.managed[id]; ok {
		return n, nil
	}
	if p := imp.policies[k.section][id]; p != nil {
		return p.name, nil
	}
	return "", fmt.Errorf("%s ID %s is not a managed policy openfront knows and is in no file given: add the output of `aws cloudfront %s --id %s`", k.field, id, k.command, id)
}

func (imp *importer) forwardedValues(s *src) *cueStruct {
	o := &cueStruct{}
	o.setBool("queryString", s.boolean("QueryString"), false)
	o.setList("queryStringCacheKeys", s.strs("QueryStringCacheKeys"))
	cs := s.obj("Cookies").at("cookies")
	c := &cueStruct{}
	c.setStr("forward", cs.str("Forward"), "none")
	c.setList("whitelistedNames", cs.strs("WhitelistedNames"))
	imp.rest(c, cs)
	if len(c.fields) > 0 {
		o.set("cookies", c)
	}
	o.setList("headers", s.strs("Headers"))
	imp.rest(o, s)
	if len(o.fields) == 0 {
		return nil
	}
	return o
}

func (imp *importer) logging(s *src) *cueStruct {
	if !s.boolean("Enabled") {
		s.get("Bucket")
		s.get("Prefix")
		s.get("IncludeCookies")
		return nil
	}
	o := &cueStruct{}
	o.set("enabled", true)
	o.setBool("includeCookies", s.boolean("IncludeCookies"), false)
	o.setStr("bucket", s.str("Bucket"), "")
	o.setStr("prefix", s.str("Prefix"), "")
	imp.rest(o, s)
	return o
}

func (imp *importer) viewerCertificate(s *src, aliases []string) *cueStruct {
	o := &cueStruct{}
	s.get("Certificate") // CloudFront repeats the ARN or ID here
	s.get("CertificateSource")
	arn := certificateID(s)
	if s.boolean("CloudFrontDefaultCertificate") {
		o.set("cloudFrontDefaultCertificate", true)
		// CloudFront forces TLSv1 on its default certificate; openfront's
		// node certificate keeps the schema's default.
		s.get("MinimumProtocolVersion")
		s.get("SSLSupportMethod")
		imp.rest(o, s)
		return o
	}
	if arn != "" {
		name := certNameFor(aliases)
		if name == "" {
			// A staging distribution has no aliases and its primary's
			// certificate: one file serves both.
			name = imp.certNames[arn]
		}
		if name == "" {
			name = sanitizeID(arn[strings.LastIndexByte(arn, '/')+1:])
		}
		imp.note(o, s, "TODO: %s stays in AWS: put its certificate chain and key on every node as %s.crt and %s.key in serve --certs DIR", arn, name, name)
		o.set("certificateName", name)
	}
	if m := s.str("SSLSupportMethod"); m != "" && m != "sni-only" {
		imp.note(o, s, "SSLSupportMethod %s not imported: openfront selects certificates by SNI only", m)
	}
	mpv := s.str("MinimumProtocolVersion")
	if mpv == "SSLv3" {
		// Only a vip distribution may have it; openfront serves by SNI,
		// where CloudFront refuses SSLv3 (InvalidProtocolSettings).
		imp.note(o, s, "MinimumProtocolVersion SSLv3 imported as TLSv1: with SNI, CloudFront refuses SSLv3, and Go offers none of it")
		mpv = "TLSv1"
	}
	o.setStr("minimumProtocolVersion", mpv, "TLSv1.2_2021")
	imp.rest(o, s)
	if len(o.fields) == 0 {
		return nil
	}
	return o
}

// certificateID is a ViewerCertificate's certificate: its ACM ARN, or
// "IAM certificate ID"; "" for the default certificate.
func certificateID(s *src) string {
	if iam := s.str("IAMCertificateId"); iam != "" {
		return "IAM certificate " + iam
	}
	return s.str("ACMCertificateArn")
}

// certNameFor is the certificate file name of a distribution with aliases:
// its first alias that makes one, "" for none.
func certNameFor(aliases []string) string {
	for _, a := range aliases {
		if name := sanitizeCertName(strings.TrimPrefix(strings.ToLower(a), "*.")); name != "" {
			return name
		}
	}
	return ""
}

// nameCertificates fills certNames from the distributions with aliases,
// before any distribution is converted: a staging distribution may come
// before its primary.
func (imp *importer) nameCertificates() {
	imp.certNames = map[string]string{}
	for _, d := range imp.dists {
		s := newSrc(d.file, "", d.cfg)
		id := certificateID(s.obj("ViewerCertificate"))
		if name := certNameFor(s.strs("Aliases")); id != "" && name != "" && imp.certNames[id] == "" {
			imp.certNames[id] = name
		}
	}
}

var certNameBad = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func sanitizeCertName(n string) string {
	n = strings.Trim(certNameBad.ReplaceAllString(n, "-"), "-_.")
	for strings.Contains(n, "..") {
		n = strings.ReplaceAll(n, "..", ".")
	}
	if len(n) > 128 {
		n = n[:128]
	}
	return n
}

func (imp *importer) streamingDistribution(s *src) (*cueStruct, error) {
	o := distributionHead(s)
	ors := s.obj("S3Origin").at("s3Origin")
	origin := &cueStruct{}
	origin.set("domainName", strings.ToLower(ors.str("DomainName")))
	if oai := ors.str("OriginAccessIdentity"); oai != "" {
		imp.note(origin, ors, "origin access identity %s not imported: openfront signs requests to the bucket with the node's own AWS credentials (signRequests)", strings.TrimPrefix(oai, "origin-access-identity/cloudfront/"))
	} else {
		origin.set("signRequests", false)
	}
	imp.rest(origin, ors)
	o.set("s3Origin", origin)
	if l := imp.logging(s.obj("Logging").at("logging")); l != nil {
		o.set("logging", l)
	}
	if ts := s.obj("TrustedSigners"); ts.boolean("Enabled") {
		imp.legacySigners(o, s, ts, s.obj("TrustedKeyGroups").boolean("Enabled"))
	}
	imp.priceClass(o, s)
	imp.rest(o, s)
	return o, nil
}

// legacySignersKeyGroup is the key group an import names in place of
// CloudFront's legacy TrustedSigners, which openfront does not take.
const legacySignersKeyGroup = "legacy-trusted-signers"

// legacySigners notes TrustedSigners (key pairs of AWS accounts). Without
// key groups beside them the content would be public here: the behavior
// then names a key group the config lacks, so the import fails to vet
// until one holds the same public keys, rather than serving private
// content to everyone.
func (imp *importer) legacySigners(o *cueStruct, s *src, ts *src, keyGroups bool) {
	if keyGroups {
		imp.note(o, s, "TrustedSigners %v (CloudFront key pairs of AWS accounts) not imported: openfront takes key groups only; trustedKeyGroups above still keeps it private", ts.strs("Items"))
		return
	}
	imp.note(o, s, "TrustedSigners %v (CloudFront key pairs of AWS accounts) not imported: openfront takes key groups only. To keep this content private, trustedKeyGroups names %q: declare it under keyGroups with the same public keys (openssl rsa -pubout of each key pair's private key)", ts.strs("Items"), legacySignersKeyGroup)
	o.set("trustedKeyGroups", []string{legacySignersKeyGroup})
}

func (imp *importer) keyGroup(s *src) (*cueStruct, error) {
	o := &cueStruct{}
	s.get("Name")
	o.setStr("comment", s.str("Comment"), "")
	var keys []any
	for _, id := range s.strs("Items") {
		pk, ok := imp.publicKey[id]
		if !ok {
			return nil, fmt.Errorf("%s: %s: public key %s is in no file given: add the output of `aws cloudfront get-public-key --id %s`", s.file, s.path, id, id)
		}
		ps := newSrc(pk.file, s.path+".publicKeys", pk.cfg)
		k := &cueStruct{}
		k.set("id", id)
		k.set("encodedKey", ps.str("EncodedKey"))
		k.setStr("comment", ps.str("Comment"), "")
		ps.get("Name")
		ps.get("CallerReference")
		imp.rest(k, ps)
		keys = append(keys, k)
	}
	o.set("publicKeys", keys)
	imp.rest(o, s)
	return o, nil
}

func (imp *importer) cachePolicy(s *src) *cueStruct {
	o := &cueStruct{}
	s.get("Name")
	o.setStr("comment", s.str("Comment"), "")
	o.setNum(s, "MinTTL", "minTTL", 1)
	o.setNum(s, "DefaultTTL", "defaultTTL", 86400)
	o.setNum(s, "MaxTTL", "maxTTL", 31536000)
	ps := s.obj("ParametersInCacheKeyAndForwardedToOrigin").at("parametersInCacheKeyAndForwardedToOrigin")
	p := &cueStruct{}
	p.setBool("enableAcceptEncodingGzip", ps.boolean("EnableAcceptEncodingGzip"), false)
	p.setBool("enableAcceptEncodingBrotli", ps.boolean("EnableAcceptEncodingBrotli"), false)
	imp.policyParts(p, ps)
	imp.rest(p, ps)
	o.set("parametersInCacheKeyAndForwardedToOrigin", p)
	imp.rest(o, s)
	return o
}

func (imp *importer) originRequestPolicy(s *src) *cueStruct {
	o := &cueStruct{}
	s.get("Name")
	o.setStr("comment", s.str("Comment"), "")
	imp.policyParts(o, s)
	imp.rest(o, s)
	return o
}

// policyParts converts the headers, cookies and query strings configs
// that cache and origin request policies share.
func (imp *importer) policyParts(o *cueStruct, s *src) {
	for _, part := range []struct{ config, behavior, list string }{
		{"HeadersConfig", "HeaderBehavior", "Headers"},
		{"CookiesConfig", "CookieBehavior", "Cookies"},
		{"QueryStringsConfig", "QueryStringBehavior", "QueryStrings"},
	} {
		field := lowerFirst(part.config)
		ps := s.obj(part.config).at(field)
		p := &cueStruct{}
		p.set(lowerFirst(part.behavior), ps.str(part.behavior))
		p.setList(lowerFirst(part.list), ps.strs(part.list))
		imp.rest(p, ps)
		o.set(field, p)
	}
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func (imp *importer) responseHeadersPolicy(s *src) *cueStruct {
	o := &cueStruct{}
	s.get("Name")
	o.setStr("comment", s.str("Comment"), "")
	if s.has("CorsConfig") {
		cs := s.obj("CorsConfig").at("corsConfig")
		c := &cueStruct{}
		c.set("accessControlAllowOrigins", cs.strs("AccessControlAllowOrigins"))
		c.set("accessControlAllowHeaders", cs.strs("AccessControlAllowHeaders"))
		c.set("accessControlAllowMethods", cs.strs("AccessControlAllowMethods"))
		c.setBool("accessControlAllowCredentials", cs.boolean("AccessControlAllowCredentials"), false)
		c.setList("accessControlExposeHeaders", cs.strs("AccessControlExposeHeaders"))
		c.setNum(cs, "AccessControlMaxAgeSec", "accessControlMaxAgeSec", -1)
		c.setBool("originOverride", cs.boolean("OriginOverride"), false)
		imp.rest(c, cs)
		o.set("corsConfig", c)
	}
	if s.has("SecurityHeadersConfig") {
		ss := s.obj("SecurityHeadersConfig").at("securityHeadersConfig")
		c := &cueStruct{}
		for _, h := range []struct {
			key string
			fn  func(h *src, o *cueStruct)
		}{
			{"XSSProtection", func(h *src, o *cueStruct) {
				o.set("protection", h.boolean("Protection"))
				o.setBool("modeBlock", h.boolean("ModeBlock"), false)
				o.setStr("reportUri", h.str("ReportUri"), "")
			}},
			{"FrameOptions", func(h *src, o *cueStruct) { o.set("frameOption", h.str("FrameOption")) }},
			{"ReferrerPolicy", func(h *src, o *cueStruct) { o.set("referrerPolicy", h.str("ReferrerPolicy")) }},
			{"ContentSecurityPolicy", func(h *src, o *cueStruct) { o.set("contentSecurityPolicy", h.str("ContentSecurityPolicy")) }},
			{"ContentTypeOptions", func(h *src, o *cueStruct) {}},
			{"StrictTransportSecurity", func(h *src, o *cueStruct) {
				o.setBool("includeSubdomains", h.boolean("IncludeSubdomains"), false)
				o.setBool("preload", h.boolean("Preload"), false)
				o.setNum(h, "AccessControlMaxAgeSec", "accessControlMaxAgeSec", -1)
			}},
		} {
			if !ss.has(h.key) {
				continue
			}
			field := lowerFirst(h.key)
			if h.key == "XSSProtection" {
				field = "xssProtection"
			}
			hs := ss.obj(h.key).at(field)
			v := &cueStruct{}
			v.setBool("override", hs.boolean("Override"), false)
			h.fn(hs, v)
			imp.rest(v, hs)
			c.set(field, v)
		}
		imp.rest(c, ss)
		o.set("securityHeadersConfig", c)
	}
	var custom []any
	for _, hs := range s.obj("CustomHeadersConfig").at("customHeadersConfig").objs("Items", "") {
		h := &cueStruct{}
		h.set("header", hs.str("Header"))
		h.set("value", hs.str("Value"))
		h.setBool("override", hs.boolean("Override"), false)
		imp.rest(h, hs)
		custom = append(custom, h)
	}
	if len(custom) > 0 {
		o.set("customHeadersConfig", custom)
	}
	var remove []any
	for _, hs := range s.obj("RemoveHeadersConfig").at("removeHeadersConfig").objs("Items", "") {
		h := &cueStruct{}
		h.set("header", hs.str("Header"))
		imp.rest(h, hs)
		remove = append(remove, h)
	}
	if len(remove) > 0 {
		o.set("removeHeadersConfig", remove)
	}
	if st := s.obj("ServerTimingHeadersConfig").at("serverTimingHeadersConfig"); st.boolean("Enabled") {
		c := &cueStruct{}
		c.set("enabled", true)
		if r, ok := st.get("SamplingRate").(json.Number); ok {
			c.set("samplingRate", r)
		}
		imp.rest(c, st)
		o.set("serverTimingHeadersConfig", c)
	}
	imp.rest(o, s)
	return o
}

// cueStruct is a struct of the output, in the order its fields were set.
type cueStruct struct{ fields []cueField }

// cueField is a field, or a comment line when name is "". Values are
// *cueStruct, []any, []string, string, int64, json.Number or bool.
type cueField struct {
	name string
	val  any
}

func (o *cueStruct) set(name string, v any) { o.fields = append(o.fields, cueField{name, v}) }
func (o *cueStruct) comment(msg string) {
	o.fields = append(o.fields, cueField{val: "openfront import: " + msg})
}

var cueIdent = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// cueKeywords may not be field names unquoted.
var cueKeywords = map[string]bool{"if": true, "for": true, "in": true, "let": true, "import": true, "package": true,
	"true": true, "false": true, "null": true, "div": true, "mod": true, "quo": true, "rem": true, "func": true}

func cueLabel(name string) string {
	if !cueIdent.MatchString(name) || cueKeywords[name] {
		return cueString(name)
	}
	return name
}

func writeField(b *bytes.Buffer, f cueField, depth int) {
	indent := strings.Repeat("\t", depth)
	if f.name == "" {
		for _, l := range strings.Split(f.val.(string), "\n") {
			fmt.Fprintf(b, "%s// %s\n", indent, l)
		}
		return
	}
	fmt.Fprintf(b, "%s%s: ", indent, cueLabel(f.name))
	// A struct of one field reads as CUE's shorthand: restrictions: geoRestriction: {...}.
	for {
		s, ok := f.val.(*cueStruct)
		if !ok || len(s.fields) != 1 || s.fields[0].name == "" {
			break
		}
		f = s.fields[0]
		fmt.Fprintf(b, "%s: ", cueLabel(f.name))
	}
	writeValue(b, f.val, depth)
	b.WriteString("\n")
}

func writeValue(b *bytes.Buffer, v any, depth int) {
	switch v := v.(type) {
	case *cueStruct:
		b.WriteString("{\n")
		// Notes open the struct: the formatter would move one that closes it.
		for _, f := range v.fields {
			if f.name == "" {
				writeField(b, f, depth+1)
			}
		}
		for _, f := range v.fields {
			if f.name != "" {
				writeField(b, f, depth+1)
			}
		}
		fmt.Fprintf(b, "%s}", strings.Repeat("\t", depth))
	case []string:
		b.WriteString("[")
		for i, s := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(cueString(s))
		}
		b.WriteString("]")
	case []any:
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e, depth)
		}
		b.WriteString("]")
	case string:
		b.WriteString(cueValue(v, depth))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case json.Number:
		b.WriteString(v.String())
	case bool:
		b.WriteString(strconv.FormatBool(v))
	default:
		panic(fmt.Sprintf("import: no CUE for %T", v))
	}
}

// cueString quotes s as JSON does, which CUE reads alike.
func cueString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	// U+FEFF is a byte order mark to CUE's parser wherever it stands:
	// escaped, it is the text's character.
	return strings.ReplaceAll(strings.TrimSuffix(b.String(), "\n"), "\ufeff", `\ufeff`)
}

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Base(f)
	}
	return out
}

// cueValue is s as a CUE string literal for a field at depth tabs: text
// of several lines (a function's code, a PEM key) as a multi-line string
// that reads as the text does, else cueString's one line. Text a reader
// could not see (carriage returns, other control characters, spaces that
// end a line, which editors drop) keeps the escaped one-line form.
func cueValue(s string, depth int) string {
	if !strings.Contains(s, "\n") || strings.ContainsFunc(s, func(r rune) bool {
		return r < ' ' && r != '\n' && r != '\t' || r == 0x7f || r == '\ufeff'
	}) {
		return cueString(s)
	}
	lines := strings.Split(s, "\n")
	for _, l := range lines {
		if strings.TrimRight(l, " \t") != l {
			return cueString(s)
		}
	}
	esc := strings.NewReplacer(`\`, `\\`)
	if strings.Contains(s, `"""`) {
		esc = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	}
	indent := strings.Repeat("\t", depth+1)
	var b strings.Builder
	b.WriteString(`"""` + "\n")
	// The newline before the closing quotes is not part of the string, so
	// a final newline shows as a last, blank line.
	for _, l := range lines {
		if l != "" {
			b.WriteString(indent + esc.Replace(l))
		}
		b.WriteString("\n")
	}
	b.WriteString(indent + `"""`)
	return b.String()
}

// decodeObject decodes b as one JSON object, numbers kept as written. An
// error comes with the offset it is at.
func decodeObject(b []byte) (map[string]any, int, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			// Offset is past the character refused.
			return nil, max(int(se.Offset)-1, 0), err
		case errors.Is(err, io.EOF):
			return nil, 0, errors.New("the file is empty")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, len(b), errors.New("unexpected end of JSON input")
		}
		return nil, int(dec.InputOffset()), err
	}
	start := skipJSONSpace(b, 0)
	top, ok := v.(map[string]any)
	if !ok {
		kind := map[byte]string{'[': "an array", '"': "a string", 't': "a boolean", 'f': "a boolean", 'n': "null"}[b[start]]
		if kind == "" {
			kind = "a number"
		}
		return nil, start, fmt.Errorf("%s, not an object", kind)
	}
	// Two outputs in one file (aws ... >> dist.json): the second would
	// be ignored without a word.
	if end := skipJSONSpace(b, int(dec.InputOffset())); end < len(b) {
		return nil, end, errors.New("more after the object ends: give each command's output a file of its own")
	}
	return top, 0, nil
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// lineCol is the 1-based line and column (in bytes) of offset off in b.
func lineCol(b []byte, off int) (line, col int) {
	off = min(off, len(b))
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	return line, off - bytes.LastIndexByte(b[:off], '\n')
}
