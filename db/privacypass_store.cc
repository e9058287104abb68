#include "db/privacypass_store.h"

#include "core/error.h"

namespace realdid::db {
namespace {

long long I(std::int64_t v) { return static_cast<long long>(v); }

void CheckId(ByteView id) {
  if (id.size() != 32) InvalidInput("privacypass quota: revocation id must be 32 bytes");
}

}  // namespace

std::optional<std::int64_t> ConsumePrivacyPassQuota(Tx& tx, ByteView revocation_id,
                                                    std::int64_t day, std::int64_t n,
                                                    std::int64_t limit) {
  CheckId(revocation_id);
  if (n < 1 || day < 0 || limit < 0 || day > 0x7fffffff || limit > 0x7fffffff) {
    InvalidInput("privacypass quota: n, day or limit out of range");
  }
  if (n > limit) return std::nullopt;
  Result r = tx.Exec(
      "INSERT INTO privacypass_quota AS q (revocation_id, day, used) "
      "VALUES ($1, $2::integer, $3::integer) "
      "ON CONFLICT (revocation_id, day) DO UPDATE SET used = q.used + EXCLUDED.used "
      "WHERE q.used + EXCLUDED.used <= $4::integer "
      "RETURNING used::bigint AS used",
      {revocation_id, I(day), I(n), I(limit)});
  if (r.empty()) return std::nullopt;
  return r.One().GetInt64("used");
}

std::int64_t PrivacyPassQuotaUsed(Tx& tx, ByteView revocation_id, std::int64_t day) {
  CheckId(revocation_id);
  Result r = tx.Exec(
      "SELECT used::bigint AS used FROM privacypass_quota WHERE revocation_id = $1 AND day = "
      "$2::integer",
      {revocation_id, I(day)});
  return r.empty() ? 0 : r.One().GetInt64("used");
}

std::uint64_t PrunePrivacyPassQuota(Tx& tx, std::int64_t before_day) {
  return tx.Exec("DELETE FROM privacypass_quota WHERE day < $1::integer", {I(before_day)})
      .affected_rows();
}

}  // namespace realdid::db
