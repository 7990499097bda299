// A viewer-response function that sets the body's framing headers.
function handler(event) {
    var r = event.response;
    r.headers['content-length'] = {value: '2'};
    r.headers['x-framed'] = {value: 'yes'};
    return r;
}
