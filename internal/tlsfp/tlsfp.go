// Package tlsfp computes the JA3 and JA4 fingerprints of a TLS
// ClientHello, as CloudFront's CloudFront-Viewer-JA3-Fingerprint and
// CloudFront-Viewer-JA4-Fingerprint headers carry them, and keeps a
// connection's ClientHello until a request asks for them.
//
// JA3 is Salesforce's (github.com/salesforce/ja3): the MD5 of
// "version,ciphers,extensions,groups,point formats", decimal values in
// the order offered. JA4 is FoxIO's (github.com/FoxIO-LLC/ja4):
// "t13d1516h2_8daaf6152771_e5627efa2ab1", a readable prefix and two
// truncated SHA-256 of the sorted ciphers and extensions. Both drop the
// GREASE values (RFC 8701) clients offer at random.
package tlsfp

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Extension numbers the fingerprints single out.
const (
	extServerName        = 0x0000
	extALPN              = 0x0010
	extSupportedVersions = 0x002b
)

// isGREASE reports whether v is one of RFC 8701's 0x?a?a values.
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// Hello is one connection's ClientHello, captured during its handshake;
// its fingerprints are computed on first use, once: a connection no
// behavior fingerprints costs a pointer.
type Hello struct {
	info *tls.ClientHelloInfo
	quic bool

	once     sync.Once
	ja3, ja4 string

	requested atomic.Bool // a request on the connection has called FirstRequest

	// checked is what the TLS config the handshake used checked of the
	// client's certificate, as its owner says (SetChecked).
	checked atomic.Value
}

// SetChecked records, during the handshake, what the TLS config chosen
// for it checks of the client's certificate (a comparable value of the
// caller's; nil for nothing): requests on the connection read it back
// (Checked) to tell whether the handshake checked what their host needs.
func (h *Hello) SetChecked(v any) { h.checked.Store(checkedValue{v}) }

// Checked is what SetChecked recorded; nil for nothing.
func (h *Hello) Checked() any {
	c, _ := h.checked.Load().(checkedValue)
	return c.v
}

// checkedValue boxes SetChecked's values: atomic.Value takes one type.
type checkedValue struct{ v any }

// FirstRequest reports whether this is the first call on h's connection:
// its first request, the one the handshake was made for. Later requests
// reuse the connection (CloudFront-Viewer-TLS's connectionReused).
func (h *Hello) FirstRequest() bool {
	// Loaded first: the common later request writes nothing.
	return !h.requested.Load() && !h.requested.Swap(true)
}

// Capture keeps info, the first ClientHello of h's connection (the one
// the fingerprints describe: a retry after HelloRetryRequest is not).
// quic says the connection is QUIC's (JA4's "q") rather than TCP's.
func (h *Hello) Capture(info *tls.ClientHelloInfo, quic bool) {
	if h.info != nil {
		return
	}
	// A copy, kept for the connection's life: SupportedPoints points into
	// the whole ClientHello (a few KiB with a post-quantum key share),
	// which only it would keep alive; the Conn is not needed.
	c := *info
	c.SupportedPoints = slices.Clone(info.SupportedPoints)
	c.Conn = nil
	h.info, h.quic = &c, quic
}

// JA3 is the connection's JA3 fingerprint, "" before a ClientHello.
func (h *Hello) JA3() string {
	h.compute()
	return h.ja3
}

// JA4 is the connection's JA4 fingerprint, "" before a ClientHello.
func (h *Hello) JA4() string {
	h.compute()
	return h.ja4
}

func (h *Hello) compute() {
	h.once.Do(func() {
		if h.info != nil {
			h.ja3, h.ja4 = JA3(h.info), JA4(h.info, h.quic)
		}
	})
}

// Conn is a TCP connection that carries the Hello of the TLS handshake
// on it: wrapped before tls.Server, it is the ClientHelloInfo's Conn,
// which Capture fills, and the *tls.Conn's NetConn, which ConnContext
// reads.
type Conn struct {
	net.Conn
	Hello Hello
}

type contextKey struct{}

// NewContext returns ctx carrying h: a QUIC transport's ConnContext puts
// an empty one there for Capture to fill (ClientHelloInfo.Context derives
// from the connection's), and the requests' contexts derive from it.
func NewContext(ctx context.Context, h *Hello) context.Context {
	return context.WithValue(ctx, contextKey{}, h)
}

// FromContext is the Hello of the connection a request's ctx belongs to,
// nil when there is none (plain HTTP).
func FromContext(ctx context.Context) *Hello {
	h, _ := ctx.Value(contextKey{}).(*Hello)
	return h
}

// Capture keeps info in the Hello of its connection, a *Conn's or its
// context's; a connection with neither is not fingerprinted. It is for
// tls.Config.GetConfigForClient.
func Capture(info *tls.ClientHelloInfo, quic bool) {
	if h := HelloOf(info); h != nil {
		h.Capture(info, quic)
	}
}

// HelloOf is the Hello of info's connection, a *Conn's or its context's;
// nil for neither.
func HelloOf(info *tls.ClientHelloInfo) *Hello {
	if c, ok := info.Conn.(*Conn); ok {
		return &c.Hello
	}
	return FromContext(info.Context())
}

