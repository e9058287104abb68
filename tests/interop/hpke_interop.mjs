// RFC 9180 interop: realdid_core (through interop_tool) against @hpke/core, base mode,
// DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM. Also recomputes the escrow/trace byte
// layouts of core/escrow.h independently here and opens/seals them on both sides.
// Usage: node hpke_interop.mjs <path of interop_tool>
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Aes128Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';

const tool = process.argv[2];
if (!tool) throw new Error('usage: node hpke_interop.mjs <interop_tool>');

function callRaw(req) {
  return JSON.parse(execFileSync(tool, { input: JSON.stringify(req) }).toString());
}
function call(req) {
  const res = callRaw(req);
  if (res.error) throw new Error(`interop_tool ${req.cmd}: ${res.error}`);
  return res;
}
const hex = (u8) => Buffer.from(u8 instanceof ArrayBuffer ? new Uint8Array(u8) : u8).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const sha256 = (...parts) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
const u64be = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
const utf8 = (s) => Buffer.from(s, 'utf8');

const suite = new CipherSuite({
  kem: new DhkemP256HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes128Gcm(),
});

// DeriveKeyPair agrees.
const ikmR = randomBytes(32);
const ours = call({ cmd: 'hpke-derive', ikm: hex(ikmR) });
const rkp = await suite.kem.deriveKeyPair(ikmR);
assert.equal(hex(await suite.kem.serializePublicKey(rkp.publicKey)), ours.pk);
assert.equal(hex(await suite.kem.serializePrivateKey(rkp.privateKey)), ours.sk);

let checks = 0;
for (const ptLen of [0, 1, 16, 80, 1000]) {
  const pt = randomBytes(ptLen);
  const info = randomBytes(ptLen % 50);
  const aad = randomBytes(ptLen % 33);

  // Seal here, open there.
  const s = call({ cmd: 'hpke-seal', pk: ours.pk, info: hex(info), aad: hex(aad), pt: hex(pt) });
  const recipient = await suite.createRecipientContext({ recipientKey: rkp, enc: unhex(s.enc), info });
  assert.equal(hex(await recipient.open(unhex(s.ct), aad)), hex(pt));
  const tampered = unhex(s.ct);
  tampered[0] ^= 1;
  const recipient2 = await suite.createRecipientContext({ recipientKey: rkp, enc: unhex(s.enc), info });
  await assert.rejects(recipient2.open(tampered, aad));

  // Deterministic seal with ikmE: enc is the public key DeriveKeyPair(ikmE) gives there too.
  const ikmE = randomBytes(32);
  const sd = call({ cmd: 'hpke-seal', pk: ours.pk, info: hex(info), aad: hex(aad), pt: hex(pt), ikm_e: hex(ikmE) });
  const eph = await suite.kem.deriveKeyPair(ikmE);
  assert.equal(sd.enc, hex(await suite.kem.serializePublicKey(eph.publicKey)));
  const r3 = await suite.createRecipientContext({ recipientKey: rkp, enc: unhex(sd.enc), info });
  assert.equal(hex(await r3.open(unhex(sd.ct), aad)), hex(pt));

  // Seal there, open here.
  const sender = await suite.createSenderContext({ recipientPublicKey: rkp.publicKey, info });
  const ct = await sender.seal(pt, aad);
  const opened = call({ cmd: 'hpke-open', sk: ours.sk, enc: hex(sender.enc), ct: hex(ct), info: hex(info), aad: hex(aad) });
  assert.equal(opened.pt, hex(pt));
  const wrongAad = Buffer.concat([aad, Buffer.from([0])]);
  assert.equal(callRaw({ cmd: 'hpke-open', sk: ours.sk, enc: hex(sender.enc), ct: hex(ct), info: hex(info), aad: hex(wrongAad) }).error, 'crypto_failure');
  checks += 1;
}

