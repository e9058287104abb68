// The relying party's and the holder's side of revocation (docs/protocol.md 10).
//
// - RevocationListKeyFrom(): the revocation-list key from the pinned key set (member "revocation";
//   its kid must be its RFC 7638 thumbprint). Lists are verified only against it.
// - RevocationCache: per issuer kid, on disk in one folder: <kid>.full.jws (the last full list),
//   <kid>.deltas (the delta JWSs applied since, one per line) and <kid>.etag ("<path> <etag>").
//   Load() re-verifies every signature and replays the deltas, so a tampered cache is refused, not
//   trusted. Store*() refuse stale lists (now > next_update) and rollbacks (lower version, older
//   issued_at, key revocation undone) relative to what is cached. Files are written atomically.
// - FetchRevocationLists(): for every blind-signing kid of the key set, a delta since the cached
//   version (If-None-Match with the cached ETag; 304 keeps the cache), or the full list when
//   nothing is cached, the delta chain is long, or the server refuses the delta. Anonymous GETs,
//   the same for every relying party; nothing about any login is sent.
// - CheckNotRevoked(): OFFLINE check against the cache only (no network: BRIEF section 5). Refuses
//   a missing, stale or revoking list.
// - RevokeCredential(): holder revocation: nonce, proof of possession signed with the wallet's
//   holder key (aud = the credential's iss), POST /v1/revocations.
// Errors: Error(kInvalidInput) "revocation ..." for every refusal; transport errors kUnavailable;
// an error answer of the authority is ServerRefusal.
// Thread-safety: one thread at a time per cache object (the folder is not locked).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/jws.h"
#include "core/revocation_list.h"
#include "wallet/https_client.h"
#include "wallet/key_set.h"
#include "wallet/wallet_file.h"

namespace realdid::wallet {

struct RevocationListKey {
  std::string kid;
  jws::PublicKey pk;
};
RevocationListKey RevocationListKeyFrom(const KeySet& keys);

class RevocationCache {
 public:
  // Creates the folder if missing.
  RevocationCache(std::filesystem::path dir, RevocationListKey key);

  const RevocationListKey& key() const noexcept { return key_; }
  // The cached list of kid (full + deltas, every signature re-verified); nullopt when none.
  std::optional<revocation::List> Load(std::string_view kid) const;
  std::size_t DeltaCount(std::string_view kid) const;
  // ETag stored for `path`, if the last answer stored for kid came from that path.
  std::optional<std::string> Etag(std::string_view kid, std::string_view path) const;
  // Verify, CheckFresh(now), CheckNotRolledBack(cached), then store; returns the resulting list.
  revocation::List StoreFull(std::string_view jws, std::string_view path, std::string_view etag,
                             std::int64_t now);
  revocation::List StoreDelta(std::string_view kid, std::string_view jws, std::string_view path,
                              std::string_view etag, std::int64_t now);

 private:
  std::filesystem::path File(std::string_view kid, std::string_view ext) const;
  std::filesystem::path dir_;
  RevocationListKey key_;
};

struct FetchReport {
  std::string kid;
  std::int64_t version = 0;
  std::int64_t next_update = 0;
  bool key_revoked = false;
  std::size_t ids = 0;
  std::string how;  // "full", "delta" or "not-modified"
  std::size_t bytes = 0;
};

inline constexpr std::size_t kMaxDeltaChain = 32;

std::vector<FetchReport> FetchRevocationLists(HttpsClient& http, const KeySet& keys,
                                              RevocationCache& cache, std::int64_t now);

// Offline: throws Error(kInvalidInput) "revocation: ..." when kid has no cached list, the list is
// stale at now, or it revokes revocation_id (or the whole key).
void CheckNotRevoked(const RevocationCache& cache, std::string_view kid, ByteView revocation_id,
                     std::int64_t now);

struct RevokeResult {
  std::string kid;
  Bytes revocation_id;
  std::int64_t version = 0;
  bool newly_revoked = false;
};
RevokeResult RevokeCredential(HttpsClient& http, const WalletFile& wallet, std::int64_t now);

}  // namespace realdid::wallet
