package compiler

import (
	"regexp"

	"openfront.dev/schema"
)

// CloudFront's key value store sizes, in bytes (#Quotas; the schema can
// bound runes only): a key, a value, and a whole store's keys and values.
const (
	kvsKeySize   = 512
	kvsValueSize = 1024
	kvsSize      = 5 << 20
)

// keyValueStore holds a store to CloudFront's sizes: a store CloudFront
// would refuse to import is refused here too.
func (k *checker) keyValueStore(name string, s *schema.KeyValueStore) {
	key := "keyValueStores." + name
	total := 0
	for _, kv := range sortedKeys(s.Data) {
		at := sel("keyValueStores", name, "data", kv)
		v := s.Data[kv]
		switch {
		case kv == "":
			k.add(key, at, "key value store %q: an empty key; CloudFront's keys have 1 to %d bytes", name, kvsKeySize)
		case len(kv) > kvsKeySize:
			k.add(key, at, "key value store %q: key %.20q... is %d bytes; CloudFront takes at most %d", name, kv, len(kv), kvsKeySize)
		}
		if len(v) > kvsValueSize {
			k.add(key, at, "key value store %q: the value of %q is %d bytes; CloudFront takes at most %d", name, kv, len(v), kvsValueSize)
		}
		total += len(kv) + len(v)
	}
	if total > kvsSize {
		k.add(key, sel("keyValueStores", name, "data"), "key value store %q: its keys and values are %d bytes; CloudFront takes at most %d (5 MB) per store", name, total, kvsSize)
	}
}

// storeRefs checks a function's keyValueStoreAssociations (the schema
// allows one): a store of the config, on cloudfront-js-2.0 (the runtime
// CloudFront offers cf.kvs() on).
func (k *checker) storeRefs(name string, f *schema.Function, cfg *schema.Config) {
	key := "functions." + name
	if len(f.KeyValueStoreAssociations) == 0 && readsStore.MatchString(f.FunctionCode) {
		// CloudFront takes it: "This fails if there is no key value store
		// associated with the function" (its kvs-key-value-pairs example).
		k.warn(key, sel("functions", name, "functionCode"), "function %q: its code calls kvs() of the cloudfront module, but keyValueStoreAssociations names no store: each run that reaches it fails (503); name a key of keyValueStores", name)
	}
	for i, s := range f.KeyValueStoreAssociations {
		at := sel("functions", name, "keyValueStoreAssociations", i)
		switch {
		case cfg.KeyValueStores[s] == nil:
			k.add(key, at, "function %q: keyValueStoreAssociations[%d]: unknown key value store %q%s", name, i, s, nameHint(s, sortedKeys(cfg.KeyValueStores), "a key of keyValueStores"))
		case f.Runtime != "cloudfront-js-2.0":
			k.add(key, at, "function %q: a key value store needs runtime cloudfront-js-2.0 (the function's is %s)", name, f.Runtime)
		}
	}
}

// readsStore matches code that takes the cloudfront module (import …
// from 'cloudfront', or require('cloudfront')) and then calls kvs (cf.kvs(),
// or a kvs named in the import): a warning's guess, which a call in a
// comment also makes.
var readsStore = regexp.MustCompile(`(?s)(from\s*|require\(\s*)['"]cloudfront['"].*\bkvs\s*\(`)
