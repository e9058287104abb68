// The key manifest (keys.json) written by the key ceremony (tools/ceremony), read by the service
// to know which HSM keys it must find.
//
// Format: {"version":1,"keys":[{"role","token","label","kid","cka_id"(hex),"alg","jwk"?,
// "nbf"?,"exp"?}...]} (nbf/exp: the validity window [nbf, exp) of a blind-signing key, Unix seconds).
// Only public facts are in it (labels, ids, public JWKs); it holds no secret.
// Errors: an unreadable or malformed manifest throws Error(kInvalidInput) naming the file.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"

namespace realdid::authority {

struct ManifestKey {
  std::string role;
  std::string token;
  std::string label;
  std::string kid;
  Bytes cka_id;
  std::string alg;
  json::Value jwk;                  // public JWK; null for secret keys
  std::optional<std::int64_t> nbf;  // validity window (blind-signing keys)
  std::optional<std::int64_t> exp;
};

std::vector<ManifestKey> ParseKeyManifest(std::string_view text);
std::vector<ManifestKey> LoadKeyManifest(const std::string& path);

}  // namespace realdid::authority
