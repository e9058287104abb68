// RFC 9474 interop: realdid_core (through interop_tool) against @cloudflare/blindrsa-ts.
// Usage: node blindrsa_interop.mjs <path of interop_tool>
//  (1) we blind -> we and they blind-sign (identical bytes) -> they finalize and verify;
//  (2) they blind -> we blind-sign -> we finalize; they finalize the same (identical bytes) and we
//      verify; WebCrypto's own RSA-PSS verifier accepts every signature; a one-bit change is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { RSABSSA } from '@cloudflare/blindrsa-ts';

const tool = process.argv[2];
if (!tool) throw new Error('usage: node blindrsa_interop.mjs <interop_tool>');

function call(req) {
  const res = JSON.parse(execFileSync(tool, { input: JSON.stringify(req) }).toString());
  if (res.error) throw new Error(`interop_tool ${req.cmd}: ${res.error}`);
  return res;
}
const hex = (u8) => Buffer.from(u8).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const b64uHex = (s) => Buffer.from(s, 'base64url').toString('hex');

const suites = [
  ['RSABSSA-SHA384-PSS-Deterministic', RSABSSA.SHA384.PSS.Deterministic(), 48],
  ['RSABSSA-SHA384-PSS-Randomized', RSABSSA.SHA384.PSS.Randomized(), 48],
  ['RSABSSA-SHA384-PSSZERO-Deterministic', RSABSSA.SHA384.PSSZero.Deterministic(), 0],
  ['RSABSSA-SHA384-PSSZERO-Randomized', RSABSSA.SHA384.PSSZero.Randomized(), 0],
];

let checks = 0;
for (const bits of [2048, 3072]) {
  const { privateKey, publicKey } = await RSABSSA.SHA384.generateKey({
    modulusLength: bits,
    publicExponent: Uint8Array.from([1, 0, 1]),
  });
  const jwk = await webcrypto.subtle.exportKey('jwk', privateKey);
  const key = { n: b64uHex(jwk.n), e: b64uHex(jwk.e) };
  const d = b64uHex(jwk.d);

  for (const [name, suite, saltLen] of suites) {
    const where = `${name} ${bits}`;
    const pssVerify = (sig, msg) =>
      webcrypto.subtle.verify({ name: 'RSA-PSS', saltLength: saltLen }, publicKey, sig, msg);
    const input = suite.prepare(randomBytes(77));

    // (1) ours blinds, theirs finalizes.
    const ours = call({ cmd: 'rsa-blind', ...key, input_msg: hex(input), salt_len: saltLen });
    assert.equal(ours.blinded_msg.length, bits / 4, where);
    assert.equal(ours.salt.length, saltLen * 2, where);
    // The opening recomputes the same blinded message.
    const again = call({ cmd: 'rsa-blind-with', ...key, input_msg: hex(input), salt: ours.salt, r: ours.r });
    assert.equal(again.blinded_msg, ours.blinded_msg, where);
    assert.equal(again.inv, ours.inv, where);
    const ourBlindSig = call({ cmd: 'rsa-blind-sign', ...key, d, blinded_msg: ours.blinded_msg });
    const theirBlindSig = await suite.blindSign(privateKey, unhex(ours.blinded_msg));
    assert.equal(ourBlindSig.blind_sig, hex(theirBlindSig), `${where}: raw RSA differs`);
    const sig1 = await suite.finalize(publicKey, input, unhex(ourBlindSig.blind_sig), unhex(ours.inv));
    assert.ok(await suite.verify(publicKey, sig1, input), where);
    assert.ok(await pssVerify(sig1, input), where);
    assert.equal(call({ cmd: 'rsa-verify', ...key, input_msg: hex(input), sig: hex(sig1), salt_len: saltLen }).valid, true, where);
    // Our finalize gives the same bytes.
    const ourFinal = call({ cmd: 'rsa-finalize', ...key, input_msg: hex(input), blind_sig: ourBlindSig.blind_sig, inv: ours.inv, salt_len: saltLen });
    assert.equal(ourFinal.sig, hex(sig1), where);

    // (2) theirs blinds, ours signs and finalizes.
    const { blindedMsg, inv } = await suite.blind(publicKey, input);
    const bs = call({ cmd: 'rsa-blind-sign', ...key, d, blinded_msg: hex(blindedMsg) });
    assert.equal(bs.blind_sig, hex(await suite.blindSign(privateKey, blindedMsg)), where);
    const fin = call({ cmd: 'rsa-finalize', ...key, input_msg: hex(input), blind_sig: bs.blind_sig, inv: hex(inv), salt_len: saltLen });
    const sig2 = unhex(fin.sig);
    assert.ok(await suite.verify(publicKey, sig2, input), where);
    assert.ok(await pssVerify(sig2, input), where);
    const theirs = await suite.finalize(publicKey, input, unhex(bs.blind_sig), inv);
    assert.equal(hex(theirs), fin.sig, where);
    assert.equal(call({ cmd: 'rsa-verify', ...key, input_msg: hex(input), sig: hex(theirs), salt_len: saltLen }).valid, true, where);

    // Negative: one flipped bit, wrong message.
    const bad = Uint8Array.from(sig2);
    bad[bad.length - 7] ^= 0x10;
    assert.equal(call({ cmd: 'rsa-verify', ...key, input_msg: hex(input), sig: hex(bad), salt_len: saltLen }).valid, false, where);
    assert.equal(await suite.verify(publicKey, bad, input), false, where);
    const otherMsg = Uint8Array.from(input);
    otherMsg[0] ^= 1;
    assert.equal(call({ cmd: 'rsa-verify', ...key, input_msg: hex(otherMsg), sig: fin.sig, salt_len: saltLen }).valid, false, where);
    checks += 1;
  }
}
console.log(`blindrsa interop: ${checks} suite/key-size combinations passed`);
