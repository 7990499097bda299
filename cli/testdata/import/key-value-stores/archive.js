import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    var request = event.request;
    if (await kvs.exists(request.uri)) {
        request.uri = await kvs.get(request.uri);
    }
    return request;
}
