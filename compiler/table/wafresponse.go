package table

import (
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
