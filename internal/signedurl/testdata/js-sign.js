// Makes js-signed.json with AWS's JavaScript signer, so the Go tests check
// what it produces without needing node. To regenerate:
//
//	npm install @aws-sdk/cloudfront-signer
//	node js-sign.js > js-signed.json
//
// js-signer-key.pem is a throwaway key made for this test only.
const fs = require("fs");
const path = require("path");
const { getSignedUrl, getSignedCookies } = require("@aws-sdk/cloudfront-signer");

const privateKey = fs.readFileSync(path.join(__dirname, "js-signer-key.pem"), "utf8");
const keyPairId = "KJS";
const host = "https://cdn.example.com";
const expires = "2036-01-01T00:00:00Z";
const cookieLine = (c) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join("; ");

const cases = [];
const url = (name, args, request) => {
  const u = getSignedUrl({ keyPairId, privateKey, dateLessThan: expires, ...args });
  cases.push({ name, url: request ? request(u) : u });
};
const cookies = (name, request, args) => {
  cases.push({ name, url: request, cookie: cookieLine(getSignedCookies({ keyPairId, privateKey, dateLessThan: expires, ...args })) });
};

url("js canned url", { url: host + "/private/a.jpg?x=1&y=two" });
url("js canned url sha256", { url: host + "/private/a.jpg", algorithm: "SHA256" });
url("js canned url, encoded path", { url: host + "/caf%C3%A9/a%20b.jpg" });
url("js custom url, ip and start", { url: host + "/private/a.jpg", ipAddress: "198.51.100.0/24", dateGreaterThan: "2020-01-01T00:00:00Z" });
url("js custom url, wildcard policy", {
  url: host + "/live/index.m3u8",
  policy: JSON.stringify({ Statement: [{ Resource: host + "/live/*", Condition: { DateLessThan: { "AWS:EpochTime": Date.parse(expires) / 1000 } } }] }),
}, (u) => u.replace("/live/index.m3u8", "/live/720p/seg7.ts"));
url("js custom url sha256", {
  url: host + "/v/x.mp4",
  algorithm: "SHA256",
  policy: JSON.stringify({ Statement: [{ Resource: host + "/v/*", Condition: { DateLessThan: { "AWS:EpochTime": Date.parse(expires) / 1000 } } }] }),
});
cookies("js canned cookies (CloudFront-Expires)", host + "/private/a.jpg", { url: host + "/private/a.jpg" });
cookies("js canned cookies sha256", host + "/private/a.jpg", { url: host + "/private/a.jpg", algorithm: "SHA256" });
cookies("js custom cookies", host + "/members/b.mp4", {
  policy: JSON.stringify({ Statement: [{ Resource: host + "/members/*", Condition: { DateLessThan: { "AWS:EpochTime": Date.parse(expires) / 1000 }, IpAddress: { "AWS:SourceIp": "198.51.100.7/32" } } }] }),
});
process.stdout.write(JSON.stringify({ keyPairId, cases }, null, 1) + "\n");
