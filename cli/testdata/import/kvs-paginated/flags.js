import cf from 'cloudfront';
async function handler(event) {
    var request = event.request;
    request.headers['x-flag'] = {value: await cf.kvs().get('flag')};
    return request;
}
