// The authority's published key set (GET /.well-known/jwks.json, docs/protocol.md 5.0) as a wallet
// or relying party holds it: the blind-signing keys with their validity windows, the escrow key and
// the issuance policy.
//
// ParseKeySet checks what can be checked from the document alone: every kid is the RFC 7638
// thumbprint of its key (a kid is derived, never chosen), RSA keys are PS384 signing keys with
// e = 65537 and a 2048/3072/4096-bit modulus, windows satisfy nbf < exp, the escrow key is a valid
// P-256 point, and the policy is self-consistent (e = 65537, modulus_bits one of the three sizes,
// k >= min_k >= 2, lifetime > 0 and a whole number of seconds). Unknown extra members are ignored.
// Issuer key lookup for verification resolves kid only within this set and only inside the key's
// validity window.
// Thread-safety: immutable value after parsing. Errors: Error(kInvalidInput) "key set: ...".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/blind_rsa.h"
#include "core/hpke.h"
#include "core/json.h"
#include "core/sdjwt.h"

namespace realdid::wallet {

struct SigningKey {
  std::string kid;
  json::Value jwk;  // as published
  blind_rsa::PublicKey pk;
  std::int64_t nbf = 0;
  std::int64_t exp = 0;
  bool ValidAt(std::int64_t now) const noexcept { return nbf <= now && now < exp; }
};

struct Policy {
  std::string vct;
  std::int64_t modulus_bits = 0;
  std::int64_t e = 0;
  std::int64_t credential_lifetime = 0;  // L, seconds
  std::int64_t k = 0;
  std::int64_t min_k = 0;
};

struct KeySet {
  std::vector<SigningKey> keys;
  std::string escrow_kid;
  json::Value escrow_jwk;
  hpke::PublicKey escrow_pk;
  Policy policy;
  std::string text;  // the document as fetched

  const SigningKey* Find(std::string_view kid) const noexcept;
  // The one key active for issuance at `now`: its window contains now and it started last (ties
  // are refused as ambiguous). nullptr when there is none or the choice is ambiguous.
  const SigningKey* Active(std::int64_t now) const noexcept;
  // A verifier key lookup: kid within `keys` only, and only when the key's window contains `now`.
  sdjwt::KeyLookup Lookup(std::int64_t now) const;
};

KeySet ParseKeySet(std::string_view text);

}  // namespace realdid::wallet
