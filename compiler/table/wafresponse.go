package table

import (
	"net/textproto"
	"strconv"
	"strings"

	"openfront.dev/schema"
)

// A block's custom response (API_CustomResponse, API_CustomResponseBody,
// API_CustomHTTPHeader; developer guide
// customizing-the-response-for-blocked-requests): its status, the web
// ACL's body its key names, and its headers, which WAF sends under the
// names given (it prefixes x-amzn-waf- only to the headers it inserts
// into a request).

// WAFResponseBody is a custom response's body.
type WAFResponseBody struct {
	ContentType string // the MIME type of contentType
	Content     string
}

// WAFHeader is a custom header, its name as the response or request
// carries it.
type WAFHeader struct{ Name, Value string }

// wafContentTypes are contentType's MIME types.
var wafContentTypes = map[string]string{"TEXT_PLAIN": "text/plain", "TEXT_HTML": "text/html", "APPLICATION_JSON": "application/json"}

// customResponse sets a's body and headers from cr; bodies are the web
// ACL's customResponseBodies.
func (a *WAFAction) customResponse(cr *schema.WAFCustomResponse, bodies map[string]schema.WAFCustomResponseBody) {
	if b, ok := bodies[cr.CustomResponseBodyKey]; ok && cr.CustomResponseBodyKey != "" {
		a.Body = &WAFResponseBody{ContentType: wafContentTypes[b.ContentType], Content: b.Content}
	}
	for _, h := range cr.ResponseHeaders {
		a.Headers = append(a.Headers, WAFHeader{h.Name, h.Value})
	}
}

// DescribeResponse says what a block's custom response sends, for route:
// "429, application/json body (42 bytes), headers Retry-After".
func (a WAFAction) DescribeResponse() string {
	var parts []string
	if a.Body != nil {
		parts = append(parts, a.Body.ContentType+" body ("+strconv.Itoa(len(a.Body.Content))+" bytes)")
	}
	for _, h := range a.Headers {
		parts = append(parts, "header "+h.Name+": "+h.Value)
	}
	return strings.Join(parts, ", ")
}

// WAFInsertPrefix is what WAF puts before the name of a header it inserts
// into a request ("it prefixes this name x-amzn-waf-, to avoid confusion
// with the headers that are already in the request", API_CustomHTTPHeader).
const WAFInsertPrefix = "X-Amzn-Waf-"

// insertHeaders are c's headers as the origin request carries them:
// prefixed and canonical.
func insertHeaders(c *schema.WAFCustomRequestHandling) []WAFHeader {
	if c == nil {
		return nil
	}
	out := make([]WAFHeader, len(c.InsertHeaders))
	for i, h := range c.InsertHeaders {
		out[i] = WAFHeader{textproto.CanonicalMIMEHeaderKey(WAFInsertPrefix + h.Name), h.Value}
	}
	return out
}

// decided is the decision of rule (nil: the default action) with action,
// after count rules that inserted counts: a block inserts nothing (there
// is no origin request), an allow its own headers after theirs (a count
// action's custom request handling applies as the rule matches and
// evaluation goes on, API_CountAction). No allocation when no count rule
// inserted.
func decided(rule *WAFRule, action WAFAction, counts []WAFHeader) WAFDecision {
	d := WAFDecision{Rule: rule, Action: action}
	switch {
	case action.Kind == WAFBlock:
	case counts == nil:
		d.Insert = action.Insert
	default:
		d.Insert = append(counts, action.Insert...)
	}
	return d
}

// inserts reports whether any action of the web ACL inserts headers.
func (a *WebACL) inserts() bool {
	if a.Default.Insert != nil {
		return true
	}
	for _, r := range a.Rules {
		if r.Action.Insert != nil {
			return true
		}
	}
	return false
}

// describeInsert says what an allow or count inserts, for route.
func (a WAFAction) describeInsert() string {
	parts := make([]string, len(a.Insert))
	for i, h := range a.Insert {
		parts[i] = h.Name + ": " + h.Value
	}
	return "inserts " + strings.Join(parts, ", ")
}
