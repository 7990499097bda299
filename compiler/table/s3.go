package table

import (
	"fmt"
	"regexp"
	"strings"

	"openfront.dev/schema"
)

// S3Location is where an S3 origin's objects are and how to address them.
type S3Location struct {
	Bucket, Region string
	// Endpoint is the server's base URL: https://s3.REGION.amazonaws.com for
	// AWS, the configured endpoint for an S3-compatible server.
	Endpoint string
	// PathStyle addresses objects as ENDPOINT/BUCKET/KEY (an S3-compatible
	// endpoint, an AWS bucket with a dot in its name); otherwise the
	// bucket is in the host name (virtual-hosted, AWS).
	PathStyle          bool
	SignRequests       bool
	CredentialsProfile string
}

// awsS3Domain matches bucket.s3.amazonaws.com, bucket.s3.REGION.amazonaws.com,
// the older bucket.s3-REGION.amazonaws.com, and the dual-stack (IPv4 and
// IPv6) bucket.s3.dualstack.REGION.amazonaws.com.
var awsS3Domain = regexp.MustCompile(`^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3(\.dualstack)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$`)

// ParseS3Location derives an S3 origin's location from its domainName and config.
func ParseS3Location(domainName string, c schema.S3OriginConfig) (S3Location, error) {
	loc := S3Location{SignRequests: c.SignRequests, CredentialsProfile: c.CredentialsProfile}
	if c.Endpoint != "" {
		loc.Bucket, loc.Region, loc.Endpoint, loc.PathStyle = c.Bucket, c.Region, c.Endpoint, true
		if loc.Bucket == "" || loc.Region == "" {
			return loc, fmt.Errorf("an S3 endpoint needs bucket and region")
		}
		return loc, nil
	}
	// Endpoints that look like a bucket's but are not its REST API, which
	// the regional pattern below would take for a region ("website-us-east-1").
	switch {
	case strings.Contains(domainName, ".s3-website"):
		// API_Origin, CustomOriginConfig: "If the Amazon S3 bucket is
		// configured with static website hosting, use this attribute."
		return loc, fmt.Errorf("domainName %q is an S3 website endpoint, which is a custom origin: use customOriginConfig (originProtocolPolicy http-only, as website endpoints serve no HTTPS) instead of s3OriginConfig", domainName)
	case strings.Contains(domainName, ".s3-accelerate."):
		// API_Origin, DomainName: "If you configured Amazon S3 Transfer
		// Acceleration for your bucket, don't specify the s3-accelerate
		// endpoint for DomainName."
		return loc, fmt.Errorf("domainName %q is an S3 Transfer Acceleration endpoint, which is not an origin: use the bucket's regional domain BUCKET.s3.REGION.amazonaws.com", domainName)
	}
	m := awsS3Domain.FindStringSubmatch(domainName)
	if m == nil {
		return loc, fmt.Errorf("domainName %q is not an S3 bucket domain (BUCKET.s3.REGION.amazonaws.com); for an S3-compatible server set s3OriginConfig.endpoint, bucket and region", domainName)
	}
	loc.Bucket, loc.Region = m[1], m[3]
	dualStack := m[2] != ""
	if dualStack && loc.Region == "" {
		return loc, fmt.Errorf("domainName %q: a dual-stack S3 domain names its region (BUCKET.s3.dualstack.REGION.amazonaws.com)", domainName)
	}
	if loc.Region == "" || loc.Region == "external-1" {
		loc.Region = "us-east-1" // s3-external-1 is us-east-1's old name
	}
	if c.Bucket != "" && c.Bucket != loc.Bucket {
		return loc, fmt.Errorf("bucket %q differs from the bucket %q in domainName", c.Bucket, loc.Bucket)
	}
	if c.Region != "" {
		loc.Region = c.Region
	}
	loc.Endpoint = "https://s3." + loc.Region + ".amazonaws.com"
	if dualStack {
		loc.Endpoint = "https://s3.dualstack." + loc.Region + ".amazonaws.com"
	}
	// A bucket with a dot in its name goes path-style, as the AWS SDKs
	// send it over HTTPS: S3's certificate (*.s3.REGION.amazonaws.com)
	// does not cover "assets.example.com.s3.REGION.amazonaws.com".
	loc.PathStyle = strings.Contains(loc.Bucket, ".")
	return loc, nil
}

// InRegion is the location with its bucket in region: signed for it and,
// on AWS, sent to that region's endpoint.
func (l S3Location) InRegion(region string) S3Location {
	switch {
	case strings.HasPrefix(l.Endpoint, "https://s3.dualstack.") && strings.HasSuffix(l.Endpoint, ".amazonaws.com"):
		l.Endpoint = "https://s3.dualstack." + region + ".amazonaws.com"
	case strings.HasPrefix(l.Endpoint, "https://s3.") && strings.HasSuffix(l.Endpoint, ".amazonaws.com"):
		l.Endpoint = "https://s3." + region + ".amazonaws.com"
	}
	l.Region = region
	return l
}

// S3BucketRegion is the region S3 names when it refuses a request signed
// for, or sent to, another: a 301 PermanentRedirect with
// x-amz-bucket-region, a 400 AuthorizationHeaderMalformed ("the region
// 'us-east-1' is wrong; expecting 'eu-west-1'") with that header or the
// error's <Region>, or the header alone on a HEAD's 400, which has no
// body. "" when the refusal is not that.
func S3BucketRegion(status int, headerRegion, code, bodyRegion string) string {
	if r := s3AnswerRegion(status, headerRegion, code, bodyRegion); regionName.MatchString(r) {
		return r
	}
	return "" // the endpoint is made of it (InRegion): a name, no host or path
}

// regionName is what a region's name may be: one DNS label (eu-west-1,
// or an S3-compatible server's own, such as garage).
var regionName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func s3AnswerRegion(status int, headerRegion, code, bodyRegion string) string {
	switch {
	case status == 301, status == 400 && code == "":
		return headerRegion
	case status == 400 && code == "AuthorizationHeaderMalformed":
		if headerRegion != "" {
			return headerRegion
		}
		return bodyRegion
	}
	return ""
}
