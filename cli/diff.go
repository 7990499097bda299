package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

func init() {
	register("diff", command{
		summary: "show what changes between two configs or table artifacts, and how each change applies",
		usage:   "diff OLD NEW [--json]",
		examples: []string{
			"diff main-checkout/config config   # what a pull request changes",
			"diff table.json config --json",
		},
		run: runDiff,
	})
}

// How a change reaches a running node. openfront swaps whole tables, so
// nearly everything is a hot swap; the other classes name what a swap alone
// cannot do. Ordered from least to most disruptive; a change gets the most
// disruptive class that applies.
const (
	// classHotSwap: the next table swap applies it, nothing else to do.
	classHotSwap = "hot-swap"
	// classNodeFiles: the change names node-local files (certificates,
	// secrets, AWS profiles) that must be on the node before the swap.
	classNodeFiles = "needs node files"
	// classListener: the node must listen where it did not before (UDP for
	// HTTP/3, the RTMP port for streaming distributions).
	classListener = "listener"
	// classTrafficDrop: hosts served before are served by nothing after.
	classTrafficDrop = "traffic drop"
)

var classRank = map[string]int{classHotSwap: 0, classNodeFiles: 1, classListener: 2, classTrafficDrop: 3}

// Change operations.
const (
	opAdded     = "added"
	opRemoved   = "removed"
	opChanged   = "changed"
	opReordered = "reordered" // cacheBehaviors precedence
)

// change is one difference: an entity (Kind, ID) added or removed when Path
// is empty, else one field of it, named by a path such as
// `origins["web"].customOriginConfig.httpPort`.
type change struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Op   string `json:"op"`
	Path string `json:"path,omitempty"`
	// At is the index of an added element of an ordered list (cacheBehaviors).
	At     *int   `json:"at,omitempty"`
	Old    any    `json:"old,omitempty"`
	New    any    `json:"new,omitempty"`
	Class  string `json:"class"`
	Reason string `json:"reason,omitempty"`
}

type diffSide struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

type diffSummary struct {
	HotSwap     int `json:"hot-swap"`
	NodeFiles   int `json:"needs node files"`
	Listener    int `json:"listener"`
	TrafficDrop int `json:"traffic drop"`
}

type diffReport struct {
	Old     diffSide    `json:"old"`
	New     diffSide    `json:"new"`
	Same    bool        `json:"same"`
	Summary diffSummary `json:"summary"`
	Changes []change    `json:"changes"`
}

func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("diff", "diff OLD NEW [--json]", stderr)
	asJSON := fs.Bool("json", false, "print the changes as a JSON document")
	pos, err := parseFlags(fs, args)
	if p := positional(pos, "OLD", "NEW"); err != nil || p != "" {
		return badUsage(fs, err, p)
	}
	oldT := loadTable(pos[0], stderr)
	if oldT == nil {
		return exitUsage
	}
	newT := loadTable(pos[1], stderr)
	if newT == nil {
		return exitUsage
	}
	r, err := diffTables(oldT, newT)
	if err != nil {
		fmt.Fprintf(stderr, "openfront diff: %v\n", err)
		return exitUsage
	}
	r.Old.Path, r.New.Path = pos[0], pos[1]
	if *asJSON {
		err = writeDiffJSON(stdout, r)
	} else {
		err = writeDiffText(stdout, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "openfront diff: %v\n", err)
		return exitUsage
	}
	if r.Same {
		return exitOK
	}
	return exitFail
}

// loadTable compiles a config directory or loads a table artifact file,
// printing why it cannot.
func loadTable(name string, stderr io.Writer) *table.Table {
	fi, err := os.Stat(name)
	if err != nil {
		fmt.Fprintf(stderr, "openfront diff: %v\n", statError(name, err))
		return nil
	}
	if fi.IsDir() {
		res, _ := compileDir("diff", name, stderr)
		if res == nil {
			fmt.Fprintf(stderr, "openfront diff: %s: the config does not compile\n", name)
			return nil
		}
		return res.Table
	}
	if strings.HasSuffix(name, ".cue") {
		fmt.Fprintf(stderr, "openfront diff: %s is a CUE file: give the config directory that holds it\n", name)
		return nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		fmt.Fprintf(stderr, "openfront diff: %v\n", err)
		return nil
	}
	t, err := table.LoadArtifact(b)
	if err != nil {
		fmt.Fprintf(stderr, "openfront diff: %s: %v\n", name, err)
		return nil
	}
	return t
}

