// SD-JWT interop with @sd-jwt/sd-jwt-vc (RFC 9901 / SD-JWT VC):
//  1. a presentation built by realdid_core verifies with @sd-jwt (issuer PS384, disclosures, KB-JWT);
//  2. an SD-JWT VC + KB presentation built by @sd-jwt verifies with realdid_core's generic RFC 9901
//     verifier (core/sdjwt.h), and RealDID's strict canonical parser (core/credential.h) refuses it,
//     with the reason printed (its bytes are not RealDID's canonical form).
// Usage: node sdjwt_interop.mjs <path of sdjwt_tool>
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt, ES256, getSigner, getVerifier, generateKeyPair } from '@sd-jwt/crypto-nodejs';

const tool = process.argv[2];
if (!tool) throw new Error('usage: node sdjwt_interop.mjs <sdjwt_tool>');
const callRaw = (req) => JSON.parse(execFileSync(tool, { input: JSON.stringify(req) }).toString());
const call = (req) => {
  const res = callRaw(req);
  if (res.error) throw new Error(`sdjwt_tool ${req.cmd}: ${res.error}`);
  return res;
};
const now = Math.floor(Date.now() / 1000);
const PSS = { name: 'RSA-PSS', hash: 'SHA-384' };
const PSS_SIGN = { name: 'RSA-PSS', saltLength: 48 };
const b64u = (b) => Buffer.from(b).toString('base64url');
const thumbprint = (jwk) => b64u(createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest());
let passed = 0;

// 1. realdid_core -> @sd-jwt.
{
  const issued = call({ cmd: 'issue', bits: 3072, now });
  const pres = call({ cmd: 'present', issued: issued.issued, holder_d: issued.holder_d,
                      names: ['age_over_18', 'province'], aud: 'https://rp.example', nonce: 'n-42', iat: now }).presentation;
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    verifier: await getVerifier(issued.issuer_jwk, PSS, PSS_SIGN),
    kbVerifier: async (data, sig, payload) =>
      (await ES256.getVerifier(payload.cnf.jwk))(data, sig),
  });
  const res = await sdjwt.verify(pres, { keyBindingNonce: 'n-42', requiredClaimKeys: ['age_over_18', 'province'] });
  assert.equal(res.payload.age_over_18, true);
  assert.equal(res.payload.province, '44');
  assert.equal(res.payload.age_over_60, undefined);
  assert.equal(res.kb.payload.aud, 'https://rp.example');
  // Our own strict path accepts it too.
  call({ cmd: 'verify', presentation: pres, issuer_jwk: issued.issuer_jwk, now, aud: 'https://rp.example',
         nonce: 'n-42', strict: true });
  // @sd-jwt refuses it with a tampered disclosure list (sd_hash binds it).
  const parts = pres.split('~');
  const dropped = [parts[0], parts[2], parts[3]].join('~');
  await assert.rejects(sdjwt.verify(dropped, { keyBindingNonce: 'n-42' }));
  passed++;
}

// 2. @sd-jwt -> realdid_core.
{
  const issuer = await generateKeyPair({ name: 'RSA-PSS', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' });
  const holder = await ES256.generateKeyPair();
  const issuerPub = { kty: 'RSA', n: issuer.publicKey.n, e: issuer.publicKey.e };
  const kid = thumbprint(issuerPub);
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    signer: await getSigner(issuer.privateKey, PSS, PSS_SIGN),
    signAlg: 'PS384',
    verifier: await getVerifier(issuerPub, PSS, PSS_SIGN),
    kbSigner: await ES256.getSigner(holder.privateKey),
    kbSignAlg: 'ES256',
  });
  const holderJwk = { kty: 'EC', crv: 'P-256', x: holder.publicKey.x, y: holder.publicKey.y };
  const credential = await sdjwt.issue(
    { iss: 'https://other.example', vct: 'urn:realdid:resident:1', iat: now - 60, exp: now + 3600,
      cnf: { jwk: holderJwk }, age_over_18: true, province: '31', nationality: 'CN' },
    { _sd: ['age_over_18', 'province', 'nationality'] },
    { header: { kid, typ: 'dc+sd-jwt' } });
  const pres = await sdjwt.present(credential, { age_over_18: true },
    { kb: { payload: { iat: now, aud: 'https://rp.example', nonce: 'n-7' } } });
  const generic = callRaw({ cmd: 'verify', presentation: pres, issuer_jwk: issuerPub, now, aud: 'https://rp.example',
                            nonce: 'n-7', strict: false });
  assert.equal(generic.error, undefined, generic.error);
  assert.equal(generic.claims.age_over_18, true);
  assert.equal(generic.claims.province, undefined);
  const strict = callRaw({ cmd: 'verify', presentation: pres, issuer_jwk: issuerPub, now, aud: 'https://rp.example',
                           nonce: 'n-7', strict: true });
  assert.ok(strict.error, 'the strict canonical parser must refuse a foreign SD-JWT');
  console.log(`@sd-jwt presentation refused by the strict RealDID parser: ${strict.error}`);
  // Wrong nonce / audience refused by the generic verifier.
  for (const [aud, nonce] of [['https://rp.example', 'n-8'], ['https://evil.example', 'n-7']]) {
    const r = callRaw({ cmd: 'verify', presentation: pres, issuer_jwk: issuerPub, now, aud, nonce, strict: false });
    assert.ok(r.error);
  }
  passed++;
}

console.log(`sdjwt interop: ${passed} passed, 0 failed`);
