// A credential issued end to end (realdid wallet issue) verifies with `jose` (PS384) against the
// published key set, and its disclosures hash to the _sd digests.
// Usage: node wallet_jose.mjs <wallet.json> <jwks.json>   (run through run_interop.sh)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';

const [walletPath, jwksPath] = process.argv.slice(2);
if (!walletPath || !jwksPath) throw new Error('usage: node wallet_jose.mjs <wallet.json> <jwks.json>');
const wallet = JSON.parse(readFileSync(walletPath, 'utf8'));
const jwks = JSON.parse(readFileSync(jwksPath, 'utf8'));
const parts = wallet.credential.split('~');
const issuerJwt = parts[0];
const disclosures = parts.slice(1, -1);
const header = JSON.parse(Buffer.from(issuerJwt.split('.')[0], 'base64url').toString());
const jwk = jwks.keys.find((k) => k.kid === header.kid);
assert.ok(jwk, 'kid not in the published key set');
const { kty, n, e } = jwk;
const key = await importJWK({ kty, n, e }, 'PS384');
const v = await compactVerify(issuerJwt, key, { algorithms: ['PS384'] });
assert.deepEqual(v.protectedHeader, { alg: 'PS384', kid: header.kid, typ: 'dc+sd-jwt' });
const payload = JSON.parse(Buffer.from(v.payload).toString());
assert.equal(payload.vct, 'urn:realdid:resident:1');
assert.equal(payload._sd_alg, 'sha-256');
assert.equal(disclosures.length, 5);
const digests = disclosures.map((d) => createHash('sha256').update(d).digest('base64url')).sort();
assert.deepEqual(digests, [...payload._sd].sort());
const { d, ...pub } = wallet.holder_jwk;
assert.deepEqual(payload.cnf.jwk, pub);
// A flipped signature bit is refused.
const bad = issuerJwt.slice(0, -2) + (issuerJwt.endsWith('A') ? 'B' : 'A') + issuerJwt.slice(-1);
await assert.rejects(compactVerify(bad, key, { algorithms: ['PS384'] }));
console.log('wallet_jose: ok');
