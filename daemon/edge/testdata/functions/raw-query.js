// Answers with the viewer's query string as rawQueryString() gives it:
// unparsed, "" for a "?" alone, undefined without one.
function handler(event) {
    var q = event.request.rawQueryString();
    return {
        statusCode: 200,
        statusDescription: 'OK',
        body: q === undefined ? 'no query' : 'query [' + q + ']',
    };
}