// diffTables compares the configs of two tables through their JSON form, so
// a field added to the schema is compared without a change here.
func diffTables(oldT, newT *table.Table) (*diffReport, error) {
	a, err := configJSON(oldT)
	if err != nil {
		return nil, err
	}
	b, err := configJSON(newT)
	if err != nil {
		return nil, err
	}
	changes := diffConfigs(a, b)
	c := classifier{old: oldT, new: newT}
	r := &diffReport{
		Old:     diffSide{Version: oldT.Version()},
		New:     diffSide{Version: newT.Version()},
		Same:    len(changes) == 0,
		Changes: changes,
	}
	for i := range changes {
		c.classify(&changes[i])
		switch changes[i].Class {
		case classHotSwap:
			r.Summary.HotSwap++
		case classNodeFiles:
			r.Summary.NodeFiles++
		case classListener:
			r.Summary.Listener++
		case classTrafficDrop:
			r.Summary.TrafficDrop++
		}
	}
	return r, nil
}

func configJSON(t *table.Table) (map[string]any, error) {
	b, err := json.Marshal(t.Config())
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep integers exact and printed as written
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	// Route tests are checked at compile time and never change what a node serves.
	delete(m, "tests")
	caCertificateNames(m)
	return m, nil
}

// caCertificateNames puts in each trust store's caCertificatesBundle the
// list of its certificates, each by subject and fingerprint: a diff then
// says which CA came or went, not two pages of base64.
func caCertificateNames(m map[string]any) {
	stores, _ := m["trustStores"].(map[string]any)
	for _, v := range stores {
		ts, _ := v.(map[string]any)
		bundle, _ := ts["caCertificatesBundle"].(string)
		certs, err := table.ParseTrustStore(bundle)
		if err != nil {
			continue // a vetted table's parses; keep the text otherwise
		}
		names := make([]any, len(certs))
		for i, c := range certs {
			sum := sha256.Sum256(c.Raw)
			names[i] = fmt.Sprintf("%s (sha256 %x…)", c.Subject, sum[:8])
		}
		ts["caCertificatesBundle"] = names
	}
}

// kindOrder puts the top-level collections in the order a reader expects;
// others (new schema fields) follow alphabetically.
var kindOrder = map[string]int{"distribution": 0, "streamingDistribution": 1, "keyGroup": 2, "responseHeadersPolicy": 3, "cachePolicy": 4, "originRequestPolicy": 5}

