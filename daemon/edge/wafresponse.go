package edge

import (
	"net/http"

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
// custom error page for the status does not replace the body. A block
// without a body keeps openfront's answer (the page for a 403).
func (h *Handler) wafRespond(w http.ResponseWriter, r *http.Request, a table.WAFAction, reason string) {
	w.Header().Set("X-Openfront-Reason", reason)
	writeError(w, r, a.Status, a.Body.ContentType, a.Body.Content)
}