// Escrow and trace (core/escrow.h), layouts recomputed here.
const escrowIkm = randomBytes(32);
const esc = call({ cmd: 'hpke-derive', ikm: hex(escrowIkm) });
const escrowKp = await suite.kem.deriveKeyPair(escrowIkm);
const pkBytes = unhex(esc.pk);
// RFC 7638 thumbprint of the escrow key's JWK, as the escrow key id.
const jwkJson = `{"crv":"P-256","kty":"EC","x":"${Buffer.from(pkBytes.slice(1, 33)).toString('base64url')}","y":"${Buffer.from(pkBytes.slice(33)).toString('base64url')}"}`;
const escrowKid = Buffer.from(sha256(utf8(jwkJson))).toString('base64url');
const kid = Buffer.from(randomBytes(32)).toString('base64url');
assert.equal(escrowKid.length, 43);
assert.equal(kid.length, 43);
const fields = { kid, iat: 1767225600, exp: 1767225600 + 30 * 86400, jti: randomBytes(16), cnfTp: randomBytes(32) };
const issuanceId = randomBytes(16);
const escrowInfo = Buffer.concat([utf8('realdid/v1/escrow'), utf8(escrowKid)]);
const escrowAad = sha256(utf8(fields.kid), u64be(fields.iat), u64be(fields.exp), fields.jti, fields.cnfTp);
const traceInfo = Buffer.concat([utf8('realdid/v1/trace'), utf8(escrowKid)]);
const traceAad = Buffer.concat([issuanceId, utf8(fields.kid)]);
const fieldReq = { kid, iat: fields.iat, exp: fields.exp, jti: hex(fields.jti), cnf_tp: hex(fields.cnfTp) };

// Sealed here, opened there.
const sealed = call({
  cmd: 'escrow-seal', escrow_pk: esc.pk, escrow_kid: escrowKid, ...fieldReq,
  issuance_id: hex(issuanceId), ikm_e: hex(randomBytes(32)), trace_ikm_e: hex(randomBytes(32)),
});
assert.equal(sealed.escrow_ct.length, 64);
assert.equal(sealed.trace_ct.length, 192);
const er = await suite.createRecipientContext({ recipientKey: escrowKp, enc: unhex(sealed.escrow_enc), info: escrowInfo });
assert.equal(hex(await er.open(unhex(sealed.escrow_ct), escrowAad)), hex(issuanceId));
const tr = await suite.createRecipientContext({ recipientKey: escrowKp, enc: unhex(sealed.trace_enc), info: traceInfo });
const tracePt = new Uint8Array(await tr.open(unhex(sealed.trace_ct), traceAad));
const escrowHash = sha256(unhex(sealed.escrow_enc), unhex(sealed.escrow_ct));
assert.equal(hex(tracePt), hex(Buffer.concat([fields.jti, fields.cnfTp, escrowHash])));

// Sealed there, opened here.
const es = await suite.createSenderContext({ recipientPublicKey: escrowKp.publicKey, info: escrowInfo });
const escrowCt = new Uint8Array(await es.seal(issuanceId, escrowAad));
const escrowEnc = new Uint8Array(es.enc);
const ts = await suite.createSenderContext({ recipientPublicKey: escrowKp.publicKey, info: traceInfo });
const traceCt = new Uint8Array(await ts.seal(Buffer.concat([fields.jti, fields.cnfTp, sha256(escrowEnc, escrowCt)]), traceAad));
const openedEscrow = call({ cmd: 'escrow-open', escrow_sk: esc.sk, escrow_kid: escrowKid, ...fieldReq, escrow_enc: hex(escrowEnc), escrow_ct: hex(escrowCt) });
assert.equal(openedEscrow.issuance_id, hex(issuanceId));
const openedTrace = call({ cmd: 'trace-open', escrow_sk: esc.sk, escrow_kid: escrowKid, kid, issuance_id: hex(issuanceId), trace_enc: hex(new Uint8Array(ts.enc)), trace_ct: hex(traceCt) });
assert.equal(openedTrace.jti, hex(fields.jti));
assert.equal(openedTrace.cnf_tp, hex(fields.cnfTp));
assert.equal(openedTrace.escrow_hash, hex(sha256(escrowEnc, escrowCt)));
// An escrow bound to another jti does not open.
const otherJti = Buffer.from(fields.jti);
otherJti[0] ^= 1;
assert.equal(callRaw({ cmd: 'escrow-open', escrow_sk: esc.sk, escrow_kid: escrowKid, ...fieldReq, jti: hex(otherJti), escrow_enc: hex(escrowEnc), escrow_ct: hex(escrowCt) }).error, 'crypto_failure');

console.log(`hpke interop: ${checks} plaintext sizes both ways, escrow and trace both ways: passed`);
