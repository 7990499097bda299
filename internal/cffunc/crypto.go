package cffunc

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strings"

	"github.com/dop251/goja"
)

// CloudFront's crypto module: createHash and createHmac of md5, sha1 and
// sha256, digests in hex, base64 or base64url (functions-javascript-
// runtime-10.md, "Crypto (hash and HMAC)"). With no encoding, digest()
// is a Buffer in 2.0 and a byte string in 1.0.

var hashes = map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New}

var digestEncodings = map[string]func([]byte) string{
	"hex":       hex.EncodeToString,
	"base64":    base64.StdEncoding.EncodeToString,
	"base64url": base64.RawURLEncoding.EncodeToString,
}

func init() { modules["crypto"] = cryptoModule }

func cryptoModule(f *Function, v *vm) (goja.Value, error) {
	rt := v.rt
	made := &v.bytes
	// The byte strings of 1.0's digest() and String.bytesFrom, given to
	// update() or as a key, are their bytes, as in njs, not UTF-8.
	input := func(v, enc goja.Value) []byte {
		if b, ok := bytesOf(v); ok {
			return b
		}
		if goja.IsString(v) && made.has(v.String()) {
			return latin1Decode(v.String())
		}
		if !goja.IsString(v) {
			panic(rt.NewTypeError("The \"data\" argument must be of type string or an instance of Buffer, TypedArray, or DataView"))
		}
		return codecOf(rt, enc).decode(v.String())
	}
	algorithm := func(v goja.Value) func() hash.Hash {
		h, ok := hashes[strings.ToLower(v.String())]
		if !ok {
			panic(rt.NewTypeError("Digest method not supported: %s (CloudFront Functions offer md5, sha1 and sha256)", v.String()))
		}
		return h
	}
	object := func(h hash.Hash) goja.Value {
		o := rt.NewObject()
		done := false
		check := func() {
			if done {
				panic(rt.NewGoError(errors.New("Digest already called")))
			}
		}
		o.Set("update", func(call goja.FunctionCall) goja.Value {
			check()
			h.Write(input(call.Argument(0), call.Argument(1)))
			return o
		})
		o.Set("digest", func(call goja.FunctionCall) goja.Value {
			check()
			enc := call.Argument(0)
			if goja.IsUndefined(enc) {
				done = true
				sum := h.Sum(nil)
				if b := bufferClass(rt); b != nil && f.Runtime != runtime10 {
					from, _ := goja.AssertFunction(b.Get("from"))
					v, err := from(b, rt.ToValue(rt.NewArrayBuffer(sum)))
					if err != nil {
						panic(err)
					}
					return v
				}
				s := latin1Codec.encode(sum)
				made.add(s)
				return rt.ToValue(s)
			}
			encode, ok := digestEncodings[enc.String()]
			if !ok {
				panic(rt.NewTypeError("Unknown digest encoding: %s (CloudFront Functions offer hex, base64 and base64url)", enc.String()))
			}
			done = true
			return rt.ToValue(encode(h.Sum(nil)))
		})
		return o
	}
	m := rt.NewObject()
	m.Set("createHash", func(call goja.FunctionCall) goja.Value {
		return object(algorithm(call.Argument(0))())
	})
	m.Set("createHmac", func(call goja.FunctionCall) goja.Value {
		h := algorithm(call.Argument(0))
		return object(hmac.New(h, input(call.Argument(1), goja.Undefined())))
	})
	return m, nil
}
