// A cloudfront-js-2.0 async handler: its promise is awaited.
async function lookup(name) {
    return 'v-' + name;
}

async function handler(event) {
    var request = event.request;
    request.headers['x-looked-up'] = {value: await lookup(event.context.eventType)};
    return request;
}
