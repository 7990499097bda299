// A viewer-response function that replaces the body, or drops it (?drop).
function handler(event) {
    var response = event.response;
    if (event.request.querystring.drop) {
        response.body = '';
    } else {
        response.body = {encoding: 'text', data: 'replaced'};
    }
    response.headers['content-type'] = {value: 'text/plain'};
    return response;
}
