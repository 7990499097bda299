import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    var request = event.request;
    if (!(await kvs.exists(request.uri))) {
        return request;
    }
    return {statusCode: 301, statusDescription: 'Moved Permanently',
            headers: {location: {value: await kvs.get(request.uri)}}};
}
