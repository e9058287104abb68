#include "db/access_store.h"

namespace realdid::db {
namespace {

long long I(std::int64_t v) { return static_cast<long long>(v); }

LockoutRow ToLockout(const Row& r) {
  LockoutRow l;
  l.person_id = r.GetInt64("id");
  l.locked_until = r.GetInt64("locked_until");
  l.reason = r.GetOptString("lock_reason").value_or("");
  l.strikes = r.GetInt64("strikes");
  return l;
}

constexpr const char* kLockoutColumns =
    "id, extract(epoch FROM locked_until)::bigint AS locked_until, lock_reason, "
    "strikes::bigint AS strikes";

}  // namespace

std::vector<SessionSummary> SessionsOfPerson(Tx& tx, std::int64_t person_id, int limit) {
  Result r = tx.Exec(
      "SELECT id, kid, state, iat, exp, extract(epoch FROM created_at)::bigint AS created_at, "
      "extract(epoch FROM expires_at)::bigint AS expires_at FROM ("
      "SELECT * FROM issuance_sessions WHERE person_id = $1 ORDER BY created_at DESC, id DESC "
      "LIMIT $2) s ORDER BY created_at, id",
      {I(person_id), limit});
  std::vector<SessionSummary> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    Row row = r[i];
    out.push_back(SessionSummary{row.GetBytes("id"), row.GetString("kid"), row.GetString("state"),
                                 row.GetInt64("iat"), row.GetInt64("exp"),
                                 row.GetInt64("created_at"), row.GetInt64("expires_at")});
  }
  return out;
}

bool CancelOpenSession(Tx& tx, ByteView session_id) {
  return tx
             .Exec("UPDATE issuance_sessions SET state = 'cancelled' "
                   "WHERE id = $1 AND state = 'open'",
                   {session_id})
             .affected_rows() == 1;
}

std::vector<LockoutRow> LockedPersons(Tx& tx, std::int64_t now, std::int64_t after_id,
                                      int limit) {
  Result r = tx.Exec(std::string("SELECT ") + kLockoutColumns +
                         " FROM persons WHERE locked_until > to_timestamp($1) AND id > $2 "
                         "ORDER BY id LIMIT $3",
                     {I(now), I(after_id), limit});
  std::vector<LockoutRow> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(ToLockout(r[i]));
  return out;
}

std::int64_t CountLockedPersons(Tx& tx, std::int64_t now) {
  return tx
      .Exec("SELECT count(*)::bigint AS n FROM persons WHERE locked_until > to_timestamp($1)",
            {I(now)})
      .One()
      .GetInt64("n");
}

std::int64_t CountActiveSessions(Tx& tx) {
  return tx
      .Exec("SELECT count(*)::bigint AS n FROM issuance_sessions "
            "WHERE state IN ('open', 'committed')")
      .One()
      .GetInt64("n");
}

std::optional<LockoutRow> ReleaseLockout(Tx& tx, std::int64_t person_id, std::int64_t now) {
  Result r = tx.Exec(std::string("SELECT ") + kLockoutColumns +
                         " FROM persons WHERE id = $1 AND locked_until > to_timestamp($2) "
                         "FOR UPDATE",
                     {I(person_id), I(now)});
  if (r.empty()) return std::nullopt;
  LockoutRow released = ToLockout(r[0]);
  tx.Exec("UPDATE persons SET locked_until = NULL, lock_reason = NULL WHERE id = $1",
          {I(person_id)});
  return released;
}

}  // namespace realdid::db
