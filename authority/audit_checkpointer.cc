#include "authority/audit_checkpointer.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <utility>

#include "authority/log.h"
#include "core/error.h"
#include "core/json.h"
#include "db/audit_checkpoint_store.h"
#include "db/audit_store.h"

namespace realdid::authority {
namespace {

std::int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

AuditCheckpointer::AuditCheckpointer(CheckpointerSettings settings, db::Pool& pool,
                                     hsm::Token& token, hsm::KeyRef key, std::string kid,
                                     prometheus::Registry* registry,
                                     std::function<std::int64_t()> clock)
    : settings_(settings),
      pool_(pool),
      token_(token),
      key_(std::move(key)),
      kid_(std::move(kid)),
      clock_(clock ? std::move(clock) : std::function<std::int64_t()>(SystemNow)) {
  if (settings_.every_rows < 1 || settings_.interval.count() < 1 || settings_.max_rows < 1) {
    InvalidInput("audit checkpointer: every_rows, interval and max_rows must be positive");
  }
  if (registry != nullptr) {
    gauge_ = &prometheus::BuildGauge()
                  .Name("realdid_audit_last_checkpoint_timestamp_seconds")
                  .Help("Unix time (signed_at) of the newest signed audit checkpoint")
                  .Register(*registry)
                  .Add({});
  }
}

AuditCheckpointer::~AuditCheckpointer() { Stop(); }

std::optional<audit::Checkpoint> AuditCheckpointer::RunOnce(bool force) {
  struct Outcome {
    std::optional<audit::Checkpoint> written;
    std::int64_t newest_signed_at = -1;
  };
  Outcome out = pool_.Run("audit_checkpoint", [&](db::Tx& tx) {
    Outcome o;
    db::LockCheckpoints(tx);
    std::optional<audit::Checkpoint> last = db::LastCheckpoint(tx);
    if (last) o.newest_signed_at = last->signed_at;
    const std::int64_t from = last ? last->to_seq : 0;
    const std::int64_t now = clock_();
    const bool rows_due = db::AuditHeadSeq(tx) - from >= settings_.every_rows;
    const bool time_due = !last || now - last->signed_at >= settings_.interval.count();
    // With no checkpoint yet, the first one is due at once (it may cover an empty log).
    if (!force && !rows_due && !time_due) return o;
    std::vector<audit::Row> rows = db::ReadRowsAfter(tx, from, settings_.max_rows);
    // Re-verify what is about to be signed: contiguous seq, links from the signed head, hashes.
    Bytes prev = last ? last->head_hash : audit::GenesisHash();
    std::int64_t expected = from + 1;
    Bytes hashes;
    hashes.reserve(rows.size() * audit::kHashLen);
    for (const audit::Row& r : rows) {
      if (r.seq != expected || r.prev_hash != prev ||
          audit::RowHash(r.seq, r.prev_hash, r.kind, r.content) != r.row_hash) {
        Fail(ErrorKind::kInternal,
             "audit chain broken at row " + std::to_string(expected) + ": refusing to sign");
      }
      prev = r.row_hash;
      hashes.insert(hashes.end(), r.row_hash.begin(), r.row_hash.end());
      ++expected;
    }
    const std::int64_t signed_at = last && now < last->signed_at ? last->signed_at : now;
    audit::Checkpoint c = audit::NextCheckpoint(last ? &*last : nullptr, expected - 1,
                                                std::move(hashes), signed_at, kid_);
    c.signature = token_.EcdsaP256Sign(key_, audit::EncodeCheckpoint(c));
    db::InsertCheckpoint(tx, c);
    o.newest_signed_at = c.signed_at;
    o.written = std::move(c);
    return o;
  });
  if (gauge_ != nullptr && out.newest_signed_at >= 0) {
    gauge_->Set(static_cast<double>(out.newest_signed_at));
  }
  return std::move(out.written);
}

void AuditCheckpointer::Start(std::function<void()> until_success) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, task = std::move(until_success)]() mutable { Loop(std::move(task)); });
}