// ConnContext is net/http's (and http1's) Server.ConnContext: it puts
// the Hello of a *tls.Conn over a *Conn in the connection's context.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		if fc, ok := tc.NetConn().(*Conn); ok {
			return NewContext(ctx, &fc.Hello)
		}
	}
	return ctx
}

// JA3 is the JA3 fingerprint of info: the MD5, in hex, of JA3String.
func JA3(info *tls.ClientHelloInfo) string {
	sum := md5.Sum([]byte(JA3String(info)))
	return hex.EncodeToString(sum[:])
}

// JA3String is JA3's "SSLVersion,Ciphers,Extensions,EllipticCurves,
// EllipticCurvePointFormats", GREASE left out.
func JA3String(info *tls.ClientHelloInfo) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(legacyVersion(info))))
	b.WriteByte(',')
	writeDecimal(&b, info.CipherSuites)
	b.WriteByte(',')
	writeDecimal(&b, info.Extensions)
	b.WriteByte(',')
	writeDecimal(&b, info.SupportedCurves)
	b.WriteByte(',')
	writeDecimal(&b, info.SupportedPoints)
	return b.String()
}

// legacyVersion is the ClientHello's version field, which JA3 takes.
// ClientHelloInfo does not keep it: without supported_versions, Go lists
// the versions up to it, highest first; with it, RFC 8446 (4.1.2) has
// clients send TLS 1.2's.
func legacyVersion(info *tls.ClientHelloInfo) uint16 {
	if slices.Contains(info.Extensions, extSupportedVersions) {
		return tls.VersionTLS12
	}
	if len(info.SupportedVersions) == 0 {
		return 0
	}
	return info.SupportedVersions[0]
}

func writeDecimal[T ~uint8 | ~uint16](b *strings.Builder, vs []T) {
	first := true
	for _, v := range vs {
		if isGREASE(uint16(v)) {
			continue
		}
		if !first {
			b.WriteByte('-')
		}
		first = false
		b.WriteString(strconv.Itoa(int(v)))
	}
}

// JA4 is the JA4 fingerprint of info, from a QUIC connection when quic.
func JA4(info *tls.ClientHelloInfo, quic bool) string {
	var b strings.Builder
	b.Grow(36)
	if quic {
		b.WriteByte('q')
	} else {
		b.WriteByte('t')
	}
	b.WriteString(ja4Version(info))
	if slices.Contains(info.Extensions, extServerName) {
		b.WriteByte('d')
	} else {
		b.WriteByte('i')
	}
	ciphers := withoutGREASE(info.CipherSuites)
	exts := withoutGREASE(info.Extensions)
	writeCount(&b, len(ciphers))
	writeCount(&b, len(exts))
	b.WriteString(ja4ALPN(info.SupportedProtos))
	b.WriteByte('_')

	slices.Sort(ciphers)
	b.WriteString(truncatedHash(hexList(ciphers)))
	b.WriteByte('_')

	// SNI and ALPN are counted but not hashed: they vary with the site,
	// not with the client.
	exts = slices.DeleteFunc(exts, func(e uint16) bool { return e == extServerName || e == extALPN })
	slices.Sort(exts)
	s := hexList(exts)
	algs := make([]uint16, 0, len(info.SignatureSchemes))
	for _, a := range info.SignatureSchemes {
		if !isGREASE(uint16(a)) {
			algs = append(algs, uint16(a))
		}
	}
	// Only GREASE is no algorithm: the client's next connection may
	// offer none.
	if len(algs) > 0 && s != "" {
		s += "_" + hexList(algs) // in the order offered
	}
	b.WriteString(truncatedHash(s))
	return b.String()
}

// ja4Version is the highest version supported_versions offers, else the
// ClientHello's version field.
func ja4Version(info *tls.ClientHelloInfo) string {
	v := legacyVersion(info)
	if slices.Contains(info.Extensions, extSupportedVersions) {
		v = 0
		for _, s := range info.SupportedVersions {
			if !isGREASE(s) && s > v {
				v = s
			}
		}
	}
	switch v {
	case tls.VersionTLS13:
		return "13"
	case tls.VersionTLS12:
		return "12"
	case tls.VersionTLS11:
		return "11"
	case tls.VersionTLS10:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// writeCount writes n as JA4's two digits, 99 at most.
func writeCount(b *strings.Builder, n int) {
	n = min(n, 99)
	b.WriteByte(byte('0' + n/10))
	b.WriteByte(byte('0' + n%10))
}

// ja4ALPN is the first and last characters of the first ALPN protocol
// offered; of its hex form when either is not alphanumeric; "00" for none.
func ja4ALPN(protos []string) string {
	if len(protos) == 0 || protos[0] == "" {
		return "00"
	}
	p := protos[0]
	first, last := p[0], p[len(p)-1]
	if alnum(first) && alnum(last) {
		return string([]byte{first, last})
	}
	h := hex.EncodeToString([]byte(p))
	return string([]byte{h[0], h[len(h)-1]})
}

func alnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func withoutGREASE(vs []uint16) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !isGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// hexList is vs as four-digit lowercase hex, comma-separated.
func hexList(vs []uint16) string {
	b := make([]byte, 0, len(vs)*5)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// truncatedHash is the first 12 hex digits of the SHA-256 of s; twelve
// zeros for an empty list.
func truncatedHash(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
