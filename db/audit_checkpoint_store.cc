#include "db/audit_checkpoint_store.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "db/audit_store.h"

namespace realdid::db {
namespace {

// Advisory lock key of checkpoint writers ("RDCP" in ASCII).
constexpr long long kCheckpointLockKey = 0x52444350;

audit::Checkpoint FromRow(const Row& r) {
  audit::Checkpoint c;
  c.number = r.GetInt64("number");
  c.prev_hash = r.GetBytes("prev_hash");
  c.from_seq = r.GetInt64("from_seq");
  c.to_seq = r.GetInt64("to_seq");
  c.head_hash = r.GetBytes("head_hash");
  c.row_hashes = r.GetBytes("row_hashes");
  c.signed_at = r.GetInt64("signed_at");
  c.kid = r.GetString("kid");
  c.signature = r.GetBytes("signature");
  return c;
}

constexpr const char* kCheckpointColumns =
    "number, prev_hash, from_seq, to_seq, head_hash, row_hashes, signed_at, kid, signature";

}  // namespace

void LockCheckpoints(Tx& tx) { tx.Exec("SELECT pg_advisory_xact_lock($1)", {kCheckpointLockKey}); }

std::optional<audit::Checkpoint> LastCheckpoint(Tx& tx) {
  Result r = tx.Exec(std::string("SELECT ") + kCheckpointColumns +
                     " FROM audit_checkpoints ORDER BY number DESC LIMIT 1");
  if (r.empty()) return std::nullopt;
  return FromRow(r[0]);
}

std::vector<audit::Checkpoint> ReadCheckpoints(Tx& tx, std::int64_t from_number, std::int64_t limit) {
  Result r = tx.Exec(std::string("SELECT ") + kCheckpointColumns +
                         " FROM audit_checkpoints WHERE number >= $1 ORDER BY number LIMIT $2",
                     {static_cast<long long>(from_number), static_cast<long long>(limit)});
  std::vector<audit::Checkpoint> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(FromRow(r[i]));
  return out;
}

void InsertCheckpoint(Tx& tx, const audit::Checkpoint& c) {
  tx.Exec(
      "INSERT INTO audit_checkpoints (number, prev_hash, from_seq, to_seq, head_hash, row_hashes, "
      "signed_at, kid, signature, checkpoint_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      {static_cast<long long>(c.number), ByteView(c.prev_hash), static_cast<long long>(c.from_seq),
       static_cast<long long>(c.to_seq), ByteView(c.head_hash), ByteView(c.row_hashes),
       static_cast<long long>(c.signed_at), c.kid, ByteView(c.signature),
       audit::CheckpointHash(c)});
}

std::int64_t AuditHeadSeq(Tx& tx) {
  Result r = tx.Exec("SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1");
  return r.empty() ? 0 : r[0].GetInt64("seq");
}

std::vector<audit::Row> ReadRowsAfter(Tx& tx, std::int64_t after_seq, std::int64_t limit) {
  return ReadAudit(tx, after_seq + 1, limit);
}

audit::LogReport VerifyAuditLog(Pool& pool, std::map<std::string, jws::PublicKey> keys,
                                const AuditVerifyOptions& options) {
  TxOptions ro;
  ro.isolation = Isolation::kRepeatableRead;
  ro.read_only = true;
  const std::int64_t page = options.page < 1 ? 1 : options.page;
  return pool.Run("audit_verify", ro, [&](Tx& tx) {
    audit::LogVerifier v(keys);
    if (options.witness) v.ExpectWitness(*options.witness);
    std::int64_t next_checkpoint = 1;
    bool checkpoints_done = false;
    auto load_checkpoints = [&](std::int64_t until_seq) {
      while (!checkpoints_done && !v.failed() && v.covered_seq() < until_seq) {
        // Few checkpoints per query: each holds up to 32 bytes per covered row.
        std::vector<audit::Checkpoint> cps =
            ReadCheckpoints(tx, next_checkpoint, std::min<std::int64_t>(page, 64));
        if (cps.empty()) {
          checkpoints_done = true;
          break;
        }
        for (const audit::Checkpoint& c : cps) {
          next_checkpoint = c.number + 1;
          if (!v.AddCheckpoint(c)) return;
        }
      }
    };
    std::int64_t after = 0;
    while (!v.failed()) {
      std::vector<audit::Row> rows = ReadAudit(tx, after + 1, page);
      if (rows.empty()) break;
      for (const audit::Row& r : rows) {
        load_checkpoints(r.seq);
        if (v.failed() || !v.AddRow(r)) break;
        after = r.seq;
      }
      if (static_cast<std::int64_t>(rows.size()) < page) break;
    }
    load_checkpoints(std::numeric_limits<std::int64_t>::max());
    return v.Finish();
  });
}

std::vector<audit::Checkpoint> ExportCheckpoints(Pool& pool, std::int64_t from_number) {
  TxOptions ro;
  ro.isolation = Isolation::kRepeatableRead;
  ro.read_only = true;
  return pool.Run("audit_export", ro, [&](Tx& tx) {
    std::vector<audit::Checkpoint> out;
    std::int64_t next = from_number < 1 ? 1 : from_number;
    for (;;) {
      std::vector<audit::Checkpoint> page = ReadCheckpoints(tx, next, 1000);
      if (page.empty()) break;
      next = page.back().number + 1;
      for (audit::Checkpoint& c : page) out.push_back(std::move(c));
    }
    return out;
  });
}

}  // namespace realdid::db
