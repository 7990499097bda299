package table

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"openfront.dev/schema"
)

func TestRateCustomKeys(t *testing.T) {
	none := []schema.TextTransformation{{Priority: 0, Type: "NONE"}}
	lower := []schema.TextTransformation{{Priority: 0, Type: "LOWERCASE"}}
	apiKey := schema.RateCustomKey{Header: &schema.RateKeyNamed{Name: "x-api-key", TextTransformations: none}}
	method := schema.RateCustomKey{HTTPMethod: &struct{}{}}
	for _, c := range []struct {
		name    string
		keys    []schema.RateCustomKey
		fwd     *schema.ForwardedIPConfig
		req     WAFRequest
		want    []string // the keys counted under, nil: not counted
		fbMatch bool     // forwardedIP's fallback matched
	}{
		{"header", []schema.RateCustomKey{apiKey},
			nil, WAFRequest{Method: "GET", Header: http.Header{"X-Api-Key": {"k1"}}}, []string{"2:k1"}, false},
		{"a missing header is not counted", []schema.RateCustomKey{apiKey, method},
			nil, WAFRequest{Method: "GET", Header: http.Header{}}, nil, false},
		{"header and method combine", []schema.RateCustomKey{apiKey, method},
			nil, WAFRequest{Method: "POST", Header: http.Header{"X-Api-Key": {"k1"}}}, []string{"2:k14:POST"}, false},
		{"cookie, transformed", []schema.RateCustomKey{{Cookie: &schema.RateKeyNamed{Name: "session", TextTransformations: lower}}},
			nil, WAFRequest{Header: http.Header{"Cookie": {"a=1; session=ABC"}}}, []string{"3:abc"}, false},
		{"a missing cookie", []schema.RateCustomKey{{Cookie: &schema.RateKeyNamed{Name: "session", TextTransformations: none}}},
			nil, WAFRequest{Header: http.Header{"Cookie": {"a=1"}}}, nil, false},
		{"query argument", []schema.RateCustomKey{{QueryArgument: &schema.RateKeyNamed{Name: "token", TextTransformations: none}}},
			nil, WAFRequest{RawQuery: "a=1&TOKEN=t9"}, []string{"2:t9"}, false},
		{"an empty query string is missing", []schema.RateCustomKey{{QueryString: &schema.RateKeyTransform{TextTransformations: none}}},
			nil, WAFRequest{RawQuery: ""}, nil, false},
		{"path and IP", []schema.RateCustomKey{{URIPath: &schema.RateKeyTransform{TextTransformations: lower}}, {IP: &struct{}{}}},
			nil, WAFRequest{Path: "/API/x", Client: netip.MustParseAddr("192.0.2.1")}, []string{"6:/api/x9:192.0.2.1"}, false},
		{"forwarded IP", []schema.RateCustomKey{{ForwardedIP: &struct{}{}}, method},
			&schema.ForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "NO_MATCH"},
			WAFRequest{Method: "GET", Header: http.Header{"X-Forwarded-For": {"192.0.2.9, 10.0.0.1"}}}, []string{"9:192.0.2.93:GET"}, false},
		{"forwarded IP without the header", []schema.RateCustomKey{{ForwardedIP: &struct{}{}}, method},
			&schema.ForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "MATCH"},
			WAFRequest{Method: "GET", Header: http.Header{}}, nil, false},
		{"forwarded IP invalid: the fallback", []schema.RateCustomKey{{ForwardedIP: &struct{}{}}, method},
			&schema.ForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "MATCH"},
			WAFRequest{Method: "GET", Header: http.Header{"X-Forwarded-For": {"bogus"}}}, nil, true},
		{"each label in the namespace", []schema.RateCustomKey{{LabelNamespace: &schema.RateKeyLabel{Namespace: "tier:"}}},
			nil, WAFRequest{Labels: []string{"awswaf:000000000000:webacl:acl:tier:gold", "awswaf:000000000000:webacl:acl:other:x", "awswaf:000000000000:webacl:acl:tier:beta"}},
			[]string{"40:awswaf:000000000000:webacl:acl:tier:gold", "40:awswaf:000000000000:webacl:acl:tier:beta"}, false},
		{"no label in the namespace", []schema.RateCustomKey{{LabelNamespace: &schema.RateKeyLabel{Namespace: "tier:"}}},
			nil, WAFRequest{Labels: []string{"awswaf:000000000000:webacl:acl:other:x"}}, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := compileRule(t, schema.WAFStatement{RateBasedStatement: &schema.RateBasedStatement{Limit: 10, EvaluationWindowSec: 60,
				AggregateKeyType: "CUSTOM_KEYS", CustomKeys: c.keys, ForwardedIPConfig: c.fwd}})
			rule := a.Rules[0]
			var got []string
			matched := rule.matches(&c.req, func(r *WAFRule, k WAFRateKey) bool {
				if k.Addr.IsValid() {
					t.Errorf("custom key with an address %v", k.Addr)
				}
				got = append(got, k.Custom)
				return false
			})
			if !slices.Equal(got, c.want) {
				t.Errorf("counted under %q, want %q", got, c.want)
			}
			if matched != c.fbMatch {
				t.Errorf("matched %v, want %v", matched, c.fbMatch)
			}
		})
	}
}

