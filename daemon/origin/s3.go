package origin

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"

	"openfront.dev/compiler/table"
)

// s3 fetches objects from an S3 bucket (AWS, virtual-hosted) or an
// S3-compatible server (path-style), signed with the AWS SDK's SigV4 signer.
type s3 struct {
	origin *table.Origin
	loc    *table.S3Location
	client
	signer *v4.Signer
	creds  aws.CredentialsProvider // nil when requests are not signed
	// site is where requests go and the region they are signed for: the
	// configured ones, until the bucket names its own region.
	site atomic.Pointer[s3Site]
	log  *slog.Logger
}

// s3Site is an S3 origin's endpoint and signing region.
type s3Site struct{ region, endpoint string }

// emptySHA256 is the payload hash of a GET or HEAD.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// s3ResponseTimeout is an S3 origin's response timeout: its
// s3OriginConfig's originReadTimeout (API_S3OriginConfig), CloudFront's
// 30 seconds where none is set (an origin made in Go).
func s3ResponseTimeout(o *table.Origin) time.Duration {
	if c := o.Spec.S3OriginConfig; c != nil && c.OriginReadTimeout > 0 {
		return time.Duration(c.OriginReadTimeout) * time.Second
	}
	return 30 * time.Second
}

func newS3(o *table.Origin, log *slog.Logger) (*s3, error) {
	connect := time.Duration(o.Spec.ConnectionTimeout) * time.Second
	read := s3ResponseTimeout(o)
	s := &s3{
		origin: o,
		loc:    o.S3,
		log:    log,
		signer: v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true }),
		client: client{
			origin:      o.ID,
			attempts:    max(o.Spec.ConnectionAttempts, 1),
			readTimeout: read,
			completion:  time.Duration(o.Spec.ResponseCompletionTimeout) * time.Second,
			http: &http.Client{
				Transport: &http.Transport{
					DialContext:           (&net.Dialer{Timeout: connect}).DialContext,
					TLSHandshakeTimeout:   connect,
					ResponseHeaderTimeout: read,
					MaxIdleConnsPerHost:   256,
					IdleConnTimeout:       90 * time.Second,
					DisableCompression:    true,
					// HTTP/1.1, as to a custom origin (custom.go).
					TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
				},
				CheckRedirect: noRedirect,
			},
		},
	}
	s.site.Store(&s3Site{region: o.S3.Region, endpoint: o.S3.Endpoint})
	if o.S3.SignRequests {
		opts := []func(*config.LoadOptions) error{config.WithRegion(o.S3.Region)}
		if p := o.S3.CredentialsProfile; p != "" {
			opts = append(opts, config.WithSharedConfigProfile(p))
		}
		cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			return nil, fmt.Errorf("s3 origin credentials: %w", err)
		}
		s.creds = cfg.Credentials
	}
	return s, nil
}

// objectURL addresses originPath + path in the bucket at endpoint, the key
// encoded as S3's canonical form wants it (everything but unreserved bytes
// and "/").
func (s *s3) objectURL(endpoint, rawPath string) (*url.URL, error) {
	key, err := url.PathUnescape(s.origin.Spec.OriginPath + rawPath)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	escaped := s3Escape(key)
	if s.loc.PathStyle {
		escaped = "/" + s3Escape(s.loc.Bucket) + escaped
	} else {
		base.Host = s.loc.Bucket + "." + base.Host
	}
	u := *base
	u.Path, u.RawPath = strings.TrimSuffix(base.Path, "/")+mustUnescape(escaped), strings.TrimSuffix(base.EscapedPath(), "/")+escaped
	return &u, nil
}

func mustUnescape(s string) string {
	u, _ := url.PathUnescape(s)
	return u
}

