// The relying party's side of Privacy Pass (RFC 9577 redemption, token type 0x0002): make a
// TokenChallenge, verify a token against the issuer directory's keys, and refuse a token whose
// nonce was seen before (double spend).
//
// SeenNonceStore is a file-backed set for the `realdid token redeem` command and small sites:
// one line per redeemed token, the lower-case hex of SHA-256(token_key_id || nonce), appended under
// an exclusive flock(2) so concurrent redeemers on one host cannot both accept the same token. The
// file only grows; an operator may rotate it together with the token key (a token of a retired key
// no longer verifies). A site with several hosts needs a shared store (a database table with a
// unique key on the same value) instead; the rule is the same.
// Security contract: a token proves only "some RealDID holder obtained this from the authority";
// it carries no identity, and the nonce is random, so the seen-set holds nothing linkable.
// Errors: Error(kInvalidInput) malformed token or challenge, kForbidden a token that does not verify
// (wrong key, wrong challenge, bad signature), kConflict a double spend, kInternal file trouble.
// Thread-safety: Redeem and the store's CheckAndRecord are safe to call concurrently (the file lock
// serializes them); the other functions are pure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/privacypass.h"

namespace realdid::privacypass {

// A fresh challenge for `issuer_name` (host[:port] of the authority). With `fresh_context` a random
// 32-byte redemption_context binds the token to this one challenge (RFC 9577 2.1.1).
Bytes MakeChallenge(std::string_view issuer_name, const std::vector<std::string>& origin_info,
                    bool fresh_context);

class SeenNonceStore {
 public:
  explicit SeenNonceStore(std::filesystem::path path) : path_(std::move(path)) {}
  // True when the token was not seen before (and is now recorded); false for a double spend.
  bool CheckAndRecord(const Token& token);

 private:
  std::filesystem::path path_;
};

struct Redeemed {
  Token token;
  Bytes token_key_id;
  std::int64_t not_before = 0;
};

// Verifies `token_bytes` against the directory's keys (the key whose SHA-256(SPKI) is the token's
// key id), the challenge digest when `challenge` is given, then (when `seen` is given) records it.
Redeemed Redeem(const Directory& directory, ByteView token_bytes,
                std::optional<ByteView> challenge, SeenNonceStore* seen);

}  // namespace realdid::privacypass
