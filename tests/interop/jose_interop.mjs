// JOSE interop: credentials and KB-JWTs built by realdid_core (through sdjwt_tool) verify with `jose`
// (PS384 issuer JWS, ES256 KB-JWT), and JWSs signed by `jose` verify in realdid_core.
// Usage: node jose_interop.mjs <path of sdjwt_tool>
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from 'jose';

const tool = process.argv[2];
if (!tool) throw new Error('usage: node jose_interop.mjs <sdjwt_tool>');
const callRaw = (req) => JSON.parse(execFileSync(tool, { input: JSON.stringify(req) }).toString());
const call = (req) => {
  const res = callRaw(req);
  if (res.error) throw new Error(`sdjwt_tool ${req.cmd}: ${res.error}`);
  return res;
};
const b64u = (b) => Buffer.from(b).toString('base64url');
const now = Math.floor(Date.UTC(2026, 0, 15, 12) / 1000);
let passed = 0;

// 1. Issuer JWS (PS384, 3072-bit) verifies with jose.
const issued = call({ cmd: 'issue', bits: 3072, now });
const [issuerJwt] = issued.issued.split('~');
const issuerKey = await importJWK(issued.issuer_jwk, 'PS384');
const v = await compactVerify(issuerJwt, issuerKey, { algorithms: ['PS384'] });
assert.deepEqual(v.protectedHeader, { alg: 'PS384', kid: issued.kid, typ: 'dc+sd-jwt' });
const payload = JSON.parse(Buffer.from(v.payload).toString());
assert.equal(payload.vct, 'urn:realdid:resident:1');
assert.deepEqual(payload.cnf.jwk, issued.holder_jwk);
assert.equal(payload._sd.length, 5);
passed++;

// 2. KB-JWT (ES256 with the holder key) verifies with jose; sd_hash recomputed here.
const pres = call({ cmd: 'present', issued: issued.issued, holder_d: issued.holder_d, names: ['age_over_18'],
                    aud: 'https://rp.example', nonce: 'n-1', iat: now }).presentation;
const cut = pres.lastIndexOf('~') + 1;
const kb = await compactVerify(pres.slice(cut), await importJWK(payload.cnf.jwk, 'ES256'), { algorithms: ['ES256'] });
assert.deepEqual(kb.protectedHeader, { alg: 'ES256', typ: 'kb+jwt' });
const kbPayload = JSON.parse(Buffer.from(kb.payload).toString());
assert.equal(kbPayload.sd_hash, b64u(createHash('sha256').update(pres.slice(0, cut)).digest()));
assert.equal(kbPayload.aud, 'https://rp.example');
assert.equal(kbPayload.nonce, 'n-1');
passed++;

// 3. jose-signed PS384 and ES256 JWSs verify in realdid_core; a tampered one does not.
for (const alg of ['PS384', 'ES256']) {
  const { publicKey, privateKey } = await generateKeyPair(alg, alg === 'PS384' ? { modulusLength: 3072 } : {});
  const jws = await new CompactSign(Buffer.from('{"hello":"world"}')).setProtectedHeader({ alg }).sign(privateKey);
  const jwk = await exportJWK(publicKey);
  delete jwk.alg;
  assert.equal(call({ cmd: 'jws-verify', jws, jwk, alg }).payload, '{"hello":"world"}');
  const parts = jws.split('.');
  const bad = [parts[0], b64u('{"hello":"World"}'), parts[2]].join('.');
  assert.match(callRaw({ cmd: 'jws-verify', jws: bad, jwk, alg }).error, /invalid signature/);
  passed++;
}

// 4. A realdid_core ES256 JWS verifies with jose (raw r||s encoding).
const esjws = call({ cmd: 'jws-sign', d: issued.holder_d, payload: 'abc' }).jws;
await compactVerify(esjws, await importJWK(issued.holder_jwk, 'ES256'));
passed++;

console.log(`jose interop: ${passed} passed, 0 failed`);
