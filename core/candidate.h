// One cut-and-choose candidate of fair blind issuance (BRIEF section 4 step 4; docs/protocol.md
// sections 2-5), derived from the session's values plus the candidate's opened random values. THE
// one derivation: the wallet builds each of its K candidates with it, the authority rebuilds each
// opened candidate with it and compares the result with the commit byte for byte, and the tests'
// software wallets and authorities call it too.
//
// Derivation (each step as specified in the header named):
//   cnf_tp  = RFC 7638 SHA-256 thumbprint of {"kty":"EC","crv":"P-256","x":holder_x,"y":holder_y}
//   escrow  = escrow::SealEscrow(escrow key, escrow_kid, {kid, iat, exp, jti, cnf_tp},
//                                issuance_id, escrow_ikm)                         (core/escrow.h)
//   built   = credential::Build(session,
//                               {holder_x, holder_y, jti, salts, escrow.enc || escrow.ct})
//                                                                             (core/credential.h)
//   B       = blind_rsa::BlindWith(signing key, built.signing_input, pss_salt, r)
//                 .blinded_msg                                                (core/blind_rsa.h)
//   trace   = escrow::SealTrace(escrow key, escrow_kid, {kid, iat, exp, jti, cnf_tp}, issuance_id,
//                               escrow, trace_ikm)
//   The commit carries B and trace.enc || trace.ct (161 bytes) for each candidate.
//
// Contract:
//  - Pure and deterministic: no randomness, no I/O; the same Context and Opening give the same
//    Candidate byte for byte. Safe to call concurrently.
//  - Secrets: the Opening of a candidate is secret until it is revealed, and the opening of the
//    candidate j the authority keeps unopened never leaves the wallet: its r, pss_salt, holder key,
//    jti, salts and ikms are what make the signed credential unlinkable to its issuance. Derive
//    copies them only into the returned Candidate (Blinding keeps salt, r and r^-1 as Secrets); the
//    caller wipes the Opening's storage and the Candidate when done. Nothing secret enters an
//    exception text. The Context is public to both parties.
//  - Opening holds views: the bytes they point to must outlive the call (not the result).
//  - Errors: Error(kInvalidInput) for any input with a wrong length or out of range (holder point
//    not on P-256, r not in (1, n) or not coprime with n, kid not canonical, iat/exp out of range,
//    ...), Error(kCryptoFailure) when OpenSSL refuses an operation on otherwise well-formed values;
//    both mean "this opening does not rebuild a valid candidate". Error(kInternal) for OpenSSL
//    failures unrelated to the input.
#pragma once

#include <array>

#include "core/blind_rsa.h"
#include "core/bytes.h"
#include "core/credential.h"
#include "core/escrow.h"
#include "core/hpke.h"

namespace realdid::candidate {

inline constexpr std::size_t kTraceSize = hpke::kNenc + escrow::kTraceCtLen;  // 161

// Fixed by the session; public.
struct Context {
  credential::SessionValues session;  // iss, vct, kid, iat, exp, attested, escrow_kid
  Bytes issuance_id;                  // 16 bytes
  hpke::PublicKey escrow_public_key;  // the published escrow key (kid = session.escrow_kid)
  blind_rsa::PublicKey signing_key;   // the session's blind-signing key (kid = session.kid)
};

// A candidate's random values: what a reveal opens (docs/protocol.md 5.4). Secret until revealed.
struct Opening {
  ByteView holder_x;  // 32 bytes, P-256 x of the holder key (cnf.jwk)
  ByteView holder_y;  // 32 bytes
  ByteView jti;       // 16 bytes
  std::array<ByteView, credential::kNumDisclosed> salts;  // 16 bytes each, kDisclosedClaims order
  ByteView pss_salt;   // 48 bytes (RSABSSA-SHA384-PSS-Deterministic)
  ByteView r;          // modulus length, 1 < r < n, gcd(r, n) = 1
  ByteView escrow_ikm;  // 32 bytes, HPKE ikmE of the escrow ciphertext
  ByteView trace_ikm;   // 32 bytes, HPKE ikmE of the trace ciphertext
};

// Everything derived from one (Context, Opening).
struct Candidate {
  Bytes cnf_thumbprint;          // 32 bytes
  hpke::Sealed escrow;           // enc 65 || ct 32; the credential carries enc || ct
  hpke::Sealed trace;            // enc 65 || ct 96
  credential::Built credential;  // the canonical credential bytes (signing input, disclosures)
  blind_rsa::Blinding blinding;  // blinding.blinded_msg is the committed B

  // The committed trace: trace.enc || trace.ct (161 bytes).
  Bytes TraceBytes() const;
};

Candidate Derive(const Context& context, const Opening& opening);

// The authority's rebuild of an opened candidate: the same derivation and the same bytes as Derive
// (cnf_thumbprint, escrow, trace, credential, blinding.blinded_msg, salt, r), except that
// blinding.inv stays empty (a verifier never unblinds) and the coprimality of the message
// representative and r with n is not checked per candidate: the caller checks it once for all
// rebuilt blinded messages with blind_rsa::AllCoprimeWithModulus (issuance/reveal_check.cc).
Candidate Rebuild(const Context& context, const Opening& opening);

}  // namespace realdid::candidate
