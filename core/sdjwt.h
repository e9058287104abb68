// SD-JWT (RFC 9901): disclosures, digests, serialization, key-binding JWTs, presentations and
// their verification. Generic over claim names; core/credential.h adds RealDID's canonical form.
//
// - A disclosure is base64url(JSON array [salt, name, value]) (or [salt, value] for an array
//   element); its digest is base64url(SHA-256(the ASCII disclosure string)). Disclosures built here
//   are canonical JSON (core/json.h); DecodeDisclosure also reads non-canonical (e.g. whitespace)
//   disclosures from other implementations when asked, so digests can be checked, but RealDID's
//   credential parser (core/credential.h) refuses them.
// - Serialization: <issuer-jwt>~<d1>~...~<dN>~ and, with key binding, ...~<kb-jwt>.
// - KB-JWT: header {"alg":"ES256","typ":"kb+jwt"}, claims iat, aud, nonce, sd_hash =
//   base64url(SHA-256(presentation up to and including the last '~')), signed with the holder key.
// Verification takes every external fact from the caller (issuer key lookup within a pinned key set,
// the current time, audience, nonce, freshness window): no clock reads, no I/O inside.
// Thread-safety: pure functions. Errors: Error(kInvalidInput) "SD-JWT: ..." naming the failed rule.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/jws.h"

namespace realdid::sdjwt {

inline constexpr std::string_view kSdAlg = "sha-256";
inline constexpr std::string_view kKbTyp = "kb+jwt";

struct Disclosure {
  std::string encoded;               // the base64url text as transmitted
  std::string salt;
  std::optional<std::string> name;   // absent for an array-element disclosure
  json::Value value;
  std::string digest;                // base64url(SHA-256(encoded))
};

// base64url(canonical JSON [salt, name, value]).
std::string EncodeDisclosure(std::string_view salt, std::string_view name, const json::Value& value);
// base64url(SHA-256(ASCII bytes of the disclosure)).
std::string Digest(std::string_view encoded_disclosure);
// Decodes one disclosure. With require_canonical the JSON must be byte-identical to its canonical
// serialization (RealDID's own disclosures); otherwise any strictly valid JSON array is read.
Disclosure DecodeDisclosure(std::string_view encoded, bool require_canonical);

// The parts of an SD-JWT or SD-JWT+KB serialization.
struct Parts {
  std::string issuer_jwt;
  std::vector<std::string> disclosures;
  std::optional<std::string> kb_jwt;
  std::string prefix;  // everything up to and including the last '~' (the sd_hash input)
};
// Strict split: at least one '~'; no empty disclosure; a trailing part (after the last '~') is a
// KB-JWT. Does not decode.
Parts Split(std::string_view serialization);
// <issuer-jwt>~<d1>~...~<dN>~
std::string Join(std::string_view issuer_jwt, const std::vector<std::string>& disclosures);

std::string SdHash(std::string_view prefix);

// KB-JWT over `prefix` (an SD-JWT ending in '~'), signed ES256 with the holder key.
std::string MakeKbJwt(const jws::PrivateKey& holder, std::string_view prefix, std::string_view aud,
                      std::string_view nonce, std::int64_t iat);

// Builds a presentation from an issued SD-JWT (issuer-jwt~d1~...~dN~): keeps the disclosures whose
// claim name is in `names` (in their issued order), then appends a KB-JWT.
std::string Present(std::string_view issued, const std::vector<std::string>& names,
                    const jws::PrivateKey& holder, std::string_view aud, std::string_view nonce,
                    std::int64_t iat);

// Resolves an issuer key by kid within a pinned key set; nullopt = unknown kid.
using KeyLookup = std::function<std::optional<jws::PublicKey>(std::string_view kid)>;

struct VerifyOptions {
  KeyLookup issuer_keys;
  std::string expected_typ = "dc+sd-jwt";
  std::int64_t now = 0;                 // unix seconds, from the caller's clock
  bool require_key_binding = true;
  std::string audience;                 // KB-JWT aud must equal it
  std::string nonce;                    // KB-JWT nonce must equal it
  std::int64_t kb_max_age = 300;        // KB-JWT iat must be in [now - kb_max_age, now + kb_max_skew]
  std::int64_t kb_max_skew = 60;
  bool require_canonical_disclosures = false;
};

struct Verified {
  std::string kid;
  json::Value header;
  json::Value claims;      // issuer payload with disclosed claims inserted, _sd/_sd_alg removed
  json::Value holder_jwk;  // cnf.jwk (null when absent and key binding not required)
  std::vector<Disclosure> disclosures;
  std::optional<json::Value> kb_claims;
};

// Verifies an SD-JWT (+KB): issuer PS384 signature under the key the lookup returns for the header
// kid (jwk/jku/x5u/x5c headers refused), typ, _sd_alg, every disclosure's digest present exactly once
// and every digest used at most once, no duplicate disclosures, no claim name clash, exp > now,
// nbf <= now if present; with key binding: KB-JWT typ/alg, signature under cnf.jwk, aud, nonce,
// sd_hash, iat freshness.
Verified Verify(std::string_view serialization, const VerifyOptions& options);

}  // namespace realdid::sdjwt
