// Appends to and reads the hash-chained audit_log (migration 0001) inside a caller's transaction.
//
// AppendAudit serializes writers with a transaction-scoped advisory lock (pg_advisory_xact_lock),
// reads the chain head (from audit_log_keys, migration 0009), and inserts seq+1 with prev_hash =
// the head's row_hash and row_hash computed by core/audit_chain.h. The lock is held until the
// caller's transaction ends, so appends from any number of processes form one chain; the audit row
// commits or rolls back with the event it records.
// Security contract: callers put no identity data (names, ID numbers) and no secrets in content.
// Thread-safety: functions on a caller's Tx (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/audit_chain.h"
#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::db {

struct AuditAppended {
  std::int64_t seq = 0;
  Bytes row_hash;
};

AuditAppended AppendAudit(Tx& tx, std::string_view kind, ByteView content);
// Appends a "key.published" row with `content` unless one was appended for `kid` before (table
// published_keys, migration 0010); the check runs under the same advisory lock as AppendAudit, so
// each key is published once across every process and restart. nullopt: already published.
std::optional<AuditAppended> AppendKeyPublishedOnce(Tx& tx, std::string_view kid,
                                                    std::string_view role, ByteView content);
// Rows with seq >= from_seq in seq order, at most limit.
std::vector<audit::Row> ReadAudit(Tx& tx, std::int64_t from_seq, std::int64_t limit);

}  // namespace realdid::db