func s3Escape(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (s *s3) close() { s.http.CloseIdleConnections() }

func (s *s3) Fetch(ctx context.Context, req *Request) (*http.Response, error) {
	// CloudFront "forwards GET, HEAD, OPTIONS, PUT, PATCH, POST, and
	// DELETE requests" to "your Amazon S3 bucket or your custom origin"
	// (API_AllowedMethods): OPTIONS is a CORS preflight, which the bucket
	// answers from its CORS configuration; the others write or delete,
	// as the bucket's policy for these credentials allows.
	write := s3WriteMethods[req.Method]
	if !write && req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions {
		resp := textResponse(http.StatusMethodNotAllowed, "an S3 origin serves GET, HEAD, OPTIONS, PUT, PATCH, POST and DELETE\n")
		resp.Header.Set("Allow", "GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE")
		return resp, nil
	}
	if s.bucketOperation(req) {
		return s3AccessDenied(), nil
	}
	// HTTP/3 gives every request a body reader, of unknown length when
	// the viewer sent no Content-Length: a DELETE sends none.
	body := write && req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0 && req.Method != http.MethodDelete
	site := s.site.Load()
	resp, err := s.send(ctx, req, site, write, body)
	if err != nil {
		return nil, err
	}
	// CloudFront finds a bucket in any region (BUCKET.s3.amazonaws.com
	// names none); S3 says where it is when it refuses a request signed
	// for, or sent to, another region. A body is never sent twice: the
	// next write goes to the right place.
	if region := s3BucketRegion(resp); region != "" && region != site.region {
		moved := s.moveTo(site, region)
		resp.Body.Close()
		if body {
			// Its body is gone: the viewer is to send it again, which
			// then goes where the bucket is.
			resp = textResponse(http.StatusServiceUnavailable, "The origin's S3 bucket is in "+region+", not "+site.region+" as its domain name says: send the request again.\n")
			resp.Header.Set("Retry-After", "1")
			return resp, nil
		}
		if resp, err = s.send(ctx, req, moved, write, body); err != nil {
			return nil, err
		}
	}
	// S3's request ids identify the node's request, not the viewer's.
	resp.Header.Del("X-Amz-Id-2")
	resp.Header.Del("X-Amz-Request-Id")
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest {
		if code, _ := s3ErrorCode(resp); authFailure[code] {
			return nil, &Error{Origin: s.origin.ID, Err: fmt.Errorf("the bucket refused this node's credentials: %s", code),
				Reason: "The origin's S3 bucket refused this edge node's credentials (" + code + ")."}
		}
	}
	return resp, nil
}

// bucketOperation reports whether req would act on the bucket rather than
// an object's data: its root (a listing, CreateBucket, DeleteBucket), or
// one of S3's subresources (?acl, ?policy, ?tagging...). An origin access
// control is granted s3:GetObject (and PutObject, DeleteObject for
// writes), so through CloudFront S3 refuses these; the node's own
// credentials may well allow them. OPTIONS, a CORS preflight, goes; so
// does every unsigned request, which the bucket answers as to anyone.
func (s *s3) bucketOperation(req *Request) bool {
	if req.Method == http.MethodOptions || s.creds == nil {
		return false
	}
	if key, err := url.PathUnescape(s.origin.Spec.OriginPath + req.Path); err == nil && strings.TrimPrefix(key, "/") == "" {
		return true
	}
	if req.RawQuery == "" {
		return false
	}
	q, _ := url.ParseQuery(req.RawQuery) // what the signer sends: the pairs that parse
	for name := range q {
		// A version's DELETE removes it for good (s3:DeleteObjectVersion).
		if s3Subresources[name] || name == "versionId" && req.Method == http.MethodDelete {
			return true
		}
	}
	return false
}

// s3Subresources are the query parameters that turn a request for an
// object into another S3 operation than reading or writing its data
// (versionId, partNumber, the multipart upload's uploads and uploadId,
// and response-* stay: GetObject and PutObject take them).
var s3Subresources = map[string]bool{
	"acl": true, "attributes": true, "legal-hold": true, "retention": true, "restore": true, "select": true,
	"select-type": true, "tagging": true, "torrent": true, "policy": true, "policyStatus": true,
	"versioning": true, "versions": true, "lifecycle": true, "cors": true, "website": true, "logging": true,
	"notification": true, "replication": true, "encryption": true, "location": true, "accelerate": true,
	"analytics": true, "inventory": true, "metrics": true, "ownershipControls": true, "publicAccessBlock": true,
	"intelligent-tiering": true, "requestPayment": true, "object-lock": true, "delete": true, "list-type": true,
	"renameObject": true, "session": true,
}

// s3AccessDenied is S3's own refusal, as a viewer of CloudFront gets it.
func s3AccessDenied() *http.Response {
	resp := textResponse(http.StatusForbidden, xml.Header+"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>\n")
	resp.Header.Set("Content-Type", "application/xml")
	return resp
}

// send sends req to the bucket at site, signed for its region.
func (s *s3) send(ctx context.Context, req *Request, site *s3Site, write, body bool) (*http.Response, error) {
	u, err := s.objectURL(site.endpoint, req.Path)
	if err != nil {
		return textResponse(http.StatusBadRequest, "bad path\n"), nil
	}
	// "You can configure whether CloudFront forwards query string
	// parameters to your Amazon S3 origin" (RequestAndResponseBehaviorS3Origin.md):
	// the forwarded query goes, signed, so that S3 acts on its own
	// parameters (versionId, response-content-type) as it does for
	// CloudFront; the signer encodes it canonically.
	u.RawQuery = req.RawQuery
	target := u.String()
	payloadHash := emptySHA256
	if body {
		// The body streams through unread: S3 takes an unsigned payload.
		payloadHash = "UNSIGNED-PAYLOAD"
	}
	return s.do(ctx, req.Method, body, func(ctx context.Context) (*http.Request, error) {
		var reqBody io.Reader
		if body {
			reqBody = req.Body
		}
		hr, err := http.NewRequestWithContext(ctx, req.Method, target, reqBody)
		if err != nil {
			return nil, err
		}
		if body {
			hr.ContentLength = req.ContentLength
		}
		// customHeaders go to S3 origins too (add-origin-custom-headers.md),
		// signed with the rest.
		for _, h := range s.origin.Spec.CustomHeaders {
			hr.Header.Set(h.HeaderName, h.HeaderValue)
		}
		// Of the viewer's fields only those S3 acts on: the conditional
		// ones, and the CORS ones when the behavior forwards them (the
		// CORS-S3Origin policy, or forwardedValues.headers), which the
		// bucket's CORS configuration answers. A forwarded Cookie or
		// Authorization means nothing to S3 (or clashes with the
		// signature). The node's own fields go, as CloudFront's do; all
		// are signed with the rest.
		for _, h := range s3ViewerHeaders {
			if v := req.Header.Get(h); v != "" {
				hr.Header.Set(h, v)
			}
		}
		for _, h := range nodeHeaders {
			if v := req.Header.Get(h); v != "" {
				hr.Header.Set(h, v)
			}
		}
		if write {
			// What S3 stores with the object, as the viewer sent it
			// (Content-Type always reaches the origin; the others when
			// the behavior forwards them).
			for _, h := range s3WriteHeaders {
				if v := req.Header.Get(h); v != "" {
					hr.Header.Set(h, v)
				}
			}
			for k, vs := range req.Header {
				if strings.HasPrefix(k, "X-Amz-Meta-") {
					hr.Header[k] = vs
				}
			}
		}
		setForwardedFor(hr.Header, req)
		hr.Header.Set("X-Amz-Content-Sha256", payloadHash)
		if s.creds != nil {
			creds, err := s.creds.Retrieve(ctx)
			if err != nil {
				return nil, &Error{Origin: s.origin.ID, Err: fmt.Errorf("no S3 credentials on this node: %w", err)}
			}
			if err := s.signer.SignHTTP(ctx, creds, hr, payloadHash, "s3", site.region, time.Now()); err != nil {
				return nil, &Error{Origin: s.origin.ID, Err: fmt.Errorf("sign: %w", err)}
			}
		}
		return hr, nil
	})
}

// moveTo makes region the origin's from now on (on AWS, with its
// regional endpoint) unless another fetch did first, and returns the
// site to use.
func (s *s3) moveTo(from *s3Site, region string) *s3Site {
	moved := table.S3Location{Region: from.region, Endpoint: from.endpoint}.InRegion(region)
	to := &s3Site{region: moved.Region, endpoint: moved.Endpoint}
	if s.site.CompareAndSwap(from, to) {
		s.log.Warn("S3 origin: the bucket is in another region; set s3OriginConfig.region (or name it in domainName) to save a request on each node start",
			"origin", s.origin.ID, "bucket", s.loc.Bucket, "configured", from.region, "region", region)
	}
	return to
}

// s3BucketRegion is the region S3 names in a refusal for the wrong one
// (table.S3BucketRegion), leaving the body readable.
func s3BucketRegion(resp *http.Response) string {
	if resp.StatusCode != http.StatusMovedPermanently && resp.StatusCode != http.StatusBadRequest {
		return ""
	}
	code, region := s3ErrorCode(resp)
	return table.S3BucketRegion(resp.StatusCode, resp.Header.Get("X-Amz-Bucket-Region"), code, region)
}

// s3ViewerHeaders are the forwarded viewer fields an S3 origin gets.
var s3ViewerHeaders = append(slices.Clip(ConditionalHeaders), corsRequestHeaders...)

// s3WriteMethods are the methods beyond GET, HEAD and OPTIONS that
// CloudFront forwards to an S3 origin.
var s3WriteMethods = map[string]bool{http.MethodPut: true, http.MethodPost: true, http.MethodPatch: true, http.MethodDelete: true}

// s3WriteHeaders are the forwarded fields a write sends the bucket, which
// it keeps as the object's metadata (PutObject), with x-amz-meta-*.
var s3WriteHeaders = []string{"Content-Type", "Content-MD5", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"}

// corsRequestHeaders are the request fields S3 evaluates its bucket's
// CORS configuration on, those the CORS-S3Origin policy forwards.
var corsRequestHeaders = []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}

// authFailure are S3 error codes that mean the node's credentials or
// signature are wrong: a configuration fault (502), not the viewer's.
var authFailure = map[string]bool{
	"SignatureDoesNotMatch": true, "InvalidAccessKeyId": true, "AuthorizationHeaderMalformed": true,
	"ExpiredToken": true, "InvalidToken": true, "MissingSecurityHeader": true, "InvalidSecurity": true,
	"AccessDenied": false, // also a missing key without ListBucket: the viewer's 403
}

// s3ErrorCode reads the Code and Region of an S3 error body, leaving the
// body readable.
func s3ErrorCode(resp *http.Response) (code, region string) {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var e struct {
		Code   string `xml:"Code"`
		Region string `xml:"Region"`
	}
	xml.Unmarshal(b, &e)
	return e.Code, e.Region
}
