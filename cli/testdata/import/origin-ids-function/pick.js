import cf from 'cloudfront';

function handler(event) {
    if (event.request.uri.startsWith('/images/')) {
        cf.selectRequestOriginById('S3-media-example/images');
    }
    return event.request;
}
