// A returned object whose uri is a getter that never ends: reading it
// back is the function's run too, within its budget.
function handler(event) {
    var r = event.request;
    return {
        method: r.method, headers: r.headers, querystring: r.querystring, cookies: r.cookies,
        get uri() { while (true) {} }
    };
}
