// The wallet file, presentation and offline verification.
//
// Wallet file (JSON, mode 0600, written atomically through a temp file + rename):
//   {"version":1,"authority":<base URL>,"kid":<signing kid>,"credential":<issued SD-JWT>,
//    "holder_jwk":{"kty":"EC","crv":"P-256","x":..,"y":..,"d":..}}
// The holder private key ("d") never leaves the file except as signatures. LoadWallet refuses a
// file readable or writable by group/other, re-verifies nothing online, and checks the credential's
// canonical form (credential::ParseStrict) and that cnf.jwk matches the holder key.
// Present(): the chosen disclosures (by claim name, in the fixed order) and a KB-JWT with aud,
// nonce, iat and sd_hash. VerifyOffline(): the relying party's check against a cached key set only.
// Thread-safety: pure functions apart from file I/O. Errors: Error(kInvalidInput) naming the rule.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/credential.h"
#include "core/json.h"
#include "wallet/issuance.h"
#include "wallet/key_set.h"

namespace realdid::wallet {

struct WalletFile {
  std::string authority;
  std::string kid;
  std::string credential;  // issued form
  json::Value holder_jwk;  // public part
  Secret holder_d;         // 32-byte scalar
};

void SaveWallet(const std::filesystem::path& path, std::string_view authority,
                const IssuedCredential& cred);
WalletFile LoadWallet(const std::filesystem::path& path);

// Disclosure names must be among credential::kDisclosedClaims (no repeats).
std::string Present(const WalletFile& wallet, const std::vector<std::string>& disclose,
                    std::string_view aud, std::string_view nonce, std::int64_t now);

struct VerifyResult {
  std::string kid;
  std::string iss;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  json::Value disclosed;  // object: only the disclosed claims, fixed order
  std::string ToJson() const;
};
// Strict parse, issuer signature by kid within `keys` (inside its window), every digest, KB-JWT
// (cnf key, aud, nonce, sd_hash, freshness), expiry. Throws Error(kInvalidInput) with the reason.
VerifyResult VerifyOffline(const KeySet& keys, std::string_view presentation, std::string_view aud,
                           std::string_view nonce, std::int64_t now);

}  // namespace realdid::wallet
