// Escrow and trace ciphertexts of fair blind issuance (BRIEF section 4, step 2), HPKE (core/hpke.h)
// to the escrow public key. The escrow resolves a presented credential (pseudonym) to its issuance
// record (person); the trace resolves an issuance record to the credential it produced.
//
// Byte encodings (normative; docs/protocol.md copies them). "||" is plain concatenation; every field
// has a fixed length, so no length prefixes are needed and none are used:
//   kid          the blind-signing key id: the ASCII bytes of its base64url RFC 7638 SHA-256
//                thumbprint, exactly 43 characters (32 bytes once decoded; canonical base64url)
//   escrow_kid   the escrow key id, same form: exactly 43 ASCII characters
//   iat, exp     unsigned seconds since the epoch, 8 bytes big-endian each
//   jti          the credential's 16 raw bytes (the JWT carries their base64url form)
//   cnf_tp       the 32 raw bytes of the RFC 7638 SHA-256 thumbprint of the holder JWK (cnf.jwk)
//   issuance_id  the session's 16 raw bytes
//   ikmE         32 bytes of HPKE DeriveKeyPair input per ciphertext (fresh random per candidate)
//
//   escrow:  info = "realdid/v1/escrow" || escrow_kid                              (17 + 43 = 60 B)
//            aad  = SHA-256(kid || iat || exp || jti || cnf_tp)  (hash over 43+8+8+16+32 = 107 B)
//            pt   = issuance_id                                                             (16 B)
//            enc  = 65 bytes (uncompressed P-256 point), ct = 16 + 16 = 32 bytes
//   trace:   info = "realdid/v1/trace" || escrow_kid                               (16 + 43 = 59 B)
//            aad  = issuance_id || kid                                                     (59 B)
//            pt   = jti || cnf_tp || SHA-256(escrow.enc || escrow.ct)           (16+32+32 = 80 B)
//            enc  = 65 bytes, ct = 80 + 16 = 96 bytes
//
// Security contract: every length above is enforced on sealing and opening (kInvalidInput). Opening
// recomputes the aad from the credential fields the caller passes (never from a caller-supplied
// aad), so an escrow copied from another credential does not open. The ECDH step of opening is
// supplied from outside (hpke::EcdhFunction) so the warrant component can run it in the HSM.
// Open failures are Error(kCryptoFailure) "open failed". Plaintexts come back as Secrets.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/hpke.h"

namespace realdid::escrow {

inline constexpr std::size_t kKidLen = 43;
inline constexpr std::size_t kJtiLen = 16;
inline constexpr std::size_t kThumbprintLen = 32;
inline constexpr std::size_t kIssuanceIdLen = 16;
inline constexpr std::size_t kIkmLen = 32;
inline constexpr std::size_t kEscrowCtLen = kIssuanceIdLen + hpke::kNt;                     // 32
inline constexpr std::size_t kTracePtLen = kJtiLen + kThumbprintLen + 32;                   // 80
inline constexpr std::size_t kTraceCtLen = kTracePtLen + hpke::kNt;                          // 96
inline constexpr std::string_view kEscrowInfoPrefix = "realdid/v1/escrow";
inline constexpr std::string_view kTraceInfoPrefix = "realdid/v1/trace";

// The credential values an escrow is bound to.
struct CredentialFields {
  std::string kid;       // blind-signing key id, 43 base64url characters
  std::uint64_t iat = 0;
  std::uint64_t exp = 0;
  Bytes jti;             // 16 bytes
  Bytes cnf_thumbprint;  // 32 bytes, RFC 7638 SHA-256 of cnf.jwk
};

// Throws Error(kInvalidInput) if a field has the wrong length or a kid is not 43 canonical
// base64url characters of 32 bytes.
void CheckFields(const CredentialFields& f);
void CheckKid(std::string_view kid);

Bytes EscrowInfo(std::string_view escrow_kid);
Bytes EscrowAad(const CredentialFields& f);
Bytes TraceInfo(std::string_view escrow_kid);
Bytes TraceAad(ByteView issuance_id, std::string_view kid);
// SHA-256(enc || ct): what a trace names.
Bytes EscrowHash(const hpke::Sealed& escrow);

hpke::Sealed SealEscrow(const hpke::PublicKey& escrow_pk, std::string_view escrow_kid,
                        const CredentialFields& f, ByteView issuance_id, ByteView ikm_e);
hpke::Sealed SealTrace(const hpke::PublicKey& escrow_pk, std::string_view escrow_kid,
                       const CredentialFields& f, ByteView issuance_id,
                       const hpke::Sealed& escrow, ByteView ikm_e);

// Returns the issuance id (16 bytes).
Secret OpenEscrow(const hpke::Sealed& escrow, const hpke::PublicKey& escrow_pk,
                  std::string_view escrow_kid, const CredentialFields& f,
                  const hpke::EcdhFunction& ecdh);

struct TraceContent {
  Bytes jti;             // 16
  Bytes cnf_thumbprint;  // 32
  Bytes escrow_hash;     // 32
};
TraceContent OpenTrace(const hpke::Sealed& trace, const hpke::PublicKey& escrow_pk,
                       std::string_view escrow_kid, ByteView issuance_id, std::string_view kid,
                       const hpke::EcdhFunction& ecdh);

// True when a trace names exactly this credential (jti, holder key) and this escrow ciphertext.
bool TraceMatches(const TraceContent& t, const CredentialFields& f, const hpke::Sealed& escrow);

}  // namespace realdid::escrow