// A rate rule keyed on a header blocks one API key past its limit while
// another is served, and describes itself so.
func TestRateCustomKeysOver(t *testing.T) {
	a := compileRule(t, schema.WAFStatement{RateBasedStatement: &schema.RateBasedStatement{Limit: 10, EvaluationWindowSec: 60,
		AggregateKeyType: "CUSTOM_KEYS", CustomKeys: []schema.RateCustomKey{{Header: &schema.RateKeyNamed{Name: "X-Api-Key",
			TextTransformations: []schema.TextTransformation{{Type: "NONE"}}}}}}})
	counts := map[WAFRateKey]int{}
	over := func(r *WAFRule, k WAFRateKey) bool { counts[k]++; return counts[k] > 2 }
	get := func(key string) WAFActionKind {
		return a.Evaluate(&WAFRequest{Method: "GET", Path: "/", Header: http.Header{"X-Api-Key": {key}}}, over, nil).Action.Kind
	}
	get("k1")
	get("k1")
	if got := get("k1"); got != WAFBlock {
		t.Errorf("k1 over its limit: %v, want block", got)
	}
	if got := get("k2"); got != WAFAllow {
		t.Errorf("k2: %v, want allow", got)
	}
	if d, want := a.Rules[0].Rate.Describe(), "limit 10 per 60 s per header X-Api-Key"; d != want {
		t.Errorf("Describe %q, want %q", d, want)
	}
	_, why := a.Rules[0].Explain(&WAFRequest{Method: "GET", Header: http.Header{"X-Api-Key": {"k1"}}})
	if want := `counted under header X-Api-Key "k1", limit 10 per 60 s per header X-Api-Key (route takes it as under the limit)`; why != want {
		t.Errorf("Explain %q, want %q", why, want)
	}
}

// A request whose path normalizes to another is counted once, under the
// key of the path as sent, though Evaluate inspects both spellings.
func TestRateCustomKeyCountedOnce(t *testing.T) {
	a := compileRule(t, schema.WAFStatement{RateBasedStatement: &schema.RateBasedStatement{Limit: 10, EvaluationWindowSec: 60,
		AggregateKeyType: "CUSTOM_KEYS", CustomKeys: []schema.RateCustomKey{{URIPath: &schema.RateKeyTransform{
			TextTransformations: []schema.TextTransformation{{Type: "NONE"}}}}, {HTTPMethod: &struct{}{}}}}})
	var got []string
	a.Evaluate(&WAFRequest{Method: "GET", Path: "/x/../admin"}, func(r *WAFRule, k WAFRateKey) bool {
		got = append(got, k.Custom)
		return false
	}, nil)
	if want := []string{"11:/x/../admin3:GET"}; !slices.Equal(got, want) {
		t.Errorf("counted under %q, want %q", got, want)
	}
}
