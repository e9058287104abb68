// AuditCheckpointer: signs checkpoints of the audit log (core/audit_checkpoint.h) with the audit
// ECDSA P-256 key on the issuance token, from inside the authority process.
//
// A checkpoint is due when at least every_rows rows were appended since the last one, or when the
// last one is at least `interval` old (then it may cover no new row: a signed statement that the
// log still ended there). RunOnce() takes the checkpoint advisory lock, re-reads the newest
// checkpoint (another authority process may have written it), re-verifies the rows it is about to
// cover (chain and links, from the previous signed head) and refuses to sign a broken chain, signs
// in the HSM and inserts, all in one transaction; so several processes never fork or duplicate
// checkpoints. At most max_rows rows per checkpoint (a backlog becomes several checkpoints).
// The gauge realdid_audit_last_checkpoint_timestamp_seconds is the signed_at of the newest
// checkpoint in the database, whoever wrote it (alert RealdidAuditCheckpointOverdue).
// Start() runs RunOnce in a background thread every min(interval, 1 s); failures are logged (no row
// content) and retried on the next tick. Start(task) also runs `task` on the first ticks until it
// succeeds once (the wiring publishes the manifest's keys that way: a database that is down at
// start-up delays the "key.published" rows, it does not lose them).
// Thread-safety: RunOnce is thread-safe; Start/Stop from one thread. Stop before the pool/token die.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "authority/config.h"
#include "authority/key_manifest.h"
#include "authority/metrics.h"
#include "core/audit_checkpoint.h"
#include "db/pool.h"
#include "hsm/token.h"

namespace prometheus {
class Registry;
class Gauge;
}  // namespace prometheus

namespace realdid::authority {

struct CheckpointerSettings {
  std::int64_t every_rows = 1000;               // >= 1
  std::chrono::seconds interval{300};           // >= 1 s
  std::int64_t max_rows = 65536;                // per checkpoint
};

class AuditCheckpointer {
 public:
  // registry may be null (no gauge). clock returns Unix seconds (default: system clock).
  AuditCheckpointer(CheckpointerSettings settings, db::Pool& pool, hsm::Token& token,
                    hsm::KeyRef key, std::string kid, prometheus::Registry* registry = nullptr,
                    std::function<std::int64_t()> clock = {});
  ~AuditCheckpointer();
  AuditCheckpointer(const AuditCheckpointer&) = delete;
  AuditCheckpointer& operator=(const AuditCheckpointer&) = delete;

  // Writes one checkpoint if due (or if force); returns it, or nullopt when none was due.
  // Throws realdid::Error / db::DbError (a broken chain is Error(kInternal) "audit chain broken").
  std::optional<audit::Checkpoint> RunOnce(bool force = false);

  void Start(std::function<void()> until_success = {});
  void Stop() noexcept;

 private:
  void Loop(std::function<void()> until_success);

  const CheckpointerSettings settings_;
  db::Pool& pool_;
  hsm::Token& token_;
  const hsm::KeyRef key_;
  const std::string kid_;
  const std::function<std::int64_t()> clock_;
  prometheus::Gauge* gauge_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// Appends one "key.published" audit row per manifest key not published before (any node, any
// restart; db::AppendKeyPublishedOnce), all in one transaction. Content (canonical JSON): alg,
// cka_id (hex), exp, kid, label, nbf, role, token (nbf/exp null when absent). Returns the rows appended.
// Throws db::DbError / realdid::Error when the database refuses.
std::size_t PublishManifestKeys(db::Pool& pool, const std::vector<ManifestKey>& manifest);

// Wiring for main: publishes the manifest's keys (PublishManifestKeys) before returning, then
// starts the checkpointer over the "audit-signing" key of the issuance token and [audit]. A failed
// publication (database down at start-up) is logged and retried on the checkpointer's ticks.
// nullptr (with a warning) when the manifest has no audit-signing key.
std::unique_ptr<AuditCheckpointer> StartAuditCheckpointer(const AuditConfig& config,
                                                          const std::vector<ManifestKey>& manifest,
                                                          std::string_view token_label,
                                                          db::Pool& pool, hsm::Token& token,
                                                          Metrics& metrics);

}  // namespace realdid::authority
