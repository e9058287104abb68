#include "db/revocation_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/base64url.h"
#include "core/error.h"
#include "core/json.h"
#include "db/audit_store.h"
#include "db/db_error.h"

namespace realdid::db {
namespace {

long long I(std::int64_t v) { return static_cast<long long>(v); }

bool IsB64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

void CheckKid(std::string_view kid) {
  if (kid.size() != 43 || !std::all_of(kid.begin(), kid.end(), IsB64UrlChar)) {
    InvalidInput("revocation: kid must be 43 base64url characters");
  }
}

void CheckId(ByteView id) {
  if (id.size() != 32) InvalidInput("revocation: a revocation id is 32 bytes");
}

void CheckSource(std::string_view source) {
  if (source != "holder" && source != "warrant" && source != "key" && source != "operator") {
    InvalidInput("revocation: source must be holder, warrant, key or operator");
  }
}

// Creates kid's list row if missing and locks it; returns its current state.
RevocationListState LockList(Tx& tx, std::string_view kid, std::int64_t now) {
  tx.Exec(
      "INSERT INTO revocation_lists (kid, version, updated_at) "
      "VALUES ($1, 0, to_timestamp($2::bigint)) ON CONFLICT (kid) DO NOTHING",
      {std::string(kid), I(now)});
  Result r = tx.Exec(
      "SELECT version, key_revoked_version, extract(epoch FROM updated_at)::bigint AS updated_at "
      "FROM revocation_lists WHERE kid = $1 FOR UPDATE",
      {std::string(kid)});
  RevocationListState s;
  s.kid = std::string(kid);
  s.version = r.One().GetInt64("version");
  s.key_revoked_version = r[0].GetOptInt64("key_revoked_version");
  s.key_revoked = s.key_revoked_version.has_value();
  s.updated_at = r[0].GetInt64("updated_at");
  return s;
}

void BumpVersion(Tx& tx, std::string_view kid, std::int64_t new_version, bool key_revoked,
                 std::int64_t now) {
  Result r = key_revoked ? tx.Exec(
                               "UPDATE revocation_lists SET version = $2, key_revoked_version = $2, "
                               "updated_at = to_timestamp($3::bigint) WHERE kid = $1",
                               {std::string(kid), I(new_version), I(now)})
                         : tx.Exec(
                               "UPDATE revocation_lists SET version = $2, "
                               "updated_at = to_timestamp($3::bigint) WHERE kid = $1",
                               {std::string(kid), I(new_version), I(now)});
  if (r.affected_rows() != 1) Fail(ErrorKind::kInternal, "revocation: list row vanished");
}

}  // namespace

std::size_t Revoke(Tx& tx, const std::vector<RevocationEntry>& entries, std::string_view source,
                   std::int64_t now) {
  CheckSource(source);
  // kid -> ids, both sorted: rows are locked in kid order (no deadlock between revokers).
  std::map<std::string, std::set<Bytes>> by_kid;
  for (const RevocationEntry& e : entries) {
    CheckKid(e.kid);
    CheckId(e.revocation_id);
    by_kid[e.kid].insert(e.revocation_id);
  }
  std::size_t added = 0;
  json::Array lists;
  for (const auto& [kid, ids] : by_kid) {
    RevocationListState s = LockList(tx, kid, now);
    const std::int64_t next = s.version + 1;
    json::Array added_ids;
    for (const Bytes& id : ids) {
      Result r = tx.Exec(
          "INSERT INTO revocations (kid, revocation_id, version, source) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (kid, revocation_id) DO NOTHING",
          {kid, ByteView(id), I(next), std::string(source)});
      if (r.affected_rows() == 1) added_ids.emplace_back(b64url::Encode(id));
    }
    if (added_ids.empty()) continue;
    added += added_ids.size();
    BumpVersion(tx, kid, next, false, now);
    lists.emplace_back(json::Object{{"kid", kid}, {"version", next}, {"ids", std::move(added_ids)}});
  }
  if (added > 0) {
    std::string content = json::Serialize(json::Value(
        json::Object{{"source", std::string(source)}, {"lists", json::Value(std::move(lists))}}));
    AppendAudit(tx, "revocation", ToBytes(content));
  }
  return added;
}

bool RevokeKey(Tx& tx, std::string_view kid, std::string_view source, std::int64_t now) {
  CheckSource(source);
  CheckKid(kid);
  RevocationListState s = LockList(tx, kid, now);
  if (s.key_revoked) return false;
  const std::int64_t next = s.version + 1;
  BumpVersion(tx, kid, next, true, now);
  std::string content = json::Serialize(json::Value(json::Object{{"source", std::string(source)},
                                                                 {"kid", std::string(kid)},
                                                                 {"version", next},
                                                                 {"key_revoked", true}}));
  AppendAudit(tx, "revocation", ToBytes(content));
  return true;
}

bool IsRevoked(Tx& tx, std::string_view kid, ByteView revocation_id) {
  CheckKid(kid);
  CheckId(revocation_id);
  Result r = tx.Exec(
      "SELECT (EXISTS (SELECT 1 FROM revocations WHERE kid = $1 AND revocation_id = $2) OR "
      "EXISTS (SELECT 1 FROM revocation_lists WHERE kid = $1 AND key_revoked_version IS NOT NULL))"
      " AS revoked",
      {std::string(kid), revocation_id});
  return r.One().GetBool("revoked");
}

RevocationListState GetListState(Tx& tx, std::string_view kid) {
  CheckKid(kid);
  Result r = tx.Exec(
      "SELECT version, key_revoked_version, extract(epoch FROM updated_at)::bigint AS updated_at "
      "FROM revocation_lists WHERE kid = $1",
      {std::string(kid)});
  RevocationListState s;
  s.kid = std::string(kid);
  if (r.empty()) return s;
  s.version = r[0].GetInt64("version");
  s.key_revoked_version = r[0].GetOptInt64("key_revoked_version");
  s.key_revoked = s.key_revoked_version.has_value();
  s.updated_at = r[0].GetInt64("updated_at");
  return s;
}

std::vector<Bytes> RevokedIds(Tx& tx, std::string_view kid, std::int64_t since_version,
                              std::int64_t up_to_version) {
  CheckKid(kid);
  Result r = tx.Exec(
      "SELECT revocation_id FROM revocations WHERE kid = $1 AND version > $2 AND version <= $3 "
      "ORDER BY revocation_id",
      {std::string(kid), I(since_version), I(up_to_version)});
  std::vector<Bytes> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r[i].GetBytes(0));
  return out;
}

