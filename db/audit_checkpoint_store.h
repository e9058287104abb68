// Reads and writes audit_checkpoints (migration 0003) inside a caller's transaction, and the
// read-only verification of the whole audit log against them (`realdid audit verify`).
//
// LockCheckpoints takes a transaction-scoped advisory lock (pg_advisory_xact_lock, key "RDCP") so
// that any number of authority processes write one chain of checkpoints; the table's primary key
// and unique prev_hash refuse a fork even without it. ReadRowsAfter returns full rows so the writer
// can re-verify what it is about to sign.
// VerifyAuditLog reads every checkpoint and every row in one REPEATABLE READ, READ ONLY
// transaction (one consistent snapshot; any role with SELECT on both tables, or a read replica),
// in pages, through audit::LogVerifier.
// Security contract: audit rows carry no identity data; nothing here logs row content.
// Thread-safety: functions on a caller's Tx (one thread at a time); VerifyAuditLog and
// ExportCheckpoints use the pool (thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/audit_checkpoint.h"
#include "core/jws.h"
#include "db/pool.h"

namespace realdid::db {

void LockCheckpoints(Tx& tx);
std::optional<audit::Checkpoint> LastCheckpoint(Tx& tx);
// Checkpoints with number >= from_number in number order, at most limit.
std::vector<audit::Checkpoint> ReadCheckpoints(Tx& tx, std::int64_t from_number, std::int64_t limit);
void InsertCheckpoint(Tx& tx, const audit::Checkpoint& c);
// The newest row's seq (0 for an empty log).
std::int64_t AuditHeadSeq(Tx& tx);
// Rows with seq > after_seq in seq order, at most limit.
std::vector<audit::Row> ReadRowsAfter(Tx& tx, std::int64_t after_seq, std::int64_t limit);

struct AuditVerifyOptions {
  std::optional<audit::WitnessState> witness;
  std::int64_t page = 5000;  // rows / checkpoints per query
};
audit::LogReport VerifyAuditLog(Pool& pool, std::map<std::string, jws::PublicKey> keys,
                                const AuditVerifyOptions& options = {});
// Every checkpoint with number >= from_number (one READ ONLY snapshot).
std::vector<audit::Checkpoint> ExportCheckpoints(Pool& pool, std::int64_t from_number = 1);

}  // namespace realdid::db