// diffConfigs compares two configs: each top-level map of id → object is a
// collection whose entries are added, removed or changed field by field.
func diffConfigs(a, b map[string]any) []change {
	var out []change
	for _, key := range unionKeys(a, b) {
		am, aok := asMap(a[key])
		bm, bok := asMap(b[key])
		if !aok || !bok {
			// Not a collection: a plain top-level field.
			diffValue(key, a[key], b[key], func(c change) { c.Kind = "config"; out = append(out, c) })
			continue
		}
		kind := strings.TrimSuffix(key, "s")
		if p, ok := strings.CutSuffix(key, "ies"); ok {
			kind = p + "y" // responseHeadersPolicies
		}
		for _, id := range unionKeys(am, bm) {
			emit := func(c change) { c.Kind, c.ID = kind, id; out = append(out, c) }
			switch av, bv := am[id], bm[id]; {
			case av == nil:
				emit(change{Op: opAdded, New: bv})
			case bv == nil:
				emit(change{Op: opRemoved, Old: av})
			default:
				diffValue("", av, bv, emit)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Kind != y.Kind {
			rx, okx := kindOrder[x.Kind]
			ry, oky := kindOrder[y.Kind]
			if okx != oky {
				return okx
			}
			if okx {
				return rx < ry
			}
			return x.Kind < y.Kind
		}
		if x.ID != y.ID {
			return x.ID < y.ID
		}
		return x.Path < y.Path
	})
	return out
}

// asMap accepts a JSON object, or null / absent as an empty one.
func asMap(v any) (map[string]any, bool) {
	if v == nil {
		return map[string]any{}, true
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// diffValue compares two JSON values at path; null is the same as absent.
func diffValue(path string, a, b any, emit func(change)) {
	switch {
	case a == nil && b == nil:
		return
	case a == nil:
		emit(change{Op: opAdded, Path: path, New: b})
		return
	case b == nil:
		emit(change{Op: opRemoved, Path: path, Old: a})
		return
	}
	if am, ok := a.(map[string]any); ok {
		if bm, ok := b.(map[string]any); ok {
			// An object whose type changes (a traffic config from
			// SingleHeader to SingleWeight) is another object: its type
			// and the configs of both types are one change, said once.
			if at, ok := am["type"]; ok && !reflect.DeepEqual(at, bm["type"]) {
				emit(change{Op: opChanged, Path: path, Old: a, New: b})
				return
			}
			for _, k := range unionKeys(am, bm) {
				diffValue(joinPath(path, k), am[k], bm[k], emit)
			}
			return
		}
	}
	if al, ok := a.([]any); ok {
		if bl, ok := b.([]any); ok {
			diffList(path, al, bl, emit)
			return
		}
	}
	if !reflect.DeepEqual(a, b) {
		emit(change{Op: opChanged, Path: path, Old: a, New: b})
	}
}

// diffList compares lists: objects with an id or a pathPattern are matched by
// it (origins, origin groups, public keys, cache behaviors); lists of scalars
// are sets in the schema (aliases, methods, headers), so their elements are
// added or removed; other lists are compared whole.
func diffList(path string, a, b []any, emit func(change)) {
	if key := listKey(a, b); key != "" {
		diffKeyedList(path, key, a, b, emit)
		return
	}
	if reflect.DeepEqual(a, b) {
		return
	}
	if !allScalars(a) || !allScalars(b) {
		emit(change{Op: opChanged, Path: path, Old: a, New: b})
		return
	}
	count := map[string]int{}
	for _, v := range b {
		count[compact(v)]++
	}
	var removed []any
	for _, v := range a {
		if k := compact(v); count[k] > 0 {
			count[k]--
		} else {
			removed = append(removed, v)
		}
	}
	// What is left positive is in b only; walk b for its order.
	var added []any
	for _, v := range b {
		if k := compact(v); count[k] > 0 {
			count[k]--
			added = append(added, v)
		}
	}
	if len(removed) == 0 && len(added) == 0 {
		// Same elements in another order.
		emit(change{Op: opChanged, Path: path, Old: a, New: b})
		return
	}
	for _, v := range removed {
		emit(change{Op: opRemoved, Path: path, Old: v})
	}
	for _, v := range added {
		emit(change{Op: opAdded, Path: path, New: v})
	}
}

// listKey names the field that identifies the list's elements on both sides,
// or "" when there is none.
func listKey(a, b []any) string {
	if len(a)+len(b) == 0 {
		return ""
	}
	for _, f := range []string{"id", "pathPattern"} {
		if keyedBy(a, f) && keyedBy(b, f) {
			return f
		}
	}
	return ""
}

func keyedBy(l []any, field string) bool {
	seen := map[string]bool{}
	for _, v := range l {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		k, ok := m[field].(string)
		if !ok || seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

func diffKeyedList(path, key string, a, b []any, emit func(change)) {
	index := func(l []any) (map[string]any, map[string]int, []any) {
		byKey, pos := map[string]any{}, map[string]int{}
		order := make([]any, len(l))
		for i, v := range l {
			k := v.(map[string]any)[key].(string)
			byKey[k], pos[k], order[i] = v, i, k
		}
		return byKey, pos, order
	}
	am, _, aOrder := index(a)
	bm, bPos, bOrder := index(b)
	// Only pathPattern lists are ordered: the first matching pattern wins.
	ordered := key == "pathPattern"
	if ordered && precedenceChanged(aOrder, bOrder, am, bm) {
		emit(change{Op: opReordered, Path: path, Old: aOrder, New: bOrder})
	}
	for _, k := range unionKeys(am, bm) {
		elem := path + "[" + strconv.Quote(k) + "]"
		switch av, bv := am[k], bm[k]; {
		case av == nil:
			c := change{Op: opAdded, Path: elem, New: bv}
			if ordered {
				at := bPos[k]
				c.At = &at
			}
			emit(c)
		case bv == nil:
			emit(change{Op: opRemoved, Path: elem, Old: av})
		default:
			diffValue(elem, av, bv, emit)
		}
	}
}

// precedenceChanged reports whether the elements on both sides come in
// another relative order; inserting or removing one does not count.
func precedenceChanged(aOrder, bOrder []any, am, bm map[string]any) bool {
	var ac, bc []any
	for _, k := range aOrder {
		if bm[k.(string)] != nil {
			ac = append(ac, k)
		}
	}
	for _, k := range bOrder {
		if am[k.(string)] != nil {
			bc = append(bc, k)
		}
	}
	return !reflect.DeepEqual(ac, bc)
}

func allScalars(l []any) bool {
	for _, v := range l {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// compact is v as one line of JSON, without HTML escaping.
func compact(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// classifier decides how each change reaches a node, knowing both tables.
type classifier struct {
	old, new *table.Table
}

// nodeFileFields are the fields that name node-local files, by field name
// wherever they appear, with what the node then needs.
var nodeFileFields = map[string]func(v string) string{
	"certificateName":    func(v string) string { return fmt.Sprintf("certificate %s.crt and %s.key", v, v) },
	"streamKeySecret":    func(v string) string { return fmt.Sprintf("stream key secret %s", v) },
	"credentialsProfile": func(v string) string { return fmt.Sprintf("AWS credentials profile %s", v) },
}

func (c *classifier) classify(ch *change) {
	ch.Class = classHotSwap
	var reasons []string
	raise := func(class, reason string) {
		if classRank[class] > classRank[ch.Class] {
			ch.Class = class
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
	}
	// Only an enabled entity served traffic that a change can drop.
	served := (ch.Kind == "distribution" || ch.Kind == "streamingDistribution") && c.wasEnabled(ch.Kind, ch.ID)

	// Traffic drop: hosts that nothing serves afterwards.
	switch {
	case served && ch.Path == "" && ch.Op == opRemoved:
		lost, moved := c.hostsLost(ch.Kind, aliasesOf(ch.Old))
		if len(lost) > 0 {
			raise(classTrafficDrop, "stops serving "+strings.Join(lost, ", "))
		}
		if len(moved) > 0 {
			raise(classHotSwap, strings.Join(moved, ", "))
		}
	case served && ch.Path == "aliases" && ch.Op == opRemoved:
		if s, ok := ch.Old.(string); ok {
			if lost, moved := c.hostsLost(ch.Kind, []string{s}); len(lost) > 0 {
				raise(classTrafficDrop, "stops serving "+s)
			} else {
				raise(classHotSwap, moved[0])
			}
		}
	case served && ch.Path == "enabled" && ch.Old == true && ch.New == false:
		if lost, _ := c.hostsLost(ch.Kind, c.newAliases(ch.Kind, ch.ID)); len(lost) > 0 {
			raise(classTrafficDrop, "disabled: stops serving "+strings.Join(lost, ", "))
		}
	case ch.Kind == "keyGroup" && strings.HasPrefix(ch.Path, "publicKeys[") && ch.Op == opRemoved:
		// Not a drop of hosts, but worth saying: old signatures stop working.
		if m, ok := ch.Old.(map[string]any); ok {
			raise(classHotSwap, fmt.Sprintf("URLs and cookies signed with key %v are refused", m["id"]))
		}
	}

	// A policy lives outside the distributions that use it: say which
	// pick up its change. Neither it nor a behavior's choice of policy
	// enters a cache key, so stored responses stay.
	switch {
	case ch.Kind == "responseHeadersPolicy" && ch.Path != "":
		if users := policyUsers(c.new.Config(), ch.ID, func(b *schema.CacheBehavior) string { return b.ResponseHeadersPolicy }); len(users) > 0 {
			raise(classHotSwap, "applies to "+strings.Join(users, ", "))
		}
	case ch.Kind == "distribution" && strings.HasSuffix(ch.Path, ".responseHeadersPolicy"):
		raise(classHotSwap, "cached responses stay: the policy applies as they are served")
	// A cache policy is in the cache scope of the behaviors that use it,
	// as their forwardedValues are: whatever changes it, or a behavior's
	// choice of it, starts their cache afresh; its comment does not.
	case ch.Kind == "cachePolicy" && ch.Path != "" && ch.Path != "comment":
		if users := policyUsers(c.new.Config(), ch.ID, func(b *schema.CacheBehavior) string { return b.CachePolicy }); len(users) > 0 {
			raise(classHotSwap, "changes the cache key of "+strings.Join(users, ", ")+": responses cached before are not served")
		}
	case ch.Kind == "distribution" && strings.HasSuffix(ch.Path, ".cachePolicy"):
		raise(classHotSwap, "changes the behavior's cache key and TTLs: responses cached before are not served")
	// An origin request policy forwards outside the cache key: its
	// change reaches the origin requests of the behaviors using it, and
	// their stored responses stay.
	case ch.Kind == "originRequestPolicy" && ch.Path != "" && ch.Path != "comment":
		if users := policyUsers(c.new.Config(), ch.ID, func(b *schema.CacheBehavior) string { return b.OriginRequestPolicy }); len(users) > 0 {
			raise(classHotSwap, "changes what reaches the origin for "+strings.Join(users, ", ")+"; cached responses stay: the policy is not in the cache key")
		}
	// A continuous deployment policy says which of its primary's requests
	// the staging distribution serves.
	case ch.Kind == "continuousDeploymentPolicy":
		if why := deploymentChange(c.new.Config(), ch); why != "" {
			raise(classHotSwap, why)
		}
	// So does whether the staging distribution is enabled: a disabled
	// one serves nothing.
	case ch.Kind == "distribution" && ch.Path == "enabled":
		if name := stagingPolicy(c.new.Config(), ch.ID); name != "" {
			if why := deploymentChange(c.new.Config(), &change{ID: name}); why != "" {
				raise(classHotSwap, why)
			}
		}
	// A key value store's data is read by the functions associated with
	// it, on the behaviors that run them.
	// Origin Shield is carried out by the nodes' flags, which a config
	// change does not set.
	case ch.Kind == "distribution" && strings.Contains(ch.Path, "].originShield"):
		raise(classHotSwap, "origin requests go through the shield node of the origin's region on nodes with an --origin-shield URL for it; the others ask the origin")
	// Viewer mTLS is the TLS handshake's: it applies to new connections.
	case ch.Kind == "trustStore" && ch.Path == "caCertificatesBundle" && ch.Op == opRemoved:
		if users := trustStoreUsers(c.new.Config(), ch.ID); len(users) > 0 {
			raise(classHotSwap, "client certificates it issued are refused by "+strings.Join(users, ", ")+" from each viewer's next TLS handshake; connections open keep theirs")
		}
	case ch.Kind == "trustStore" && ch.Path == "caCertificatesBundle":
		if users := trustStoreUsers(c.new.Config(), ch.ID); len(users) > 0 {
			raise(classHotSwap, "verifies the client certificates of "+strings.Join(users, ", ")+" from each viewer's next TLS handshake")
		}
	case ch.Kind == "distribution" && strings.HasPrefix(ch.Path, "viewerMtlsConfig"):
		raise(classHotSwap, "applies from each viewer's next TLS handshake; a connection opened before without a client certificate gets 421 where one is required")
	case ch.Kind == "keyValueStore" && strings.HasPrefix(ch.Path, "data"):
		if users := storeUsers(c.new.Config(), ch.ID); len(users) > 0 {
			raise(classHotSwap, "read by "+strings.Join(users, ", ")+" from their next request")
		}
	}

	// Listener: the first HTTP/3 distribution needs the UDP listener, the
	// first streaming distribution the RTMP one.
	if ch.Kind == "distribution" && !hasHTTP3(c.old) {
		if ch.Path == "" && ch.Op == opAdded && http3Version(ch.New) ||
			ch.Path == "httpVersion" && ch.Op == opChanged && strings.Contains(fmt.Sprint(ch.New), "3") && !strings.Contains(fmt.Sprint(ch.Old), "3") {
			raise(classListener, "HTTP/3 needs the UDP listener")
		}
	}
	if ch.Kind == "streamingDistribution" && ch.Path == "" && ch.Op == opAdded && len(c.old.Config().StreamingDistributions) == 0 {
		raise(classListener, "the first streaming distribution needs the RTMP listener")
	}

	// Node files: new values naming node-local files.
	if ch.Op == opAdded || ch.Op == opChanged {
		field := ch.Path[strings.LastIndexByte(ch.Path, '.')+1:]
		if strings.HasSuffix(ch.Path, "]") {
			field = ""
		}
		for _, need := range nodeFiles(field, ch.New) {
			raise(classNodeFiles, need)
		}
	}
	ch.Reason = strings.Join(reasons, "; ")
}

// deploymentChange says what a change of continuous deployment policy
// ch.ID does to the requests of its primary in cfg ("" when no
// distribution names it).
func deploymentChange(cfg *schema.Config, ch *change) string {
	p := cfg.ContinuousDeploymentPolicies[ch.ID]
	var primary string
	for _, id := range slices.Sorted(maps.Keys(cfg.Distributions)) {
		if cfg.Distributions[id].ContinuousDeploymentPolicyID == ch.ID && !cfg.Distributions[id].Staging {
			primary = id
		}
	}
	if p == nil || primary == "" {
		return ""
	}
	if !p.Enabled {
		return fmt.Sprintf("disabled: %s serves every request itself", primary)
	}
	if s := cfg.Distributions[p.StagingDistributionID]; s != nil && !s.Enabled {
		return fmt.Sprintf("%s keeps every request: its staging distribution %s is disabled", primary, p.StagingDistributionID)
	}
	tc := p.TrafficConfig
	switch {
	case tc.Type == "SingleHeader" && tc.SingleHeaderConfig != nil:
		return fmt.Sprintf("%s sends requests with %s: %s to %s", primary, tc.SingleHeaderConfig.Header, tc.SingleHeaderConfig.Value, p.StagingDistributionID)
	case tc.Type == "SingleWeight" && tc.SingleWeightConfig != nil:
		why := fmt.Sprintf("%s sends %s%% of its requests to %s", primary, strconv.FormatFloat(tc.SingleWeightConfig.Weight*100, 'f', -1, 64), p.StagingDistributionID)
		if ch.Path == "trafficConfig.singleWeightConfig.weight" {
			if old, err := strconv.ParseFloat(fmt.Sprint(ch.Old), 64); err == nil {
				why += fmt.Sprintf(", not %s%%", strconv.FormatFloat(old*100, 'f', -1, 64))
			}
		}
		return why + formerHeader(ch)
	}
	return ""
}

// stagingPolicy is the name of the continuous deployment policy of cfg
// whose staging distribution is id, "" for none.
func stagingPolicy(cfg *schema.Config, id string) string {
	for _, name := range slices.Sorted(maps.Keys(cfg.ContinuousDeploymentPolicies)) {
		if cfg.ContinuousDeploymentPolicies[name].StagingDistributionID == id {
			return name
		}
	}
	return ""
}

// formerHeader says which requests staging got before a traffic config
// of type SingleHeader was replaced whole (", not requests with H: V"),
// "" for another change.
func formerHeader(ch *change) string {
	old, _ := ch.Old.(map[string]any)
	h, _ := old["singleHeaderConfig"].(map[string]any)
	if ch.Path != "trafficConfig" || old["type"] != "SingleHeader" || h == nil {
		return ""
	}
	return fmt.Sprintf(", not requests with %v: %v", h["header"], h["value"])
}

// storeUsers names the functions of cfg that read the key value store
// name, with the behaviors that run each: "img-redirects on site /img/*".
func storeUsers(cfg *schema.Config, name string) []string {
	var out []string
	for _, fn := range slices.Sorted(maps.Keys(cfg.Functions)) {
		if !slices.Contains(cfg.Functions[fn].KeyValueStoreAssociations, name) {
			continue
		}
		runs := policyUsers(cfg, fn, func(b *schema.CacheBehavior) string {
			for _, a := range b.FunctionAssociations {
				if a.FunctionName == fn {
					return fn
				}
			}
			return ""
		})
		if len(runs) > 0 {
			out = append(out, "function "+fn+" on "+strings.Join(runs, ", "))
		}
	}
	return out
}

// trustStoreUsers names the distributions of cfg whose viewer mTLS
// verifies against trust store name.
func trustStoreUsers(cfg *schema.Config, name string) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(cfg.Distributions)) {
		if m := cfg.Distributions[id].ViewerMtlsConfig; m != nil && m.TrustStoreConfig != nil && m.TrustStoreConfig.TrustStoreID == name {
			out = append(out, id)
		}
	}
	return out
}

// policyUsers names the behaviors of cfg whose policy (as named by
// policyOf) is name, as "site default" and "site /api/*".
func policyUsers(cfg *schema.Config, name string, policyOf func(*schema.CacheBehavior) string) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(cfg.Distributions)) {
		for b := range cfg.Distributions[id].AllBehaviors() {
			if policyOf(b) != name {
				continue
			}
			if b.PathPattern == "" {
				out = append(out, id+" default")
			} else {
				out = append(out, id+" "+b.PathPattern)
			}
		}
	}
	return out
}

// wasEnabled reports whether an entity of the old table was enabled.
func (c *classifier) wasEnabled(kind, id string) bool {
	cfg := c.old.Config()
	if kind == "distribution" {
		d := cfg.Distributions[id]
		return d != nil && d.Enabled
	}
	sd := cfg.StreamingDistributions[id]
	return sd != nil && sd.Enabled
}

// newAliases are the aliases of an entity of the new table.
func (c *classifier) newAliases(kind, id string) []string {
	cfg := c.new.Config()
	if kind == "distribution" {
		if d := cfg.Distributions[id]; d != nil {
			return d.Aliases
		}
	} else if s := cfg.StreamingDistributions[id]; s != nil {
		return s.Aliases
	}
	return nil
}

// hostsLost splits aliases into those the new table no longer serves with an
// enabled entity of the same kind and those it still serves, the latter
// saying by what: `a.example.com now served by distribution "x"`.
func (c *classifier) hostsLost(kind string, aliases []string) (lost, kept []string) {
	for _, a := range aliases {
		// A wildcard "*.example.com" stays served if a wildcard still covers
		// it: "_" cannot be in an exact alias, so only wildcards match.
		host := a
		if s, ok := strings.CutPrefix(a, "*."); ok {
			host = "_." + s
		}
		by := ""
		if kind == "distribution" {
			if d := c.new.DistributionForHost(host); d != nil && d.Spec.Enabled {
				by = d.ID
			}
		} else if s := c.new.StreamingDistributionForHost(host); s != nil && s.Spec.Enabled {
			by = s.ID
		}
		if by != "" {
			kept = append(kept, fmt.Sprintf("%s now served by %s %q", a, kindLabel(kind), by))
		} else {
			lost = append(lost, a)
		}
	}
	return lost, kept
}

func aliasesOf(v any) []string {
	m, _ := v.(map[string]any)
	l, _ := m["aliases"].([]any)
	var out []string
	for _, a := range l {
		if s, ok := a.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func hasHTTP3(t *table.Table) bool {
	for _, d := range t.Config().Distributions {
		if strings.Contains(d.HTTPVersion, "3") {
			return true
		}
	}
	return false
}

func http3Version(v any) bool {
	m, _ := v.(map[string]any)
	s, _ := m["httpVersion"].(string)
	return strings.Contains(s, "3")
}

// nodeFiles lists what v, the value of field, needs on the node.
func nodeFiles(field string, v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		if f := nodeFileFields[field]; f != nil && v != "" {
			out = append(out, f(v))
		}
	case map[string]any:
		for _, k := range unionKeys(v, nil) {
			out = append(out, nodeFiles(k, v[k])...)
		}
	case []any:
		for _, e := range v {
			out = append(out, nodeFiles(field, e)...)
		}
	}
	return out
}

func writeDiffJSON(w io.Writer, r *diffReport) error {
	if r.Changes == nil {
		r.Changes = []change{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode diff: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeDiffText(w io.Writer, r *diffReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "old: %s (%s)\n", r.Old.Version, r.Old.Path)
	fmt.Fprintf(&b, "new: %s (%s)\n", r.New.Version, r.New.Path)
	var kind, id string
	for i, c := range r.Changes {
		if i == 0 || c.Kind != kind || c.ID != id {
			kind, id = c.Kind, c.ID
			b.WriteString("\n")
			if c.Path == "" {
				// A whole entity added or removed: one line, no group.
				fmt.Fprintf(&b, "%s %s %q%s\n", opSign(c.Op), kindLabel(c.Kind), c.ID, classTag(c))
				continue
			}
			if c.ID == "" {
				fmt.Fprintf(&b, "~ %s\n", kindLabel(c.Kind))
			} else {
				fmt.Fprintf(&b, "~ %s %q\n", kindLabel(c.Kind), c.ID)
			}
		}
		fmt.Fprintf(&b, "    %s %s%s\n", opSign(c.Op), changeText(c), classTag(c))
	}
	s := r.Summary
	b.WriteString("\n")
	if r.Same {
		b.WriteString("no changes\n")
	} else {
		n := len(r.Changes)
		var parts []string
		for _, p := range []struct {
			n     int
			class string
		}{{s.HotSwap, classHotSwap}, {s.NodeFiles, classNodeFiles}, {s.Listener, classListener}, {s.TrafficDrop, classTrafficDrop}} {
			if p.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", p.n, p.class))
			}
		}
		plural := "s"
		if n == 1 {
			plural = ""
		}
		fmt.Fprintf(&b, "%d change%s: %s\n", n, plural, strings.Join(parts, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func opSign(op string) string {
	switch op {
	case opAdded:
		return "+"
	case opRemoved:
		return "-"
	}
	return "~"
}

func classTag(c change) string {
	if c.Reason == "" {
		return "  [" + c.Class + "]"
	}
	return "  [" + c.Class + ": " + c.Reason + "]"
}

// changeText renders a field change; an element of a keyed list is named by
// its path alone (its whole value is in the --json output).
func changeText(c change) string {
	value := func(v any) string {
		if _, ok := v.(map[string]any); ok && strings.HasSuffix(c.Path, "]") {
			return ""
		}
		return ": " + compact(v)
	}
	switch c.Op {
	case opAdded:
		s := c.Path + value(c.New)
		if c.At != nil {
			s += fmt.Sprintf(" at index %d", *c.At)
		}
		return s
	case opRemoved:
		return c.Path + value(c.Old)
	case opReordered:
		return fmt.Sprintf("%s precedence: %s → %s", c.Path, compact(c.Old), compact(c.New))
	}
	return fmt.Sprintf("%s: %s → %s", c.Path, compact(c.Old), compact(c.New))
}

// kindLabel turns "streamingDistribution" into "streaming distribution".
func kindLabel(kind string) string {
	// WAF's names keep their capitals.
	switch kind {
	case "webACL":
		return "web ACL"
	case "ipSet":
		return "IP set"
	}
	var b strings.Builder
	for _, r := range kind {
		if unicode.IsUpper(r) {
			b.WriteByte(' ')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