std::optional<SignedListRow> GetSignedList(Tx& tx, std::string_view kid) {
  CheckKid(kid);
  Result r = tx.Exec(
      "SELECT version, issued_at, next_update, jws FROM revocation_list_issues WHERE kid = $1",
      {std::string(kid)});
  if (r.empty()) return std::nullopt;
  return SignedListRow{std::string(kid), r[0].GetInt64("version"), r[0].GetInt64("issued_at"),
                       r[0].GetInt64("next_update"), r[0].GetString("jws")};
}

SignedListRow PutSignedList(Tx& tx, const SignedListRow& row) {
  CheckKid(row.kid);
  // The list row must exist for the foreign key (a kid never revoked has version 0).
  tx.Exec(
      "INSERT INTO revocation_lists (kid, version, updated_at) "
      "VALUES ($1, 0, to_timestamp(0)) ON CONFLICT (kid) DO NOTHING",
      {row.kid});
  tx.Exec(
      "INSERT INTO revocation_list_issues AS c (kid, version, issued_at, next_update, jws) "
      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) DO UPDATE SET version = EXCLUDED.version, "
      "issued_at = EXCLUDED.issued_at, next_update = EXCLUDED.next_update, jws = EXCLUDED.jws "
      "WHERE (EXCLUDED.version, EXCLUDED.issued_at) > (c.version, c.issued_at)",
      {row.kid, I(row.version), I(row.issued_at), I(row.next_update), row.jws});
  std::optional<SignedListRow> now = GetSignedList(tx, row.kid);
  if (!now) Fail(ErrorKind::kInternal, "revocation: list issue vanished");
  // Deltas of older issues are never served again.
  tx.Exec(
      "DELETE FROM revocation_delta_cache WHERE kid = $1 AND (version, issued_at) <> ($2, $3)",
      {row.kid, I(now->version), I(now->issued_at)});
  return *now;
}

std::optional<std::string> GetSignedDelta(Tx& tx, std::string_view kid, std::int64_t version,
                                          std::int64_t issued_at, std::int64_t since) {
  CheckKid(kid);
  Result r = tx.Exec(
      "SELECT jws FROM revocation_delta_cache WHERE kid = $1 AND version = $2 AND issued_at = $3 "
      "AND since = $4",
      {std::string(kid), I(version), I(issued_at), I(since)});
  if (r.empty()) return std::nullopt;
  return r[0].GetString("jws");
}

std::string PutSignedDelta(Tx& tx, std::string_view kid, std::int64_t version,
                           std::int64_t issued_at, std::int64_t since, std::string_view jws) {
  CheckKid(kid);
  tx.Exec(
      "INSERT INTO revocation_delta_cache (kid, version, issued_at, since, jws) "
      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
      {std::string(kid), I(version), I(issued_at), I(since), std::string(jws)});
  std::optional<std::string> stored = GetSignedDelta(tx, kid, version, issued_at, since);
  if (!stored) Fail(ErrorKind::kInternal, "revocation: delta vanished");
  return *stored;
}

void InsertRevocationNonce(Tx& tx, ByteView nonce, std::int64_t expires_at) {
  if (nonce.size() != 16) InvalidInput("revocation: a nonce is 16 bytes");
  tx.Exec("INSERT INTO revocation_nonces (nonce, expires_at) VALUES ($1, to_timestamp($2::bigint))",
          {nonce, I(expires_at)});
}

bool ConsumeRevocationNonce(Tx& tx, ByteView nonce, std::int64_t now) {
  if (nonce.size() != 16) return false;
  Result r = tx.Exec(
      "UPDATE revocation_nonces SET used_at = to_timestamp($2::bigint) "
      "WHERE nonce = $1 AND used_at IS NULL AND expires_at > to_timestamp($2::bigint)",
      {nonce, I(now)});
  return r.affected_rows() == 1;
}

std::uint64_t PruneRevocationNonces(Tx& tx, std::int64_t before) {
  Result r = tx.Exec("DELETE FROM revocation_nonces WHERE expires_at < to_timestamp($1::bigint)",
                     {I(before)});
  return r.affected_rows();
}

}  // namespace realdid::db
