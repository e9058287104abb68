// Privacy Pass interop: @cloudflare/privacypass-ts 0.9.0 as the CLIENT against the running
// realdid-authority (RFC 9578 token type 0x0002, single and generic batch), its Origin verifying
// every token; and the other direction: tokens that `realdid token fetch` obtained verify with its
// Origin, and tokens it obtained pass `realdid token redeem`.
// Usage (run by tests/e2e/privacypass_e2e_test.cc through run_interop.sh, with
// NODE_EXTRA_CA_CERTS naming the stack's CA):
//   node privacypass_interop.mjs <authority URL> <realdid CLI> <wallet.json> <ca.pem> <scratch dir>
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  genericBatched,
  publicVerif,
  Token,
  TOKEN_TYPES,
  PRIVATE_TOKEN_ISSUER_DIRECTORY,
  MediaType,
} from '@cloudflare/privacypass-ts';

const [authority, cli, wallet, ca, scratch] = process.argv.slice(2);
if (!scratch) throw new Error('usage: node privacypass_interop.mjs <url> <cli> <wallet> <ca> <dir>');
const { BlindRSAMode, Origin, Client, convertRSASSAPSSToEnc } = publicVerif;
const issuerName = new URL(authority).host;
const b64u = (u8) => Buffer.from(u8).toString('base64url');
let checks = 0;

// The directory (RFC 9578 4), its token key as the SPKI privacypass-ts expects.
const dirRes = await fetch(authority + PRIVATE_TOKEN_ISSUER_DIRECTORY);
assert.equal(dirRes.status, 200);
assert.equal(dirRes.headers.get('content-type'), MediaType.PRIVATE_TOKEN_ISSUER_DIRECTORY);
const directory = await dirRes.json();
const issuerUrl = directory['issuer-request-uri'];
assert.equal(directory['token-keys'].length, 1);
assert.equal(directory['token-keys'][0]['token-type'], 2);
const spki = new Uint8Array(Buffer.from(directory['token-keys'][0]['token-key'], 'base64url'));
const verifyKey = await webcrypto.subtle.importKey(
  'spki', convertRSASSAPSSToEnc(spki), { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['verify']);
const dirFile = join(scratch, 'ts-directory.json');
writeFileSync(dirFile, JSON.stringify(directory));

const origin = new Origin(BlindRSAMode.PSS, ['rp.example']);
const challenge = origin.createTokenChallenge(issuerName, new Uint8Array(randomBytes(32)));
const challengeB64 = b64u(challenge.serialize());

function attestation(body) {
  const f = join(scratch, 'ts-body.bin');
  writeFileSync(f, body);
  return execFileSync(cli, ['token', 'attest', '--wallet', wallet, '--body-file', f])
    .toString().trim();
}

async function post(body, type) {
  return fetch(issuerUrl, {
    method: 'POST',
    headers: { 'Content-Type': type, 'RealDID-Attestation': attestation(body) },
    body,
  });
}

function redeemWithCli(token) {
  execFileSync(cli, ['token', 'redeem', '--directory', dirFile, '--token', b64u(token.serialize()),
                     '--challenge', challengeB64]);
}

// (1) One token: privacypass-ts blinds, the authority signs, privacypass-ts finalizes; its Origin
// and our redeemer both accept the token; a one-bit change is refused.
{
  const client = new Client(BlindRSAMode.PSS);
  const req = await client.createTokenRequest(challenge, spki);
  const res = await post(req.serialize(), MediaType.PRIVATE_TOKEN_REQUEST);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), MediaType.PRIVATE_TOKEN_RESPONSE);
  const token = await client.finalize(
    client.deserializeTokenResponse(new Uint8Array(await res.arrayBuffer())));
  assert.equal(await origin.verify(token, verifyKey), true);
  redeemWithCli(token);
  const bad = Token.deserialize(TOKEN_TYPES.BLIND_RSA, token.serialize());
  bad.authenticator[10] ^= 1;
  assert.equal(await origin.verify(bad, verifyKey), false);
  checks += 3;
}

// (2) A generic batch of 4 (draft-ietf-privacypass-batched-tokens as privacypass-ts implements it).
{
  const clients = [];
  const requests = [];
  for (let i = 0; i < 4; i++) {
    const c = new Client(BlindRSAMode.PSS);
    requests.push(new genericBatched.TokenRequest(await c.createTokenRequest(challenge, spki)));
    clients.push(c);
  }
  const batch = new genericBatched.Client().createTokenRequest(requests);
  const res = await post(batch.serialize(), MediaType.GENERIC_BATCHED_TOKEN_REQUEST);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), MediaType.GENERIC_BATCHED_TOKEN_RESPONSE);
  const responses = new genericBatched.Client().deserializeTokenResponse(
    new Uint8Array(await res.arrayBuffer()));
  let i = 0;
  for (const r of responses) {
    assert.notEqual(r.tokenResponse, null);
    const token = await clients[i].finalize(r.tokenResponse);
    assert.equal(await origin.verify(token, verifyKey), true);
    redeemWithCli(token);
    i++;
    checks += 2;
  }
  assert.equal(i, 4);
}

// (3) The refusals privacypass-ts would see: a request without attestation is 401, a wrong media
// type 415, another token type 422.
{
  const client = new Client(BlindRSAMode.PSS);
  const body = (await client.createTokenRequest(challenge, spki)).serialize();
  let res = await fetch(issuerUrl, {
    method: 'POST', headers: { 'Content-Type': MediaType.PRIVATE_TOKEN_REQUEST }, body });
  assert.equal(res.status, 401);
  res = await post(body, 'application/octet-stream');
  assert.equal(res.status, 415);
  const other = new Uint8Array(body);
  other[1] = 1;
  res = await post(other, MediaType.PRIVATE_TOKEN_REQUEST);
  assert.equal(res.status, 422);
  checks += 3;
}

// (4) The other direction: our wallet (`realdid token fetch`) obtains tokens for the challenge
// privacypass-ts made; privacypass-ts parses and its Origin verifies them.
{
  const out = execFileSync(cli, ['token', 'fetch', '--wallet', wallet, '--ca', ca, '--challenge',
                                 challengeB64, '--count', '2']).toString().trim().split('\n');
  assert.equal(out.length, 2);
  for (const line of out) {
    const token = Token.deserialize(TOKEN_TYPES.BLIND_RSA,
                                    new Uint8Array(Buffer.from(line, 'base64url')));
    assert.equal(await origin.verify(token, verifyKey), true);
    checks += 1;
  }
}

console.log(`privacypass_interop: ok (${checks} checks)`);
