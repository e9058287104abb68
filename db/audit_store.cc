#include "db/audit_store.h"

namespace realdid::db {
namespace {
// Advisory lock key of audit appends ("RDAU" in ASCII).
constexpr long long kAuditLockKey = 0x52444155;
}  // namespace

AuditAppended AppendAudit(Tx& tx, std::string_view kind, ByteView content) {
  tx.Exec("SELECT pg_advisory_xact_lock($1)", {kAuditLockKey});
  // The chain head from the unpartitioned key table (migration 0009): one index probe.
  Result last = tx.Exec("SELECT seq, row_hash FROM audit_log_keys ORDER BY seq DESC LIMIT 1");
  std::int64_t seq = 1;
  Bytes prev = audit::GenesisHash();
  if (!last.empty()) {
    seq = last[0].GetInt64("seq") + 1;
    prev = last[0].GetBytes("row_hash");
  }
  Bytes row_hash = audit::RowHash(seq, prev, kind, content);
  tx.Exec(
      "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content) VALUES ($1, $2, $3, $4, $5)",
      {static_cast<long long>(seq), prev, row_hash, std::string(kind), ByteView(content)});
  return {seq, row_hash};
}

std::optional<AuditAppended> AppendKeyPublishedOnce(Tx& tx, std::string_view kid,
                                                    std::string_view role, ByteView content) {
  tx.Exec("SELECT pg_advisory_xact_lock($1)", {kAuditLockKey});
  if (!tx.Exec("SELECT 1 FROM published_keys WHERE kid = $1", {std::string(kid)}).empty()) {
    return std::nullopt;
  }
  AuditAppended a = AppendAudit(tx, "key.published", content);  // the lock is re-entrant
  tx.Exec("INSERT INTO published_keys (kid, role, audit_seq) VALUES ($1, $2, $3)",
          {std::string(kid), std::string(role), static_cast<long long>(a.seq)});
  return a;
}

std::vector<audit::Row> ReadAudit(Tx& tx, std::int64_t from_seq, std::int64_t limit) {
  Result r = tx.Exec(
      "SELECT seq, prev_hash, row_hash, kind, content FROM audit_log WHERE seq >= $1 "
      "ORDER BY seq LIMIT $2",
      {static_cast<long long>(from_seq), static_cast<long long>(limit)});
  std::vector<audit::Row> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    Row row = r[i];
    out.push_back(audit::Row{row.GetInt64("seq"), row.GetBytes("prev_hash"),
                             row.GetBytes("row_hash"), row.GetString("kind"),
                             row.GetBytes("content")});
  }
  return out;
}

}  // namespace realdid::db
