// A push service stand-in for the e2e run (Chromium cannot reach a real one here): it hands out
// subscriptions (a P-256 key pair and auth secret per browser, as a browser's push service and
// user agent would hold them), takes the notification service's pushes on POST /push/<id>,
// checks their VAPID token (RFC 8292) against the `k=` key, decrypts the aes128gcm body as the
// browser would (RFC 8291, RFC 8188), and lists what arrived at GET /messages.
//
//   PORT=3596 node e2e/push-service.mjs
import { createServer } from "node:http";
import crypto from "node:crypto";

const port = Number(process.env.PORT || 3596);
const base = `http://127.0.0.1:${port}`;
const subscribers = new Map();
const messages = [];
const refused = [];

const b64u = (buf) => Buffer.from(buf).toString("base64url");

function newSubscription() {
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = crypto.randomBytes(16);
  const id = crypto.randomUUID();
  subscribers.set(id, { ecdh, auth, publicKey: ecdh.getPublicKey() });
  return { endpoint: `${base}/push/${id}`, expirationTime: null, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
}

function checkVapid(header) {
  const match = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(header || "");
  if (!match) throw new Error("no vapid t=…, k=… Authorization");
  const [, token, k] = match;
  const point = Buffer.from(k, "base64url");
  if (point.length !== 65 || point[0] !== 4) throw new Error("k is not an uncompressed P-256 point");
  const key = crypto.createPublicKey({
    key: { kty: "EC", crv: "P-256", x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) },
    format: "jwk",
  });
  const [h, p, s] = token.split(".");
  const header_ = JSON.parse(Buffer.from(h, "base64url"));
  if (header_.alg !== "ES256") throw new Error(`alg ${header_.alg}`);
  const ok = crypto.verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
  if (!ok) throw new Error("bad VAPID signature");
  const claims = JSON.parse(Buffer.from(p, "base64url"));
  if (claims.aud !== base) throw new Error(`aud ${claims.aud}`);
  const now = Math.floor(Date.now() / 1000);
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) throw new Error("exp");
  if (!/^(mailto|https):/.test(claims.sub || "")) throw new Error("sub");
}

function decrypt(body, { ecdh, auth, publicKey }) {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const shared = ecdh.computeSecret(asPublic);
  const info = Buffer.concat([Buffer.from("WebPush: info\0"), publicKey, asPublic]);
  const ikm = Buffer.from(crypto.hkdfSync("sha256", shared, auth, info, 32));
  const cek = Buffer.from(crypto.hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(crypto.hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = crypto.createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then padding zeros.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter");
  return JSON.parse(padded.subarray(0, end).toString("utf8"));
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const answer = (status, json) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(json === undefined ? "" : JSON.stringify(json));
    };
    if (req.method === "GET" && req.url === "/healthz") return answer(200, { ok: true });
    if (req.method === "POST" && req.url === "/subscriptions") return answer(201, newSubscription());
    if (req.method === "GET" && req.url === "/messages") return answer(200, { messages, refused });
    const push = /^\/push\/([0-9a-f-]+)$/.exec(req.url || "");
    if (req.method === "POST" && push) {
      const subscriber = subscribers.get(push[1]);
      if (!subscriber) return answer(410);
      try {
        checkVapid(req.headers.authorization);
        if (req.headers["content-encoding"] !== "aes128gcm" || !req.headers.ttl) throw new Error("not aes128gcm with a TTL");
        messages.push({ endpoint: `${base}/push/${push[1]}`, payload: decrypt(body, subscriber), topic: req.headers.topic ?? null });
        return answer(201);
      } catch (e) {
        refused.push(String(e.message || e));
        return answer(400, { error: String(e.message || e) });
      }
    }
    answer(404, { error: "no such route" });
  });
});
server.listen(port, "127.0.0.1", () => console.log(`push service stand-in on ${base}`));
