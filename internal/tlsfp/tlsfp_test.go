package tlsfp

import (
	"crypto/tls"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// grease is a few of RFC 8701's values, which both fingerprints ignore.
const grease1, grease2, grease3 = 0x0a0a, 0x3a3a, 0xfafa

// TestJA3 checks JA3 against the examples of Salesforce's README, with
// GREASE added where a client would put it.
func TestJA3(t *testing.T) {
	for _, tt := range []struct {
		name      string
		info      tls.ClientHelloInfo
		str, hash string
	}{
		{
			name: "README example",
			info: tls.ClientHelloInfo{
				SupportedVersions: []uint16{tls.VersionTLS10},
				CipherSuites:      []uint16{grease1, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4},
				Extensions:        []uint16{grease2, 0, 10, 11, grease3},
				SupportedCurves:   []tls.CurveID{grease1, 23, 24, 25},
				SupportedPoints:   []uint8{0},
			},
			str:  "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0",
			hash: "ada70206e40642a3e4461f35503241d5",
		},
		{
			name: "no extensions",
			info: tls.ClientHelloInfo{
				SupportedVersions: []uint16{tls.VersionTLS10},
				CipherSuites:      []uint16{4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99},
			},
			str:  "769,4-5-10-9-100-98-3-6-19-18-99,,,",
			hash: "de350869b8c85de67a350c8d186f11e6",
		},
		{
			name: "TLS 1.3 client: the version field is TLS 1.2's",
			info: tls.ClientHelloInfo{
				SupportedVersions: []uint16{grease1, tls.VersionTLS13, tls.VersionTLS12},
				CipherSuites:      []uint16{4865},
				Extensions:        []uint16{43, 10},
				SupportedCurves:   []tls.CurveID{29},
				SupportedPoints:   []uint8{0},
			},
			str:  "771,4865,43-10,29,0",
			hash: "", // not a published vector
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := JA3String(&tt.info); got != tt.str {
				t.Errorf("JA3 string %q, want %q", got, tt.str)
			}
			if got := JA3(&tt.info); tt.hash != "" && got != tt.hash {
				t.Errorf("JA3 %q, want %q", got, tt.hash)
			}
		})
	}
}

