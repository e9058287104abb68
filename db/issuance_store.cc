#include "db/issuance_store.h"

#include "core/error.h"
#include "db/db_error.h"

namespace realdid::db {
namespace {

long long I(std::int64_t v) { return static_cast<long long>(v); }

constexpr const char* kPersonColumns =
    "id, id_lookup, identity_ct, data_key_ct, "
    "extract(epoch FROM locked_until)::bigint AS locked_until, lock_reason, strikes::bigint AS "
    "strikes";

PersonRow ToPerson(const Row& r) {
  PersonRow p;
  p.id = r.GetInt64("id");
  p.id_lookup = r.GetBytes("id_lookup");
  p.identity_ct = r.GetBytes("identity_ct");
  p.data_key_ct = r.GetBytes("data_key_ct");
  p.locked_until = r.GetOptInt64("locked_until");
  p.lock_reason = r.GetOptString("lock_reason");
  p.strikes = r.GetInt64("strikes");
  return p;
}

constexpr const char* kSessionColumns =
    "id, person_id, secret_hash, issuance_id, iss, kid, escrow_kid, iat, exp, age_over_18, "
    "age_over_60, province, k::bigint AS k, state, commit_hash, commit_blob, "
    "challenge::bigint AS challenge, blind_signature, "
    "extract(epoch FROM created_at)::bigint AS created_at, "
    "extract(epoch FROM expires_at)::bigint AS expires_at";

SessionRow ToSession(const Row& r) {
  SessionRow s;
  s.id = r.GetBytes("id");
  s.person_id = r.GetInt64("person_id");
  s.secret_hash = r.GetBytes("secret_hash");
  s.issuance_id = r.GetBytes("issuance_id");
  s.iss = r.GetString("iss");
  s.kid = r.GetString("kid");
  s.escrow_kid = r.GetString("escrow_kid");
  s.iat = r.GetInt64("iat");
  s.exp = r.GetInt64("exp");
  s.age_over_18 = r.GetBool("age_over_18");
  s.age_over_60 = r.GetBool("age_over_60");
  s.province = r.GetString("province");
  s.k = static_cast<int>(r.GetInt64("k"));
  s.state = r.GetString("state");
  s.commit_hash = r.GetOptBytes("commit_hash");
  s.commit_blob = r.GetOptBytes("commit_blob");
  if (auto c = r.GetOptInt64("challenge")) s.challenge = static_cast<int>(*c);
  s.blind_signature = r.GetOptBytes("blind_signature");
  s.created_at = r.GetInt64("created_at");
  s.expires_at = r.GetInt64("expires_at");
  return s;
}

constexpr const char* kRecordColumns =
    "issuance_id, person_id, session_id, kid, trace, blinded_msg, "
    "extract(epoch FROM created_at)::bigint AS created_at";

IssuanceRecord ToRecord(const Row& r) {
  IssuanceRecord rec;
  rec.issuance_id = r.GetBytes("issuance_id");
  rec.person_id = r.GetInt64("person_id");
  rec.session_id = r.GetBytes("session_id");
  rec.kid = r.GetString("kid");
  rec.trace = r.GetBytes("trace");
  rec.blinded_msg = r.GetBytes("blinded_msg");
  rec.created_at = r.GetInt64("created_at");
  return rec;
}

std::string Lock(bool for_update) { return for_update ? " FOR UPDATE" : ""; }

}  // namespace

std::optional<PersonRow> FindPersonByLookup(Tx& tx, ByteView id_lookup, bool for_update) {
  Result r = tx.Exec(std::string("SELECT ") + kPersonColumns +
                         " FROM persons WHERE id_lookup = $1" + Lock(for_update),
                     {id_lookup});
  if (r.empty()) return std::nullopt;
  return ToPerson(r[0]);
}

std::optional<PersonRow> GetPerson(Tx& tx, std::int64_t person_id, bool for_update) {
  Result r = tx.Exec(
      std::string("SELECT ") + kPersonColumns + " FROM persons WHERE id = $1" + Lock(for_update),
      {I(person_id)});
  if (r.empty()) return std::nullopt;
  return ToPerson(r[0]);
}

std::optional<std::int64_t> InsertPerson(Tx& tx, ByteView id_lookup, ByteView identity_ct,
                                         ByteView data_key_ct, std::int64_t now) {
  Result r = tx.Exec(
      "INSERT INTO persons (id_lookup, identity_ct, data_key_ct, created_at) "
      "VALUES ($1, $2, $3, to_timestamp($4::bigint)) ON CONFLICT (id_lookup) DO NOTHING "
      "RETURNING id",
      {id_lookup, identity_ct, data_key_ct, I(now)});
  if (r.empty()) return std::nullopt;
  return r[0].GetInt64("id");
}

void LockPerson(Tx& tx, std::int64_t person_id, std::int64_t locked_until,
                std::string_view reason) {
  Result r = tx.Exec(
      "UPDATE persons SET locked_until = GREATEST(COALESCE(locked_until, to_timestamp(0)), "
      "to_timestamp($2::bigint)), lock_reason = $3, strikes = strikes + 1 WHERE id = $1",
      {I(person_id), I(locked_until), std::string(reason)});
  if (r.affected_rows() != 1) Fail(ErrorKind::kInternal, "LockPerson: no such person");
}

void InsertStrike(Tx& tx, std::int64_t person_id, ByteView session_id, std::string_view reason,
                  std::int64_t now) {
  tx.Exec(
      "INSERT INTO strikes (person_id, session_id, reason, created_at) "
      "VALUES ($1, $2, $3, to_timestamp($4::bigint))",
      {I(person_id), session_id, std::string(reason), I(now)});
}

std::int64_t CountActiveCredentials(Tx& tx, std::int64_t person_id, std::int64_t now) {
  return tx
      .Exec("SELECT count(*)::bigint AS n FROM issuance_sessions WHERE person_id = $1 AND "
            "state = 'signed' AND exp > $2::bigint",
            {I(person_id), I(now)})
      .One()
      .GetInt64("n");
}

std::int64_t CountStrikes(Tx& tx, std::int64_t person_id) {
  return tx.Exec("SELECT count(*)::bigint AS n FROM strikes WHERE person_id = $1", {I(person_id)})
      .One()
      .GetInt64("n");
}

void InsertNonce(Tx& tx, ByteView nonce, std::int64_t expires_at) {
  tx.Exec("INSERT INTO ctid_nonces (nonce, expires_at) VALUES ($1, to_timestamp($2::bigint))",
          {nonce, I(expires_at)});
}

bool ConsumeNonce(Tx& tx, ByteView nonce, std::int64_t now) {
  Result r = tx.Exec(
      "UPDATE ctid_nonces SET used_at = to_timestamp($2::bigint) "
      "WHERE nonce = $1 AND used_at IS NULL AND expires_at > to_timestamp($2::bigint)",
      {nonce, I(now)});
  return r.affected_rows() == 1;
}

std::uint64_t PruneNonces(Tx& tx, std::int64_t before) {
  return tx.Exec("DELETE FROM ctid_nonces WHERE expires_at < to_timestamp($1::bigint)",
                 {I(before)})
      .affected_rows();
}

void InsertSession(Tx& tx, const SessionRow& s) {
  tx.Exec(
      "INSERT INTO issuance_sessions (id, person_id, secret_hash, issuance_id, iss, kid, "
      "escrow_kid, iat, exp, age_over_18, age_over_60, province, k, state, created_at, "
      "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open', "
      "to_timestamp($14::bigint), to_timestamp($15::bigint))",
      {s.id, I(s.person_id), s.secret_hash, s.issuance_id, s.iss, s.kid, s.escrow_kid, I(s.iat),
       I(s.exp), s.age_over_18, s.age_over_60, s.province, s.k, I(s.created_at),
       I(s.expires_at)});
}

std::optional<SessionRow> GetSession(Tx& tx, ByteView session_id, bool for_update) {
  Result r = tx.Exec(std::string("SELECT ") + kSessionColumns +
                         " FROM issuance_sessions WHERE id = $1" + Lock(for_update),
                     {session_id});
  if (r.empty()) return std::nullopt;
  return ToSession(r[0]);
}

std::vector<SessionRow> ActiveSessions(Tx& tx, std::int64_t person_id, bool for_update) {
  Result r = tx.Exec(std::string("SELECT ") + kSessionColumns +
                         " FROM issuance_sessions WHERE person_id = $1 AND state IN ('open', "
                         "'committed') ORDER BY created_at" +
                         Lock(for_update),
                     {I(person_id)});
  std::vector<SessionRow> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(ToSession(r[i]));
  return out;
}

bool TransitionSession(Tx& tx, ByteView session_id, std::string_view from, std::string_view to) {
  return tx
             .Exec("UPDATE issuance_sessions SET state = $3 WHERE id = $1 AND state = $2",
                   {session_id, std::string(from), std::string(to)})
             .affected_rows() == 1;
}

bool StoreCommit(Tx& tx, ByteView session_id, ByteView commit_hash, ByteView commit_blob,
                 int challenge) {
  return tx
             .Exec(
                 "UPDATE issuance_sessions SET state = 'committed', commit_hash = $2, "
                 "commit_blob = $3, challenge = $4 "
                 "WHERE id = $1 AND state = 'open' AND challenge IS NULL AND commit_hash IS NULL",
                 {session_id, commit_hash, commit_blob, challenge})
             .affected_rows() == 1;
}

bool StoreSignature(Tx& tx, ByteView session_id, ByteView blind_signature) {
  return tx
             .Exec(
                 "UPDATE issuance_sessions SET state = 'signed', blind_signature = $2 "
                 "WHERE id = $1 AND state = 'committed' AND blind_signature IS NULL",
                 {session_id, blind_signature})
             .affected_rows() == 1;
}

std::int64_t PruneCommitBlobs(Tx& tx, std::int64_t older_than_days, std::int64_t limit) {
  constexpr std::int64_t kMaxDays = 100000;   // make_interval takes an integer; ~270 years
  constexpr std::int64_t kMaxLimit = 1000000;
  if (older_than_days < 1 || older_than_days > kMaxDays) {
    InvalidInput("older_than_days must be between 1 and " + std::to_string(kMaxDays));
  }
  if (limit < 1 || limit > kMaxLimit) {
    InvalidInput("the batch size must be between 1 and " + std::to_string(kMaxLimit));
  }
  // The guard trigger (0011) accepts exactly this change: blob -> NULL with pruned_at set, on a
  // signed or expired session whose state and commit_hash stay as they are.
  const std::uint64_t n =
      tx.Exec("UPDATE issuance_sessions SET commit_blob = NULL, commit_blob_pruned_at = now() "
              "WHERE id IN (SELECT id FROM issuance_sessions "
              "WHERE state IN ('signed', 'expired') AND commit_blob IS NOT NULL "
              "AND created_at < now() - make_interval(days => $1::integer) "
              "ORDER BY created_at LIMIT $2::bigint FOR UPDATE SKIP LOCKED)",
              {I(older_than_days), I(limit)})
          .affected_rows();
  return static_cast<std::int64_t>(n);  // n <= limit <= kMaxLimit
}

void InsertIssuanceRecord(Tx& tx, const IssuanceRecord& r) {
  tx.Exec(
      "INSERT INTO issuance_records (issuance_id, person_id, session_id, kid, trace, "
      "blinded_msg, created_at) VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint))",
      {r.issuance_id, I(r.person_id), r.session_id, r.kid, r.trace, r.blinded_msg,
       I(r.created_at)});
}

std::optional<IssuanceRecord> FindIssuanceRecord(Tx& tx, ByteView issuance_id) {
  Result r = tx.Exec(
      // The key table (migration 0009) names the record's partition: one partition is read.
      std::string("SELECT ") + kRecordColumns +
          " FROM issuance_records WHERE issuance_id = $1 AND created_at = "
          "(SELECT created_at FROM issuance_record_keys WHERE issuance_id = $1)",
      {issuance_id});
  if (r.empty()) return std::nullopt;
  return ToRecord(r[0]);
}

std::vector<IssuanceRecord> IssuanceRecordsOfPerson(Tx& tx, std::int64_t person_id) {
  Result r = tx.Exec(std::string("SELECT ") + kRecordColumns +
                         " FROM issuance_records WHERE person_id = $1 ORDER BY created_at, "
                         "issuance_id",
                     {I(person_id)});
  std::vector<IssuanceRecord> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(ToRecord(r[i]));
  return out;
}

}  // namespace realdid::db
