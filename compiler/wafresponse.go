package compiler

import (
	"net/textproto"
	"slices"

	"cuelang.org/go/cue"

	"openfront.dev/schema"
)

// customResponse checks a block's custom response as WAF does
// (API_CustomResponse): its body key names one of the web ACL's
// customResponseBodies, and its headers are "any header name except for
// content-type" (customizing-the-response-for-blocked-requests), each
// once ("Duplicate header names are not allowed").
func (k *checker) customResponse(key string, at func(...any) []cue.Selector, where string, cr *schema.WAFCustomResponse, bodies map[string]schema.WAFCustomResponseBody) {
	if b := cr.CustomResponseBodyKey; b != "" {
		if _, ok := bodies[b]; !ok {
			k.add(key, at("customResponseBodyKey"), "%s: unknown customResponseBodyKey %q%s", where, b, nameHint(b, sortedKeys(bodies), "a key of the "+bodiesOwner(key)+"'s customResponseBodies"))
		}
	}
	k.customHeaders(key, func(parts ...any) []cue.Selector { return at(append([]any{"responseHeaders"}, parts...)...) }, where+": responseHeaders", cr.ResponseHeaders, "Content-Type")
}

// customHeaders checks custom headers' names: each once, their case
// aside, and none of refused (canonical).
func (k *checker) customHeaders(key string, at func(...any) []cue.Selector, where string, hs []schema.WAFCustomHTTPHeader, refused ...string) {
	var seen []string
	for i, h := range hs {
		name := textproto.CanonicalMIMEHeaderKey(h.Name)
		switch {
		case slices.Contains(refused, name):
			k.add(key, at(i, "name"), "%s: %s is not a header WAF lets you set", where, h.Name)
		case slices.Contains(seen, name):
			k.add(key, at(i, "name"), "%s: %s is given twice; WAF takes each name once", where, h.Name)
		}
		seen = append(seen, name)
	}
}

// requestHandling checks an allow or count action's insertHeaders
// (API_CustomRequestHandling): each name once.
func (k *checker) requestHandling(key string, at func(...any) []cue.Selector, where string, c *schema.WAFCustomRequestHandling) {
	if c != nil {
		k.customHeaders(key, func(parts ...any) []cue.Selector {
			return at(append([]any{"customRequestHandling", "insertHeaders"}, parts...)...)
		}, where+": insertHeaders", c.InsertHeaders)
	}
}
