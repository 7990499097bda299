// A cloudfront-js-1.0 viewer-request function that admits a request with
// an HS256 JWT in its token query parameter, as 1.0 functions check one:
// String.bytesFrom decodes the base64url parts (1.0 has no Buffer or
// atob), and the key is bytes given in hex.
var crypto = require('crypto');
var key = String.bytesFrom('6f70656e66726f6e74ff00', 'hex');

function denied(why) {
    return { statusCode: 401, statusDescription: 'Unauthorized', body: why };
}

function handler(event) {
    var token = event.request.querystring.token;
    if (!token) {
        return denied('no token');
    }
    var parts = token.value.split('.');
    if (parts.length !== 3) {
        return denied('malformed');
    }
    var header = JSON.parse(String.bytesFrom(parts[0], 'base64url'));
    if (header.alg !== 'HS256') {
        return denied('alg');
    }
    var mac = crypto.createHmac('sha256', key).update(parts[0] + '.' + parts[1]).digest('base64url');
    if (mac !== parts[2]) {
        return denied('signature');
    }
    var claims = JSON.parse(String.bytesFrom(parts[1], 'base64url').fromUTF8());
    if (claims.exp * 1000 < Date.now()) {
        return denied('expired');
    }
    event.request.headers['x-user'] = { value: claims.sub };
    delete event.request.querystring.token;
    return event.request;
}
