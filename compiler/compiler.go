// Package compiler turns a config directory into a routing table: it loads
// the CUE files, unifies them with the embedded schema, runs the checks CUE
// cannot express well, and builds the table. The same code path serves
// `openfront vet`, `openfront compile` and the daemon's reloads.
package compiler

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// Compiler compiles one config directory, again and again: it caches parsed
// files and evaluated units, so a recompile after one file changed evaluates
// one unit. A Compiler is safe for use by one goroutine at a time.
type Compiler struct {
	dir        string // as the user gave it; used in error positions
	files      map[string]*sourceFile
	results    map[[32]byte]*unitResult
	workers    int
	schemaHash [32]byte
	// prev is the last table built, reused for unchanged distributions.
	prev *table.Table
	// localIssues caches the single-distribution checks by decoded value.
	localIssues map[*schema.Distribution][]issue

	mu sync.Mutex
}

// New returns a compiler for the config directory dir.
func New(dir string) *Compiler {
	return &Compiler{
		dir:        filepath.Clean(dir),
		files:      map[string]*sourceFile{},
		results:    map[[32]byte]*unitResult{},
		workers:    runtime.GOMAXPROCS(0),
		schemaHash: embeddedHash(),
	}
}

// Result is a successful compile.
type Result struct {
	Config *schema.Config
	Table  *table.Table
	Stats  Stats
	// Warnings are what the config should change but a node still serves.
	Warnings Errors
}

// Stats says what a compile did.
type Stats struct {
	Files, Units, Evaluated int
}

// Compile loads the directory and builds the table. On failure the error is
// an Errors holding every problem found, each positioned in the user's files.
func (c *Compiler) Compile() (*Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.scan(); err != nil {
		return nil, err
	}
	files := c.sortedFiles()
	if len(files) == 0 {
		// Most often the wrong directory, or a user starting out.
		return nil, Errors{{Msg: fmt.Sprintf("%s: no .cue files: give the directory that holds the config, or make one with openfront init DIR", c.dir)}}
	}
	if errs := c.checkPackage(files); errs != nil {
		return nil, errs
	}
	units := planUnits(files, c.schemaHash)
	evaluated := c.evalUnits(units)

	// Drop results of units that no longer exist.
	live := make(map[[32]byte]*unitResult, len(units))
	var errs Errors
	cfg := &schema.Config{
		Distributions:                map[string]*schema.Distribution{},
		StreamingDistributions:       map[string]*schema.StreamingDistribution{},
		KeyGroups:                    map[string]*schema.KeyGroup{},
		ResponseHeadersPolicies:      map[string]*schema.ResponseHeadersPolicy{},
		CachePolicies:                map[string]*schema.CachePolicy{},
		OriginRequestPolicies:        map[string]*schema.OriginRequestPolicy{},
		Functions:                    map[string]*schema.Function{},
		KeyValueStores:               map[string]*schema.KeyValueStore{},
		ContinuousDeploymentPolicies: map[string]*schema.ContinuousDeploymentPolicy{},
		WebACLs:                      map[string]*schema.WebACL{},
		IPSets:                       map[string]*schema.IPSet{},
		RegexPatternSets:             map[string]*schema.RegexPatternSet{},
		RuleGroups:                   map[string]*schema.RuleGroup{},
		TrustStores:                  map[string]*schema.TrustStore{},
	}
	origin := map[string]*unit{} // "distributions.site" -> unit, for positions
	for _, u := range units {
		r := c.results[u.key]
		live[u.key] = r
		errs = append(errs, r.errs...)
		if r.config == nil {
			continue
		}
		mergeConfig(cfg, r.config, u, origin)
	}
	c.results = live
	if errs != nil {
		// Report what the units that did evaluate get wrong on their own
		// too; checks across distributions would see a partial config.
		errs = append(errs, c.checkAlone(cfg, origin)...)
		return nil, errs.sortDedup()
	}

	errs, checkWarnings := c.check(cfg, origin)
	if errs != nil {
		return nil, errs.sortDedup()
	}
	t, err := table.Build(cfg, table.Source{Dir: c.dir, Commit: GitCommit(c.dir)}, c.prev)
	if err != nil {
		return nil, fmt.Errorf("build table: %w", err)
	}
	if errs := c.runRouteTests(cfg, t, origin); errs != nil {
		return nil, errs.sortDedup()
	}
	c.prev = t
	return &Result{Config: cfg, Table: t, Stats: Stats{Files: len(files), Units: len(units), Evaluated: evaluated}, Warnings: append(c.warnings(files), checkWarnings.sortDedup()...)}, nil
}

