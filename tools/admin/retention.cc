#include "tools/admin/retention.h"

#include "core/error.h"
#include "core/json.h"
#include "db/audit_store.h"
#include "db/issuance_store.h"

namespace realdid::admin {

RetentionRun PruneCommitBlobs(db::Pool& owner_pool, std::int64_t older_than_days,
                              std::int64_t batch,
                              const std::function<void(std::int64_t)>& on_batch) {
  if (older_than_days < 1) InvalidInput("--older-than-days must be at least 1");
  if (batch < 1) InvalidInput("--batch must be at least 1");
  RetentionRun run;
  for (;;) {
    const std::int64_t n = owner_pool.Run("retention_commit_blobs", [&](db::Tx& tx) {
      const std::int64_t pruned = db::PruneCommitBlobs(tx, older_than_days, batch);
      // After the UPDATE: the audit writers' lock is held only for the commit of this batch.
      if (pruned > 0) {
        const Bytes content = ToBytes(json::Serialize(json::Value(
            json::Object{{"pruned", pruned}, {"older_than_days", older_than_days}})));
        db::AppendAudit(tx, "retention.commit_blobs", content);
      }
      return pruned;
    });
    if (n == 0) break;
    run.pruned += n;
    ++run.batches;
    if (on_batch) on_batch(n);
    if (n < batch) break;
  }
  return run;
}

}  // namespace realdid::admin
