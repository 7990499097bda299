// AWS's "Redirect the viewer to a new URL" (a 302 to the new location).
function handler(event) {
    var request = event.request;
    var host = request.headers.host.value;
    var newurl = `https://${host}/de/index.html`;

    var response = {
        statusCode: 302,
        statusDescription: 'Found',
        headers:
            { "location": { "value": newurl } }
        }

    return response;
}
