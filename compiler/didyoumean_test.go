package compiler

import "testing"

// TestFieldHint walks error paths as CUE reports them, below #Config: the
// hint is for the first element the schema does not allow, which CUE may
// report below the misspelt field (alias[0], distribution.x), through
// pattern keys and list elements of any index.
func TestFieldHint(t *testing.T) {
	def, err := New(t.TempDir()).newEvaluator().configDef()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"distribution", "x"}, "; did you mean distributions?"},
		{[]string{"distributions", "site", "alias", "0"}, "; did you mean aliases?"},
		{[]string{"distributions", "site", "origins", "7", "customOriginConfig", "HTTPSPort"}, "; did you mean httpsPort?"},
		{[]string{"distributions", "site", "originGroups", "0", "members", "1", "originID"}, "; did you mean originId?"},
		{[]string{"distributions", "site", "defaultCacheBehavior", "defautlTTL"}, "; did you mean defaultTTL?"}, // transposed
		{[]string{"distributions", "site", "cacheBehaviors", "24", "TargetOriginId"}, "; did you mean targetOriginId?"},
		{[]string{"distributions", "site", "restrictions", "geoRestriction", "Quantity"}, "; openfront drops CloudFront's Quantity fields: a list's length is its quantity"},
		// CloudFront's field-level encryption, which openfront lacks: the
		// refusal says the fields would reach the origin in clear, in either case.
		{[]string{"distributions", "site", "defaultCacheBehavior", "fieldLevelEncryptionId"}, "; openfront has no field-level encryption: the fields CloudFront encrypted at the edge reach the origin as the viewer sent them"},
		{[]string{"distributions", "site", "cacheBehaviors", "3", "FieldLevelEncryptionId"}, "; openfront has no field-level encryption: the fields CloudFront encrypted at the edge reach the origin as the viewer sent them"},
		{[]string{"distributions", "site", "defaultCacheBehavior", "lambdaFunctionAssociations"}, "; openfront runs no Lambda@Edge: what those functions checked or changed is not done (functionAssociations run CloudFront Functions)"},
		{[]string{"distributions", "site", "cacheBehaviors", "0", "RealtimeLogConfigArn"}, "; openfront has no real-time logs: logging writes standard access logs"},
		// CloudFront's certificate stores and S3 origin access, pasted: the
		// refusal says what openfront does instead, as deleting the line
		// would serve the node's default certificate, or leave the bucket's
		// requests unsigned to an eye that expects CloudFront's access.
		{[]string{"distributions", "site", "viewerCertificate", "acmCertificateArn"}, "; openfront serves certificates from the node, not ACM or IAM: certificateName NAME serves NAME.crt and NAME.key of serve --certs (without it, the node's default certificate)"},
		{[]string{"distributions", "site", "viewerCertificate", "IAMCertificateId"}, "; openfront serves certificates from the node, not ACM or IAM: certificateName NAME serves NAME.crt and NAME.key of serve --certs (without it, the node's default certificate)"},
		{[]string{"distributions", "site", "viewerCertificate", "Certificate"}, "; openfront serves certificates from the node, not ACM or IAM: certificateName NAME serves NAME.crt and NAME.key of serve --certs (without it, the node's default certificate)"},
		{[]string{"distributions", "site", "viewerCertificate", "certificateSource"}, "; openfront serves certificates from the node, not ACM or IAM: certificateName NAME serves NAME.crt and NAME.key of serve --certs (without it, the node's default certificate)"},
		{[]string{"distributions", "site", "origins", "0", "originAccessControlId"}, "; openfront signs requests to an S3 bucket with the node's own AWS credentials (s3OriginConfig.signRequests, true by default): grant them s3:GetObject"},
		{[]string{"distributions", "site", "origins", "1", "s3OriginConfig", "OriginAccessIdentity"}, "; openfront signs requests to an S3 bucket with the node's own AWS credentials (s3OriginConfig.signRequests, true by default): grant them s3:GetObject"},
		{[]string{"cachePolicies", "short", "parametersInCacheKeyAndForwardedToOrigin", "headersConfig", "headerBehaviour"}, "; did you mean headerBehavior?"},
		// A field of the place one level down (a list's entries too), of
		// the place one level up, or of its other fields, is named there.
		{[]string{"distributions", "site", "defaultTTL"}, "; defaultTTL belongs in defaultCacheBehavior (or a cacheBehaviors entry)"},
		{[]string{"distributions", "site", "DefaultTTL"}, "; defaultTTL belongs in defaultCacheBehavior (or a cacheBehaviors entry)"},
		{[]string{"distributions", "site", "defaultCacheBehavior", "pathPattern"}, "; pathPattern belongs in a cacheBehaviors entry"},
		{[]string{"distributions", "site", "origins", "0", "aliases"}, "; aliases belongs in distributions.site"},
		{[]string{"distributions", "site", "origins", "2", "httpPort"}, "; httpPort belongs in customOriginConfig"},
		// A key refused by a pattern ([#ID]) has no name to suggest.
		{[]string{"distributions", `"my site"`}, ""},
		{[]string{"distributions", "site", "defaultCacheBehavior", "zzz"}, ""},
		{[]string{"distributions", "site", "defaultCacheBehavior", "ttl"}, ""},
		// The user's own definitions are not the schema's.
		{[]string{"#defaults", "defaultTLL"}, ""},
		// Allowed all along: nothing to say.
		{[]string{"distributions", "site", "comment"}, ""},
	} {
		if got := fieldHint(def, tc.path); got != tc.want {
			t.Errorf("fieldHint(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"ttl", "", 3},
		{"defaultttl", "defaultttl", 0},
		{"defaulttll", "defaultttl", 1}, // transposition
		{"distribution", "distributions", 1},
		{"viewerprotocolpolcy", "viewerprotocolpolicy", 1},
		{"originrequestpolicy", "originrequestpolicies", 3},
		{"zzz", "comment", 7},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestNameHint: a reference to a name the config lacks gets the nearest
// one there is, and none when two are as near ("api-v3" is as near to
// "api-v1" as to "api-v2": suggesting the first may send traffic to the
// wrong origin).
func TestNameHint(t *testing.T) {
	for _, tc := range []struct {
		typed string
		names []string
		want  string
	}{
		{"wbe", []string{"api", "web"}, `: did you mean "web"? (ids)`},
		{"api-v3", []string{"api-v1", "api-v2"}, ": name ids"},
		{"api-v3", []string{"api-v1", "web"}, `: did you mean "api-v1"? (ids)`},
		{"zzzzzz", []string{"api", "web"}, ": name ids"},
	} {
		if got := nameHint(tc.typed, tc.names, "ids"); got != tc.want {
			t.Errorf("nameHint(%q, %q) = %q, want %q", tc.typed, tc.names, got, tc.want)
		}
	}
}