// warnings reports files whose embedding of schema.#Config lets plain cue
// vet, in the config repo's CI, accept misspelt fields openfront refuses,
// and a config that embeds it nowhere: plain cue vet then checks none of
// its fields (openfront applies the schema either way).
func (c *Compiler) warnings(files []*sourceFile) Errors {
	var ws Errors
	embeds := false
	for _, f := range files {
		embeds = embeds || f.info.embedsSchema
		if f.info.laxSchemaEmbed.IsValid() {
			ws = append(ws, c.posError(f.info.laxSchemaEmbed, "warning: schema.#Config without @experiment(explicitopen) above the package clause: plain cue vet accepts misspelt fields that openfront refuses"))
		}
	}
	if !embeds && len(files) > 0 {
		ws = append(ws, c.posError(files[0].info.pkgPos, `warning: no file embeds schema.#Config: plain cue vet checks none of this config's fields; add import "openfront.dev/schema" and schema.#Config at the top of one file, as openfront init writes it`))
	}
	return ws
}

// evalGCPercent and evalMemoryLimit tune the garbage collector while
// units are evaluated.
const (
	evalGCPercent   = 400
	evalMemoryLimit = 1 << 30
)

// evalUnits evaluates the units whose results are not cached, in parallel.
func (c *Compiler) evalUnits(units []*unit) int {
	var todo []*unit
	for _, u := range units {
		if _, ok := c.results[u.key]; !ok {
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 {
		return 0
	}
	// Evaluation allocates many times the live heap per unit and keeps
	// little of it: collecting less often saves a third of the CPU time.
	// Unless the user set a memory limit, one bounds the heap meanwhile.
	defer debug.SetGCPercent(debug.SetGCPercent(evalGCPercent))
	if limit := debug.SetMemoryLimit(-1); limit == math.MaxInt64 {
		debug.SetMemoryLimit(evalMemoryLimit)
		defer debug.SetMemoryLimit(limit)
	}
	workers := min(c.workers, len(todo))
	results := make([]*unitResult, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			e := c.newEvaluator()
			for i := range next {
				results[i] = e.eval(todo[i])
			}
		})
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, u := range todo {
		c.results[u.key] = results[i]
	}
	return len(todo)
}

// mergeConfig adds a unit's values to the whole config. Units never share a
// key, so nothing is overwritten.
func mergeConfig(dst, src *schema.Config, u *unit, origin map[string]*unit) {
	mergeKeyed(dst.Distributions, src.Distributions, "distributions.", u, origin)
	mergeKeyed(dst.StreamingDistributions, src.StreamingDistributions, "streamingDistributions.", u, origin)
	mergeKeyed(dst.KeyGroups, src.KeyGroups, "keyGroups.", u, origin)
	mergeKeyed(dst.TrustStores, src.TrustStores, "trustStores.", u, origin)
	mergeKeyed(dst.ResponseHeadersPolicies, src.ResponseHeadersPolicies, "responseHeadersPolicies.", u, origin)
	mergeKeyed(dst.CachePolicies, src.CachePolicies, "cachePolicies.", u, origin)
	mergeKeyed(dst.OriginRequestPolicies, src.OriginRequestPolicies, "originRequestPolicies.", u, origin)
	mergeKeyed(dst.Functions, src.Functions, "functions.", u, origin)
	mergeKeyed(dst.KeyValueStores, src.KeyValueStores, "keyValueStores.", u, origin)
	mergeKeyed(dst.ContinuousDeploymentPolicies, src.ContinuousDeploymentPolicies, "continuousDeploymentPolicies.", u, origin)
	mergeKeyed(dst.WebACLs, src.WebACLs, "webACLs.", u, origin)
	mergeKeyed(dst.IPSets, src.IPSets, "ipSets.", u, origin)
	mergeKeyed(dst.RegexPatternSets, src.RegexPatternSets, "regexPatternSets.", u, origin)
	mergeKeyed(dst.RuleGroups, src.RuleGroups, "ruleGroups.", u, origin)
	if len(src.Tests) > 0 {
		dst.Tests = append(dst.Tests, src.Tests...)
		origin["tests"] = u
	}
}

// mergeKeyed adds one top-level map of a unit (field is its name and a
// dot) to the config's, and records which unit each key came from.
func mergeKeyed[T any](dst, src map[string]T, field string, u *unit, origin map[string]*unit) {
	for key, v := range src {
		dst[key] = v
		origin[field+key] = u
	}
}

// fileName is the name of a config file in positions: DIR/rel.
func (c *Compiler) fileName(rel string) string { return filepath.Join(c.dir, filepath.FromSlash(rel)) }

// displayName is how a position's file is shown: as the user named it.
func (c *Compiler) displayName(name string) string { return name }

// embeddedHash identifies the embedded schema and policies, part of every unit key.
func embeddedHash() [32]byte {
	h := sha256.New()
	for _, p := range sortedKeys(embeddedPackages) {
		fsys := embeddedPackages[p]
		entries, _ := fs.ReadDir(fsys, ".")
		for _, e := range entries {
			b, _ := fs.ReadFile(fsys, e.Name())
			fmt.Fprintf(h, "%s/%s\x00%d\x00", p, e.Name(), len(b))
			h.Write(b)
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
