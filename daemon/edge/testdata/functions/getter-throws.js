// A returned object whose uri is a getter that throws.
function handler(event) {
    var r = event.request;
    return {
        method: r.method, headers: r.headers, querystring: r.querystring, cookies: r.cookies,
        get uri() { throw new Error("no uri"); }
    };
}
