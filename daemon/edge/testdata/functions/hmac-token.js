// A token signed with HMAC-SHA256 over its expiry and the URI, checked
// with the crypto and querystring modules: 403 on a bad signature.
import crypto from 'crypto';
import qs from 'querystring';
function handler(event) {
    var request = event.request;
    var q = qs.parse(request.querystring.token ? 'token=' + request.querystring.token.value : '');
    var parts = (q.token || '').split('.');
    var want = crypto.createHmac('sha256', 'secret').update(parts[0] + request.uri).digest('base64url');
    if (parts.length !== 2 || parts[1] !== want) {
        return {statusCode: 403, statusDescription: 'Forbidden'};
    }
    return request;
}
