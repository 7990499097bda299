import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    var request = event.request;
    request.uri = '/' + (await kvs.get('variant')) + request.uri;
    return request;
}
