package signedurl

import (
	"testing"
	"time"

	"openfront.dev/compiler/table"
)

func benchVerify(b *testing.B, v *Verifier, req Request, groups []*table.KeyGroup) {
	b.Helper()
	if d := v.Verify(req, groups); !d.Allowed && len(groups) > 0 {
		b.Fatalf("%+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.Verify(req, groups)
	}
}

func BenchmarkVerify(b *testing.B) {
	keys(b)
	groups := []*table.KeyGroup{trustedGroup}
	exp := now.Add(time.Hour)
	canned := requestFor(b, sdkURL(b, keyK1, "K1", "https://cdn.example.com/private/movie.mp4?quality=hd", exp))
	custom := requestFor(b, sdkPolicyURL(b, keyK1, "K1", "https://cdn.example.com/live/index.m3u8",
		sdkPolicy("https://cdn.example.com/live/*", exp, now.Add(-time.Hour), "198.51.100.0/24")))
	cookie := withCookies(requestFor(b, "https://cdn.example.com/members/a.ts"), "session=1; "+
		sdkPolicyCookies(b, keyK1, "K1", sdkPolicy("https://cdn.example.com/members/*", exp, time.Time{}, "")))
	s256, _ := Signer{KeyPairID: "K1", Key: keyK1, SHA256: true}.SignURL("https://cdn.example.com/private/movie.mp4", Policy{Expires: exp})
	sha256Req := requestFor(b, s256)
	b.Run("public", func(b *testing.B) { benchVerify(b, &Verifier{}, canned, nil) })
	b.Run("canned", func(b *testing.B) { benchVerify(b, &Verifier{}, canned, groups) })
	b.Run("canned-sha256", func(b *testing.B) { benchVerify(b, &Verifier{}, sha256Req, groups) })
	b.Run("custom", func(b *testing.B) { benchVerify(b, &Verifier{}, custom, groups) })
	b.Run("cookie", func(b *testing.B) { benchVerify(b, &Verifier{}, cookie, groups) })
	b.Run("canned-cached", func(b *testing.B) { benchVerify(b, NewVerifier(1024), canned, groups) })
	b.Run("custom-cached", func(b *testing.B) { benchVerify(b, NewVerifier(1024), custom, groups) })
	b.Run("cookie-cached", func(b *testing.B) { benchVerify(b, NewVerifier(1024), cookie, groups) })
	b.Run("custom-cached-parallel", func(b *testing.B) {
		v := NewVerifier(1024)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v.Verify(custom, groups)
			}
		})
	})
}

func BenchmarkStripSignature(b *testing.B) {
	b.Run("tail", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			StripSignature("quality=hd&Expires=1780318800&Signature=abcd&Key-Pair-Id=K1")
		}
	})
	b.Run("middle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			StripSignature("quality=hd&Expires=1780318800&Signature=abcd&t=3&Key-Pair-Id=K1")
		}
	})
}