void AuditCheckpointer::Stop() noexcept {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditCheckpointer::Loop(std::function<void()> until_success) {
  const auto tick = std::min<std::chrono::milliseconds>(settings_.interval, std::chrono::seconds(1));
  bool failing = false;
  for (;;) {
    try {
      if (until_success) {
        until_success();
        until_success = nullptr;
      }
      // Drain a backlog (several checkpoints) before sleeping.
      for (int i = 0; i < 64; ++i) {
        std::optional<audit::Checkpoint> c = RunOnce();
        if (!c) break;
        LogInfo("audit checkpoint signed", {{"number", c->number},
                                            {"to_seq", c->to_seq},
                                            {"rows", c->to_seq - c->from_seq}});
      }
      if (failing) LogInfo("audit checkpointer recovered", {});
      failing = false;
    } catch (const Error& e) {
      if (!failing) {
        LogError("audit checkpoint failed",
                 {{"kind", ErrorKindName(e.kind())}, {"detail", e.detail()}});
      }
      failing = true;
    } catch (const std::exception& e) {
      if (!failing) LogError("audit checkpoint failed", {{"kind", "unexpected"}, {"detail", e.what()}});
      failing = true;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, tick, [this] { return stop_; })) return;
  }
}

std::size_t PublishManifestKeys(db::Pool& pool, const std::vector<ManifestKey>& manifest) {
  return pool.Run("audit_publish_keys", [&](db::Tx& tx) {
    std::size_t appended = 0;
    for (const ManifestKey& k : manifest) {
      auto opt = [](const std::optional<std::int64_t>& v) {
        return v ? json::Value(*v) : json::Value(nullptr);
      };
      // Members in the order docs/protocol.md 13.1 lists them (sorted by name).
      const json::Value content(json::Object{{"alg", k.alg},
                                             {"cka_id", ToHex(k.cka_id)},
                                             {"exp", opt(k.exp)},
                                             {"kid", k.kid},
                                             {"label", k.label},
                                             {"nbf", opt(k.nbf)},
                                             {"role", k.role},
                                             {"token", k.token}});
      if (db::AppendKeyPublishedOnce(tx, k.kid, k.role, ToBytes(json::Serialize(content)))) {
        ++appended;
      }
    }
    return appended;
  });
}

std::unique_ptr<AuditCheckpointer> StartAuditCheckpointer(const AuditConfig& config,
                                                          const std::vector<ManifestKey>& manifest,
                                                          std::string_view token_label,
                                                          db::Pool& pool, hsm::Token& token,
                                                          Metrics& metrics) {
  // Before the listeners open, so the rows precede any request the new keys serve.
  std::function<void()> publish = [&pool, manifest] {
    const std::size_t n = PublishManifestKeys(pool, manifest);
    if (n > 0) LogInfo("keys published in the audit log", {{"keys", static_cast<std::int64_t>(n)}});
  };
  try {
    publish();
    publish = nullptr;
  } catch (const std::exception& e) {
    LogError("publishing the manifest's keys in the audit log failed; retrying",
             {{"detail", e.what()}});
  }
  for (const ManifestKey& k : manifest) {
    if (k.role != "audit-signing" || k.token != token_label) continue;
    CheckpointerSettings settings;
    settings.every_rows = config.checkpoint_rows;
    settings.interval = std::chrono::seconds(config.checkpoint_interval);
    auto c = std::make_unique<AuditCheckpointer>(settings, pool, token, hsm::KeyRef{k.label, k.cka_id},
                                                 k.kid, metrics.registry().get());
    c->Start(std::move(publish));  // a failed publication is retried on its ticks
    LogInfo("audit checkpointer started", {{"kid", k.kid},
                                           {"checkpoint_rows", config.checkpoint_rows},
                                           {"checkpoint_interval_seconds", config.checkpoint_interval}});
    return c;
  }
  LogWarn("key manifest lists no audit-signing key on the issuance token: no audit checkpoints",
          {{"token", token_label}});
  return nullptr;
}

}  // namespace realdid::authority
