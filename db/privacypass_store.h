// Typed access to the Privacy Pass quota table of migration 0007 inside a caller's transaction.
//
// A quota row is keyed by a credential's revocation id (32 bytes) and the UTC day number; it holds
// how many tokens that credential obtained that day. Nothing else is stored: no person, no token,
// no blinded message (docs/threat-model.md, "Privacy Pass").
// Thread-safety: functions on a caller's Tx (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>

#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::db {

// Adds `n` (>= 1) to the credential's count for `day` unless that would exceed `limit`.
// Returns the new count, or nullopt (nothing changed) when the quota does not cover n more.
// One statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE), so concurrent calls never overspend.
// Throws Error(kInvalidInput) on a malformed id, n < 1 or a negative day/limit.
std::optional<std::int64_t> ConsumePrivacyPassQuota(Tx& tx, ByteView revocation_id,
                                                    std::int64_t day, std::int64_t n,
                                                    std::int64_t limit);
// The count so far (0 when no row).
std::int64_t PrivacyPassQuotaUsed(Tx& tx, ByteView revocation_id, std::int64_t day);
// Deletes the rows of days before `before_day`; returns how many.
std::uint64_t PrunePrivacyPassQuota(Tx& tx, std::int64_t before_day);

}  // namespace realdid::db
