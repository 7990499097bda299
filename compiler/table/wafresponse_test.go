package table

import (
	"slices"
	"testing"

	"openfront.dev/schema"
)

// The headers an evaluation inserts: the matching count rules', then the
// allow's (a rule's or the default's), prefixed x-amzn-waf-; a block
// inserts none. A block's custom response carries its body and headers.
func TestWAFInsertAndCustomResponse(t *testing.T) {
	insert := func(name, value string) *schema.WAFCustomRequestHandling {
		return &schema.WAFCustomRequestHandling{InsertHeaders: []schema.WAFCustomHTTPHeader{{Name: name, Value: value}}}
	}
	method := func(m string) schema.WAFStatement {
		return schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: m, PositionalConstraint: "EXACTLY", FieldToMatch: schema.WAFFieldToMatch{Method: &struct{}{}}, TextTransformations: tts("NONE")}}
	}
	acl, err := newWebACL("acl", &schema.WebACL{
		DefaultAction:        schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{CustomRequestHandling: insert("verdict", "default")}},
		CustomResponseBodies: map[string]schema.WAFCustomResponseBody{"json": {ContentType: "APPLICATION_JSON", Content: `{"no":1}`}},
		Rules: []schema.WAFRule{
			{Name: "count", Priority: 0, Action: &schema.WAFRuleAction{Count: &schema.WAFCountAction{CustomRequestHandling: insert("counted", "yes")}}, Statement: schema.WAFStatement{NotStatement: &schema.WAFNotStatement{Statement: method("HEAD")}}},
			{Name: "allow", Priority: 1, Action: &schema.WAFRuleAction{Allow: &schema.WAFAllowAction{CustomRequestHandling: insert("verdict", "allowed")}}, Statement: method("GET")},
			{Name: "block", Priority: 2, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{CustomResponse: &schema.WAFCustomResponse{
				ResponseCode: 418, CustomResponseBodyKey: "json", ResponseHeaders: []schema.WAFCustomHTTPHeader{{Name: "x-why", Value: "post"}}}}}, Statement: method("POST")},
		},
	}, &schema.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !acl.Inserts {
		t.Error("Inserts false")
	}
	for _, c := range []struct {
		method string
		want   []WAFHeader
	}{
		{"GET", []WAFHeader{{"X-Amzn-Waf-Counted", "yes"}, {"X-Amzn-Waf-Verdict", "allowed"}}},
		{"PUT", []WAFHeader{{"X-Amzn-Waf-Counted", "yes"}, {"X-Amzn-Waf-Verdict", "default"}}},
		{"HEAD", []WAFHeader{{"X-Amzn-Waf-Verdict", "default"}}},
		{"POST", nil},
	} {
		if got := acl.Evaluate(&WAFRequest{Method: c.method, Path: "/"}, nil, nil).Insert; !slices.Equal(got, c.want) {
			t.Errorf("%s: insert %v, want %v", c.method, got, c.want)
		}
	}
	a := acl.Evaluate(&WAFRequest{Method: "POST", Path: "/"}, nil, nil).Action
	if a.Status != 418 || a.Body == nil || *a.Body != (WAFResponseBody{"application/json", `{"no":1}`}) || !slices.Equal(a.Headers, []WAFHeader{{"x-why", "post"}}) {
		t.Errorf("block: %d %+v %v", a.Status, a.Body, a.Headers)
	}
}
