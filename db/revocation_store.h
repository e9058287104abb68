// Typed access to the revocation tables of migration 0006 inside a caller's transaction.
//
// State per issuer key id (kid, 43 characters): the revoked revocation ids (32 bytes each,
// core/credential.h RevocationId = SHA-256(jti || thumbprint(cnf)), never an issuer index), each
// tagged with the list version that added it; and one list-state row (version, key_revoked). A
// list's version starts at 0 (empty, key not revoked) and grows by exactly one per transaction that
// changes the kid's state, so "the ids added since version V" is a plain range query.
// Writers of one kid are serialized by a row lock on its list-state row (taken in kid order, so
// multi-kid revocations cannot deadlock). Revocations are append-only (a trigger refuses UPDATE and
// DELETE); a revoked key stays revoked.
// Every call of Revoke / RevokeKey that changes something appends one audit row (db/audit_store.h,
// kind "revocation") in the same transaction: source, kid(s), new version(s), the ids. No identity,
// no reason text, no per-entry time.
// Thread-safety: functions on a caller's Tx (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::db {

struct RevocationEntry {
  std::string kid;      // 43 characters (base64url SHA-256 thumbprint of the issuer key)
  Bytes revocation_id;  // 32 bytes
};

// Idempotent insert; bumps each touched kid's list version once (only kids that gained at least
// one new id); source: "holder" | "warrant" | "key" | "operator". Throws Error(kInvalidInput) on a
// malformed kid/id/source. Returns the number of ids that were new.
std::size_t Revoke(Tx& tx, const std::vector<RevocationEntry>& entries, std::string_view source,
                   std::int64_t now);
// True when this id is revoked under kid, or when the whole key is revoked.
bool IsRevoked(Tx& tx, std::string_view kid, ByteView revocation_id);

// Revokes a whole signing key (all credentials under kid). Idempotent: false when it was already
// revoked (no version bump). source is normally "key".
bool RevokeKey(Tx& tx, std::string_view kid, std::string_view source, std::int64_t now);

struct RevocationListState {
  std::string kid;
  std::int64_t version = 0;   // 0: nothing ever revoked under kid
  bool key_revoked = false;
  std::optional<std::int64_t> key_revoked_version;  // the version that revoked the key
  std::int64_t updated_at = 0;  // Unix seconds of the last change (0 when none)
  // Whether the key counts as revoked in the list of `at_version`.
  bool KeyRevokedAt(std::int64_t at_version) const noexcept {
    return key_revoked_version && *key_revoked_version <= at_version;
  }
};
// The kid's list state; version 0 / not revoked when the kid has no row yet.
RevocationListState GetListState(Tx& tx, std::string_view kid);
// Revoked ids of kid added in versions (since_version, up_to_version], sorted ascending
// (bytewise). since_version = 0 gives the full list as of up_to_version.
std::vector<Bytes> RevokedIds(Tx& tx, std::string_view kid, std::int64_t since_version,
                              std::int64_t up_to_version);

// ---- signed-list cache (so every node serves identical bytes for one list issue) ----
// One "issue" of a kid's list: the version it covers and its issued_at / next_update; the signed
// full list (JWS compact, ASCII) is stored with it. Deltas of the same issue are cached by `since`.
struct SignedListRow {
  std::string kid;
  std::int64_t version = 0;
  std::int64_t issued_at = 0;
  std::int64_t next_update = 0;
  std::string jws;
};
// The newest cached issue of kid's full list, if any.
std::optional<SignedListRow> GetSignedList(Tx& tx, std::string_view kid);
// Stores row as kid's newest issue unless a newer-or-equal issue (version, issued_at) is cached
// already. Returns the row now cached (the caller's or the concurrent winner's).
SignedListRow PutSignedList(Tx& tx, const SignedListRow& row);
// The cached delta of issue (kid, version, issued_at) since `since`, if any.
std::optional<std::string> GetSignedDelta(Tx& tx, std::string_view kid, std::int64_t version,
                                          std::int64_t issued_at, std::int64_t since);
// Stores a delta unless one exists for the same key; returns the stored bytes (first writer wins).
std::string PutSignedDelta(Tx& tx, std::string_view kid, std::int64_t version,
                           std::int64_t issued_at, std::int64_t since, std::string_view jws);

// ---- holder-revocation nonces (single use, authority-issued) ----
void InsertRevocationNonce(Tx& tx, ByteView nonce, std::int64_t expires_at);
// Marks the nonce used if it exists, is unused and unexpired at now; false otherwise (replay).
bool ConsumeRevocationNonce(Tx& tx, ByteView nonce, std::int64_t now);
std::uint64_t PruneRevocationNonces(Tx& tx, std::int64_t before);

}  // namespace realdid::db
