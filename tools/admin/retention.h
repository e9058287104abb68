// Retention jobs of realdid-admin, run through the schema owner's connection (realdid_owner).
//
// PruneCommitBlobs drops issuance_sessions.commit_blob of signed and expired sessions older than
// a number of days (migration 0011; docs/operations.md "Retention of commit blobs"), in batches:
// each batch is one transaction that prunes at most `batch` rows (oldest first, rows locked by
// another transaction are skipped) and appends one audit row "retention.commit_blobs" with
// content {"pruned":n,"older_than_days":d} in the same transaction, so the audit log records
// exactly what was committed. A batch that prunes nothing appends nothing and ends the run; so
// does a batch smaller than `batch`. Failed sessions keep their blob (evidence of a cheat).
// Thread-safety: free functions. Errors: Error(kInvalidInput) for older_than_days < 1 or a batch
// size < 1 (before any database access); DbError from the database. Batches committed before an
// error stay committed (and audited); running the command again continues.
// Security contract: the audit content carries counts only, no identity data.
#pragma once

#include <cstdint>
#include <functional>

#include "db/pool.h"

namespace realdid::admin {

constexpr std::int64_t kDefaultRetentionBatch = 10000;

struct RetentionRun {
  std::int64_t pruned = 0;   // rows pruned over all batches
  std::int64_t batches = 0;  // committed batches that pruned at least one row
};

// on_batch (optional) is called after each committed batch with that batch's count.
RetentionRun PruneCommitBlobs(db::Pool& owner_pool, std::int64_t older_than_days,
                              std::int64_t batch = kDefaultRetentionBatch,
                              const std::function<void(std::int64_t)>& on_batch = {});

}  // namespace realdid::admin
