#include "core/escrow.h"

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"

namespace realdid::escrow {

namespace {

void CheckLen(ByteView b, std::size_t len, const char* what) {
  if (b.size() != len) InvalidInput(std::string(what) + " must be " + std::to_string(len) + " bytes");
}

void CheckIkm(ByteView ikm_e) { CheckLen(ikm_e, kIkmLen, "escrow ikmE"); }

void CheckSealed(const hpke::Sealed& s, std::size_t ct_len, const char* what) {
  CheckLen(s.enc, hpke::kNenc, "HPKE enc");
  CheckLen(s.ct, ct_len, what);
}

}  // namespace

void CheckKid(std::string_view kid) {
  if (kid.size() != kKidLen) InvalidInput("key id must be 43 base64url characters");
  if (b64url::Decode(kid).size() != 32) InvalidInput("key id must encode 32 bytes");
}

void CheckFields(const CredentialFields& f) {
  CheckKid(f.kid);
  CheckLen(f.jti, kJtiLen, "jti");
  CheckLen(f.cnf_thumbprint, kThumbprintLen, "cnf thumbprint");
}

Bytes EscrowInfo(std::string_view escrow_kid) {
  CheckKid(escrow_kid);
  return Concat({AsBytes(kEscrowInfoPrefix), AsBytes(escrow_kid)});
}

Bytes TraceInfo(std::string_view escrow_kid) {
  CheckKid(escrow_kid);
  return Concat({AsBytes(kTraceInfoPrefix), AsBytes(escrow_kid)});
}

Bytes EscrowAad(const CredentialFields& f) {
  CheckFields(f);
  return hash::Sha256(
      Concat({AsBytes(f.kid), U64BE(f.iat), U64BE(f.exp), f.jti, f.cnf_thumbprint}));
}

Bytes TraceAad(ByteView issuance_id, std::string_view kid) {
  CheckLen(issuance_id, kIssuanceIdLen, "issuance id");
  CheckKid(kid);
  return Concat({issuance_id, AsBytes(kid)});
}

Bytes EscrowHash(const hpke::Sealed& escrow) {
  CheckSealed(escrow, kEscrowCtLen, "escrow ciphertext");
  return hash::Sha256(Concat({escrow.enc, escrow.ct}));
}

hpke::Sealed SealEscrow(const hpke::PublicKey& escrow_pk, std::string_view escrow_kid,
                        const CredentialFields& f, ByteView issuance_id, ByteView ikm_e) {
  CheckLen(issuance_id, kIssuanceIdLen, "issuance id");
  CheckIkm(ikm_e);
  return hpke::Seal(escrow_pk, EscrowInfo(escrow_kid), EscrowAad(f), issuance_id, ikm_e);
}

hpke::Sealed SealTrace(const hpke::PublicKey& escrow_pk, std::string_view escrow_kid,
                       const CredentialFields& f, ByteView issuance_id,
                       const hpke::Sealed& escrow, ByteView ikm_e) {
  CheckFields(f);
  CheckIkm(ikm_e);
  const Secret pt(Concat({f.jti, f.cnf_thumbprint, EscrowHash(escrow)}));
  return hpke::Seal(escrow_pk, TraceInfo(escrow_kid), TraceAad(issuance_id, f.kid), pt.reveal(),
                    ikm_e);
}

Secret OpenEscrow(const hpke::Sealed& escrow, const hpke::PublicKey& escrow_pk,
                  std::string_view escrow_kid, const CredentialFields& f,
                  const hpke::EcdhFunction& ecdh) {
  CheckSealed(escrow, kEscrowCtLen, "escrow ciphertext");
  Secret pt = hpke::Open(escrow.enc, escrow.ct, escrow_pk, ecdh, EscrowInfo(escrow_kid),
                         EscrowAad(f));
  if (pt.size() != kIssuanceIdLen) Fail(ErrorKind::kCryptoFailure, "open failed");
  return pt;
}

TraceContent OpenTrace(const hpke::Sealed& trace, const hpke::PublicKey& escrow_pk,
                       std::string_view escrow_kid, ByteView issuance_id, std::string_view kid,
                       const hpke::EcdhFunction& ecdh) {
  CheckSealed(trace, kTraceCtLen, "trace ciphertext");
  const Secret pt = hpke::Open(trace.enc, trace.ct, escrow_pk, ecdh, TraceInfo(escrow_kid),
                               TraceAad(issuance_id, kid));
  if (pt.size() != kTracePtLen) Fail(ErrorKind::kCryptoFailure, "open failed");
  const ByteView p = pt.reveal();
  TraceContent t;
  const ByteView jti = p.subspan(0, kJtiLen);
  const ByteView tp = p.subspan(kJtiLen, kThumbprintLen);
  const ByteView eh = p.subspan(kJtiLen + kThumbprintLen);
  t.jti.assign(jti.begin(), jti.end());
  t.cnf_thumbprint.assign(tp.begin(), tp.end());
  t.escrow_hash.assign(eh.begin(), eh.end());
  return t;
}

bool TraceMatches(const TraceContent& t, const CredentialFields& f, const hpke::Sealed& escrow) {
  CheckFields(f);
  return ConstantTimeEqual(t.jti, f.jti) && ConstantTimeEqual(t.cnf_thumbprint, f.cnf_thumbprint) &&
         ConstantTimeEqual(t.escrow_hash, EscrowHash(escrow));
}

}  // namespace realdid::escrow