// chrome is the ClientHello of FoxIO's JA4 example, in an order a client
// may offer it (JA4 sorts), with GREASE.
func chrome() tls.ClientHelloInfo {
	return tls.ClientHelloInfo{
		ServerName:        "example.com",
		SupportedVersions: []uint16{grease1, tls.VersionTLS13, tls.VersionTLS12},
		CipherSuites: []uint16{grease2, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{grease1, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d,
			0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x4469, 0x0015, grease3},
		SignatureSchemes: []tls.SignatureScheme{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
		SupportedProtos:  []string{"h2", "http/1.1"},
	}
}

// TestJA4 checks JA4 against FoxIO's example and the spec's rules for
// each part of its prefix.
func TestJA4(t *testing.T) {
	const hashes = "_8daaf6152771_e5627efa2ab1"
	for _, tt := range []struct {
		name   string
		change func(*tls.ClientHelloInfo)
		quic   bool
		want   string
	}{
		{"FoxIO example", func(*tls.ClientHelloInfo) {}, false, "t13d1516h2" + hashes},
		{"QUIC", func(*tls.ClientHelloInfo) {}, true, "q13d1516h2" + hashes},
		{"no ALPN", func(i *tls.ClientHelloInfo) { i.SupportedProtos = nil }, false, "t13d151600" + hashes},
		{"ALPN first and last", func(i *tls.ClientHelloInfo) { i.SupportedProtos = []string{"http/1.1"} }, false, "t13d1516h1" + hashes},
		{"ALPN not alphanumeric: hex", func(i *tls.ClientHelloInfo) { i.SupportedProtos = []string{"\xab\xcd"} }, false, "t13d1516ad" + hashes},
		{"no SNI extension", func(i *tls.ClientHelloInfo) {
			i.Extensions = dropped(i.Extensions, 0x0000)
		}, false, "t13i1515h2" + hashes},
		{"TLS 1.2 without supported_versions", func(i *tls.ClientHelloInfo) {
			i.Extensions = dropped(i.Extensions, 0x002b)
			i.SupportedVersions = []uint16{tls.VersionTLS12, tls.VersionTLS11}
		}, false, "t12d1515h2_8daaf6152771_" + truncatedHash("0005,000a,000b,000d,0012,0015,0017,001b,0023,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601")},
		{"no signature algorithms", func(i *tls.ClientHelloInfo) { i.SignatureSchemes = nil }, false,
			"t13d1516h2_8daaf6152771_" + truncatedHash("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01")},
		{"nothing offered", func(i *tls.ClientHelloInfo) {
			*i = tls.ClientHelloInfo{SupportedVersions: []uint16{tls.VersionTLS12}}
		}, false, "t12i000000_000000000000_000000000000"},
		{"counts stop at 99", func(i *tls.ClientHelloInfo) {
			i.CipherSuites = make([]uint16, 120)
			for n := range i.CipherSuites {
				i.CipherSuites[n] = uint16(n + 1)
			}
		}, false, "t13d9916h2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info := chrome()
			tt.change(&info)
			got := JA4(&info, tt.quic)
			if !strings.HasPrefix(got, tt.want) || len(got) != 36 {
				t.Errorf("JA4 %q, want %q", got, tt.want)
			}
		})
	}
}

func dropped(vs []uint16, v uint16) []uint16 {
	var out []uint16
	for _, x := range vs {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// TestHello: a Hello fingerprints the first ClientHello it captured,
// none before one.
func TestHello(t *testing.T) {
	var h Hello
	if h.JA3() != "" || h.JA4() != "" {
		t.Fatalf("fingerprints %q %q before a ClientHello", h.JA3(), h.JA4())
	}
	first, retry := chrome(), chrome()
	retry.CipherSuites = []uint16{0x1301}
	var c Hello
	c.Capture(&first, false)
	c.Capture(&retry, false)
	if want := JA4(&first, false); c.JA4() != want {
		t.Errorf("JA4 %q, want the first ClientHello's %q", c.JA4(), want)
	}
	if want := JA3(&first); c.JA3() != want {
		t.Errorf("JA3 %q, want the first ClientHello's %q", c.JA3(), want)
	}
}

// FuzzFingerprints: whatever a viewer's ClientHello offers, JA3 and JA4
// have their formats, and they stay the same when the client adds GREASE
// values and, for JA4, reorders its ciphers and extensions, as browsers
// do at random on every connection: a fingerprint that changed with them
// would not recognize a client from one connection to the next.
func FuzzFingerprints(f *testing.F) {
	u16 := func(vs ...uint16) []byte {
		var b []byte
		for _, v := range vs {
			b = append(b, byte(v>>8), byte(v))
		}
		return b
	}
	f.Add(u16(0x1301, 0x1302, 0xc02b), u16(0x0000, 0x0010, 0x002b, 0x000d), u16(0x0304, 0x0303), u16(0x0403, 0x0804), "h2", false, uint64(1))
	f.Add(u16(47, 53, 5), u16(0, 10, 11), u16(0x0301), []byte{}, "", true, uint64(7))
	f.Add([]byte{0x0a}, u16(0x002b), u16(0xfeff, 0x0002), u16(0x0a0a), "\x00", false, uint64(0))
	ja4 := regexp.MustCompile(`^[tq](13|12|11|10|s3|s2|d1|d2|d3|00)[di][0-9]{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)
	ja3 := regexp.MustCompile(`^[0-9]+(,([0-9]+(-[0-9]+)*)?){4}$`)
	f.Fuzz(func(t *testing.T, ciphers, exts, versions, sigs []byte, alpn string, quic bool, seed uint64) {
		values := func(b []byte) []uint16 {
			var vs []uint16
			for i := 0; i+1 < len(b); i += 2 {
				vs = append(vs, uint16(b[i])<<8|uint16(b[i+1]))
			}
			return vs
		}
		info := &tls.ClientHelloInfo{
			CipherSuites:      values(ciphers),
			Extensions:        values(exts),
			SupportedVersions: values(versions),
			SupportedCurves:   []tls.CurveID{29, 23},
			SupportedPoints:   []uint8{0},
		}
		for _, s := range values(sigs) {
			info.SignatureSchemes = append(info.SignatureSchemes, tls.SignatureScheme(s))
		}
		if alpn != "" {
			info.SupportedProtos = []string{alpn, "http/1.1"}
		}
		s3, s4 := JA3String(info), JA4(info, quic)
		if !ja3.MatchString(s3) || len(JA3(info)) != 32 {
			t.Fatalf("JA3 string %q, hash %q", s3, JA3(info))
		}
		if !ja4.MatchString(s4) {
			t.Fatalf("JA4 %q", s4)
		}

		rnd := rand.New(rand.NewPCG(seed, seed))
		withGREASE := func(vs []uint16) []uint16 {
			vs = slices.Clone(vs)
			for range rnd.IntN(3) {
				n := uint16(rnd.IntN(16)) // RFC 8701's 0x0a0a, 0x1a1a ... 0xfafa
				vs = slices.Insert(vs, rnd.IntN(len(vs)+1), n<<12|0x0a00|n<<4|0x0a)
			}
			return vs
		}
		g := *info
		g.CipherSuites = withGREASE(info.CipherSuites)
		g.Extensions = withGREASE(info.Extensions)
		if slices.Contains(info.Extensions, extSupportedVersions) {
			// Without the extension, the versions are Go's reading of the
			// version field, which holds no GREASE.
			g.SupportedVersions = withGREASE(info.SupportedVersions)
		}
		g.SignatureSchemes = nil
		for _, s := range withGREASE(values(sigs)) {
			g.SignatureSchemes = append(g.SignatureSchemes, tls.SignatureScheme(s))
		}
		g.SupportedCurves = nil
		for _, c := range withGREASE([]uint16{29, 23}) {
			g.SupportedCurves = append(g.SupportedCurves, tls.CurveID(c))
		}
		if got := JA3String(&g); got != s3 {
			t.Fatalf("JA3 %q, with GREASE added %q", s3, got)
		}
		if got := JA4(&g, quic); got != s4 {
			t.Fatalf("JA4 %q, with GREASE added %q", s4, got)
		}
		rnd.Shuffle(len(g.CipherSuites), func(i, j int) { g.CipherSuites[i], g.CipherSuites[j] = g.CipherSuites[j], g.CipherSuites[i] })
		rnd.Shuffle(len(g.Extensions), func(i, j int) { g.Extensions[i], g.Extensions[j] = g.Extensions[j], g.Extensions[i] })
		if got := JA4(&g, quic); got != s4 {
			t.Fatalf("JA4 %q, reordered %q", s4, got)
		}
	})
}
