// Answers with what cf.edgeLocation tells of the node that ran it.
import cf from 'cloudfront';

function handler(event) {
    var l = cf.edgeLocation;
    return { statusCode: 200, statusDescription: 'OK', body: 'edge ' + l.name + ' ' + l.serverIp + ' ' + l.region };
}
