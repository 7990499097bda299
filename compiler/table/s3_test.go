package table

import (
	"strings"
	"testing"

	"openfront.dev/schema"
)

// TestParseS3Location: the bucket, region and endpoint of each form of an
// S3 bucket's domain name.
func TestParseS3Location(t *testing.T) {
	tests := []struct {
		domainName                       string
		bucket, region, endpoint, errHas string
	}{
		{"media.s3.amazonaws.com", "media", "us-east-1", "https://s3.us-east-1.amazonaws.com", ""},
		{"media.s3.eu-west-1.amazonaws.com", "media", "eu-west-1", "https://s3.eu-west-1.amazonaws.com", ""},
		{"media.s3-us-west-2.amazonaws.com", "media", "us-west-2", "https://s3.us-west-2.amazonaws.com", ""},
		{"media.s3-external-1.amazonaws.com", "media", "us-east-1", "https://s3.us-east-1.amazonaws.com", ""},
		{"media.s3.dualstack.eu-west-1.amazonaws.com", "media", "eu-west-1", "https://s3.dualstack.eu-west-1.amazonaws.com", ""},
		{"media.s3.dualstack.amazonaws.com", "", "", "", "names its region"},
		{"media.example.com", "", "", "", "not an S3 bucket domain"},
	}
	for _, tt := range tests {
		t.Run(tt.domainName, func(t *testing.T) {
			loc, err := ParseS3Location(tt.domainName, schema.S3OriginConfig{})
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want one saying %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc.Bucket != tt.bucket || loc.Region != tt.region || loc.Endpoint != tt.endpoint {
				t.Errorf("%+v, want bucket %s region %s endpoint %s", loc, tt.bucket, tt.region, tt.endpoint)
			}
		})
	}
}

// TestS3BucketRegion: the refusals in which S3 names the bucket's region.
func TestS3BucketRegion(t *testing.T) {
	tests := []struct {
		name                           string
		status                         int
		headerRegion, code, bodyRegion string
		want                           string
	}{
		{"301 PermanentRedirect", 301, "eu-west-1", "PermanentRedirect", "", "eu-west-1"},
		{"400 naming the region in its body", 400, "", "AuthorizationHeaderMalformed", "eu-west-1", "eu-west-1"},
		{"400 with the header", 400, "ap-south-1", "AuthorizationHeaderMalformed", "eu-west-1", "ap-south-1"},
		{"a HEAD's 400 has only the header", 400, "eu-west-1", "", "", "eu-west-1"},
		{"another 400", 400, "eu-west-1", "InvalidArgument", "", ""},
		{"a 403", 403, "eu-west-1", "AccessDenied", "", ""},
		// The endpoint is made of it: no host or path of the answer's choosing.
		{"a region that is no name", 301, "evil.example/x", "PermanentRedirect", "", ""},
		{"a region in the body that is no name", 400, "", "AuthorizationHeaderMalformed", "a.b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := S3BucketRegion(tt.status, tt.headerRegion, tt.code, tt.bodyRegion); got != tt.want {
				t.Errorf("S3BucketRegion = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestS3LocationInRegion: on AWS the endpoint follows the region; an
// S3-compatible endpoint stays.
func TestS3LocationInRegion(t *testing.T) {
	aws := S3Location{Bucket: "b", Region: "us-east-1", Endpoint: "https://s3.us-east-1.amazonaws.com"}.InRegion("eu-west-1")
	if aws.Region != "eu-west-1" || aws.Endpoint != "https://s3.eu-west-1.amazonaws.com" {
		t.Errorf("AWS: %+v", aws)
	}
	dual := S3Location{Bucket: "b", Region: "us-east-1", Endpoint: "https://s3.dualstack.us-east-1.amazonaws.com"}.InRegion("eu-west-1")
	if dual.Endpoint != "https://s3.dualstack.eu-west-1.amazonaws.com" {
		t.Errorf("dual-stack: %+v", dual)
	}
	own := S3Location{Bucket: "b", Region: "us-east-1", Endpoint: "http://127.0.0.1:9000", PathStyle: true}.InRegion("eu-west-1")
	if own.Region != "eu-west-1" || own.Endpoint != "http://127.0.0.1:9000" {
		t.Errorf("endpoint: %+v", own)
	}
}
