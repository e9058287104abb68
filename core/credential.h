// THE canonical RealDID credential (SD-JWT VC, typ dc+sd-jwt): one byte form, built from the
// issuance session's values plus one candidate's opened random values, and one strict parser.
//
// Canonical form (docs/protocol.md repeats it byte for byte):
//   header  = {"alg":"PS384","kid":<kid>,"typ":"dc+sd-jwt"}
//   payload = {"iss":<iss>,"vct":"urn:realdid:resident:1","iat":<int>,"exp":<int>,
//              "jti":<b64url(16 bytes)>,"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":<b64url(32)>,
//              "y":<b64url(32)>}},"escrow":<b64url(enc||ct, 97 bytes)>,"_sd":[5 digests sorted
//              ascending by byte value],"_sd_alg":"sha-256"}
//   disclosures, in this fixed order (never decoys): age_over_18 (bool), age_over_60 (bool),
//              province (2-digit string), nationality ("CN"), real_name_verified (true);
//              each = b64url(["<b64url(16-byte salt)>","<name>",<value>]) in canonical JSON.
//   All JSON canonical per core/json.h: no whitespace, ASCII, plain integers, members in this order.
//   signing input = b64url(header) "." b64url(payload); issued form = <jws>~<d1>~...~<d5>~.
// Field rules: kid = base64url RFC 7638 thumbprint (32 bytes); iat a UTC midnight (iat % 86400 == 0,
// iat >= 0); exp > iat; holder key a valid P-256 point; escrow = HPKE enc (65-byte uncompressed P-256
// point) || AES-128-GCM ciphertext of the 16-byte issuance id (32 bytes); province one of the 34
// codes; nationality "CN"; real_name_verified true; age_over_60 implies age_over_18.
// The escrow key id is part of the session (HPKE info) but NOT of the credential's bytes.
//
// ParseStrict() is the one parser every verifier uses: it refuses any deviation (duplicate keys,
// unknown or missing members, wrong types, non-canonical base64url or JSON, unsorted _sd, wrong
// alg/typ/vct, a disclosure for an unknown claim or out of order) and finally rebuilds the bytes
// from the parsed values and compares. It does not check signatures: VerifyIssued/VerifyPresentation
// add core/sdjwt.h verification on top.
// Thread-safety: pure functions. Errors: Error(kInvalidInput) "credential: ..." naming the rule.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/sdjwt.h"

namespace realdid::credential {

inline constexpr std::string_view kVct = "urn:realdid:resident:1";
inline constexpr std::string_view kTyp = "dc+sd-jwt";
inline constexpr std::size_t kJtiSize = 16;
inline constexpr std::size_t kSaltSize = 16;
inline constexpr std::size_t kEscrowEncSize = 65;
inline constexpr std::size_t kEscrowSize = 97;  // enc (65) || ct (16-byte issuance id + 16-byte tag)
inline constexpr std::size_t kNumDisclosed = 5;
inline constexpr std::array<std::string_view, kNumDisclosed> kDisclosedClaims = {
    "age_over_18", "age_over_60", "province", "nationality", "real_name_verified"};

struct Attested {
  bool age_over_18 = false;
  bool age_over_60 = false;
  std::string province;        // 2-digit code
  std::string nationality = "CN";
  bool real_name_verified = true;
};

// What the issuance session fixes (BRIEF section 4 step 1).
struct SessionValues {
  std::string iss;
  std::string vct = std::string(kVct);
  std::string kid;  // signing key id
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  Attested attested;
  std::string escrow_kid;  // HPKE info input; not part of the credential bytes
};

// One candidate's opened random values (BRIEF section 4 step 4) that enter the credential bytes.
struct CandidateOpening {
  Bytes holder_x;  // P-256, 32 bytes
  Bytes holder_y;  // 32 bytes
  Bytes jti;       // 16 bytes
  std::array<Bytes, kNumDisclosed> salts;  // 16 bytes each, in kDisclosedClaims order
  Bytes escrow;    // enc || ct from core/escrow.h, kEscrowSize bytes
};

struct Built {
  std::string header_json;
  std::string payload_json;
  std::vector<std::string> disclosures;  // kDisclosedClaims order
  std::string signing_input;             // b64url(header) "." b64url(payload)
  // <signing_input>.<b64url(signature)>~<d1>~...~<d5>~
  std::string Issued(ByteView signature) const;
};

Built Build(const SessionValues& session, const CandidateOpening& opening);
// The JSON value of disclosed claim i (kDisclosedClaims order).
json::Value ClaimValue(const Attested& a, std::size_t i);

enum class Form {
  kIssued,        // all 5 disclosures in fixed order, no KB-JWT
  kPresentation,  // any subset of the disclosures in fixed order, then a KB-JWT
};

struct Parsed {
  // Issuer-signed values.
  std::string kid;
  std::string iss;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  Bytes jti;
  Bytes holder_x;
  Bytes holder_y;
  json::Value cnf_jwk;
  Bytes escrow;
  std::vector<std::string> sd;  // the 5 sorted digests
  // Disclosed claims (kDisclosedClaims order); nullopt = not disclosed.
  std::array<std::optional<json::Value>, kNumDisclosed> claims;
  std::array<std::optional<Bytes>, kNumDisclosed> salts;
  // Bytes as transmitted.
  std::string issuer_jwt;
  std::string header_json;
  std::string payload_json;
  std::string signing_input;
  Bytes signature;
  std::vector<std::string> disclosures;
  std::optional<std::string> kb_jwt;
  std::string prefix;  // everything up to and including the last '~'

  bool Complete() const;                        // all five claims disclosed
  std::optional<bool> BoolClaim(std::string_view name) const;
  std::optional<std::string> StringClaim(std::string_view name) const;
  // The session values and opening recovered from a complete credential (throws if incomplete).
  SessionValues Session() const;
  CandidateOpening Opening() const;
};

Parsed ParseStrict(std::string_view sd_jwt, Form form);

// SHA-256(jti (16 bytes) || RFC 7638 thumbprint of cnf.jwk (32 bytes)).
Bytes RevocationId(ByteView jti, const json::Value& cnf_jwk);
inline Bytes RevocationId(const Parsed& p) { return RevocationId(p.jti, p.cnf_jwk); }

// ParseStrict(kIssued) + issuer signature + expiry (no key binding). For wallets after Finalize and
// for the warrant tooling.
Parsed VerifyIssued(std::string_view issued, const sdjwt::KeyLookup& issuer_keys, std::int64_t now);

struct VerifiedPresentation {
  Parsed parsed;
  sdjwt::Verified verified;
};
// ParseStrict(kPresentation) + sdjwt::Verify (issuer signature, digests, KB-JWT, aud, nonce, iat
// window, exp). options.require_key_binding and require_canonical_disclosures are forced on.
VerifiedPresentation VerifyPresentation(std::string_view presentation, sdjwt::VerifyOptions options);

}  // namespace realdid::credential
