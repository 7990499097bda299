package edge

import (
	"net/http"
	"slices"
	"strings"

	"openfront.dev/compiler/table"
)

// addWAFHeaders adds a block's custom response headers, under the names
// given (WAF prefixes only the headers it inserts into requests,
// API_CustomHTTPHeader).
func addWAFHeaders(w http.ResponseWriter, a table.WAFAction) {
	for _, c := range a.Headers {
		w.Header().Add(c.Name, c.Value)
	}
}

// wafRespond answers a request a web ACL blocked with its custom response
// body. "If the AWS WAF Block action has a custom response enabled, the
// protected resource sends the configured custom response back to the
// client. Any response settings that you might have defined in the
// protected resource itself have no effect"
// (customizing-the-response-for-blocked-requests): the distribution's
// custom error page for the status does not replace the body. A custom
// response without a body gets openfront's short answer, never the page
// (wafCheck).
func (h *Handler) wafRespond(w http.ResponseWriter, r *http.Request, a table.WAFAction, reason string) {
	w.Header().Set("X-Openfront-Reason", reason)
	writeError(w, r, a.Status, a.Body.ContentType, a.Body.Content)
}

// wafInserts are the headers the web ACLs a request passed insert into
// the origin request (customRequestHandling on allow and count), and
// whether any of them inserts headers at all.
type wafInserts struct {
	headers []table.WAFHeader
	strip   bool
}

func (in *wafInserts) add(acl *table.WebACL, hs []table.WAFHeader) {
	in.strip = in.strip || acl.Inserts
	if in.headers == nil {
		// The table's own slice, read only: clipped, so that a second
		// web ACL's headers go in a copy, never into the table.
		in.headers = slices.Clip(hs)
		return
	}
	in.headers = append(in.headers, hs...)
}

// apply takes the viewer's own X-Amzn-Waf-* headers out of r when a web
// ACL inserts headers, after the rules inspected them: the origin must be
// able to trust what the web ACL inserts, and a viewer would otherwise
// send the header an allow rule inserts for the requests it lets through
// (WAF's docs do not say what it does with a viewer's). It returns the
// headers to insert, which the origin request gets through originArgs:
// nothing is allocated, and a request without a web ACL pays nothing.
func (in *wafInserts) apply(r *http.Request) []table.WAFHeader {
	if !in.strip {
		return nil
	}
	for k := range r.Header {
		if strings.HasPrefix(k, table.WAFInsertPrefix) {
			delete(r.Header, k)
		}
	}
	return in.headers
}

// setWAFInserts sets the headers the web ACLs inserted, hs, in the origin
// request's fwd, whatever the behavior forwards: WAF inserts them into the
// request CloudFront then handles.
func setWAFInserts(fwd http.Header, hs []table.WAFHeader) {
	for _, h := range hs {
		fwd[h.Name] = []string{h.Value}
	}
}
