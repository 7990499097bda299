// Sets a header CloudFront keeps for itself: FunctionValidationError.
function handler(event) {
    var response = event.response;
    response.headers['x-cache'] = {value: 'mine'};
    return response;
}
