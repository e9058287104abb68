// Migration 0009: issuance_records and audit_log partitioned by month, converted on existing
// data. Checks that rows, chain, grants and the append-only rules survive the conversion, that
// issuance_id/session_id and seq/row_hash stay unique ACROSS partitions, that partitions are made
// ahead of time and that the DEFAULT partition catches a month nobody created.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "core/audit_chain.h"
#include "db/audit_store.h"
#include "db/db_error.h"
#include "db/issuance_store.h"
#include "db/pool.h"
#include "tests/support/pg_harness.h"

namespace realdid::db {
namespace {

using realdid::testing::PgHarness;
using realdid::testing::PgRole;
namespace fs = std::filesystem;

constexpr std::int64_t kJan2024 = 1704067200;  // 2024-01-01T00:00:00Z
constexpr std::int64_t kFeb2024 = 1706745600;  // 2024-02-01T00:00:00Z
constexpr std::int64_t kDay = 86400;

Bytes Filled(std::size_t n, int v) { return Bytes(n, static_cast<std::uint8_t>(v)); }

std::string SqlState(Pool& pool, const std::string& sql, const Params& params = {}) {
  try {
    pool.Run("probe", [&](Tx& tx) { tx.Exec(sql, params); });
  } catch (const DbError& e) {
    return e.sqlstate();
  }
  return "ok";
}

class PartitioningTest : public ::testing::Test {
 protected:
  void SetUp() override { owner_ = pg_.MakePool(PgRole::kOwner, 1); }

  // Applies every migration before 0009 (from a copy of the repository's folder).
  void MigrateBefore0009() {
    pre_ = fs::path(pg_.dir()) / "migrations-pre0009";
    fs::create_directories(pre_);
    for (const auto& e : fs::directory_iterator(PgHarness::RepoMigrationsDir())) {
      if (!e.is_regular_file()) continue;
      std::string name = e.path().filename().string();
      if (name.size() > 4 && name.substr(0, 4) < "0009") fs::copy_file(e.path(), pre_ / name);
    }
    pg_.Migrate(pre_);
  }
  void Migrate0009() {
    fs::copy_file(PgHarness::RepoMigrationsDir() / "0009_partitioning.sql",
                  pre_ / "0009_partitioning.sql");
    pg_.Migrate(pre_);
  }

  std::int64_t NewPerson(int tag) {
    return owner_->Run("person", [&](Tx& tx) {
      return tx
          .Exec("INSERT INTO persons (id_lookup, identity_ct, data_key_ct) VALUES ($1, $2, $3) "
                "RETURNING id",
                {Filled(32, tag), Filled(60, tag), Filled(60, tag)})
          .One()
          .GetInt64(0);
    });
  }
  // A (finished) session of person; session id = issuance id = tag bytes.
  void NewSession(std::int64_t person, int tag, std::int64_t at) {
    owner_->Run("session", [&](Tx& tx) {
      tx.Exec(
          "INSERT INTO issuance_sessions (id, person_id, secret_hash, issuance_id, iss, kid, "
          "escrow_kid, iat, exp, age_over_18, age_over_60, province, k, state, challenge, "
          "blind_signature, created_at, expires_at) VALUES ($1, $2, $3, $4, 'https://a', $5, "
          "$5, $6, $7, true, false, '11', 4, 'expired', NULL, NULL, to_timestamp($8::bigint), "
          "to_timestamp($8::bigint + 600))",
          {Filled(16, tag), person, Filled(32, tag), Filled(16, tag), std::string(43, 'k'),
           at - at % kDay, at - at % kDay + 30 * kDay, at});
    });
  }
  IssuanceRecord Record(std::int64_t person, int id_tag, int session_tag, std::int64_t at) {
    IssuanceRecord r;
    r.issuance_id = Filled(16, id_tag);
    r.person_id = person;
    r.session_id = Filled(16, session_tag);
    r.kid = std::string(43, 'k');
    r.trace = Filled(161, id_tag);
    r.blinded_msg = Filled(384, id_tag);
    r.created_at = at;
    return r;
  }
  // Appends audit rows with explicit created_at (the writer's own path, AppendAudit, uses now()).
  void RawAudit(std::int64_t seq, ByteView prev, std::int64_t at, Bytes* row_hash_out) {
    Bytes content = ToBytes("{\"n\":" + std::to_string(seq) + "}");
    Bytes h = audit::RowHash(seq, prev, "test.event", content);
    owner_->Run("audit", [&](Tx& tx) {
      tx.Exec(
          "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content, created_at) "
          "VALUES ($1, $2, $3, 'test.event', $4, to_timestamp($5::bigint))",
          {seq, Bytes(prev.begin(), prev.end()), h, content, at});
    });
    *row_hash_out = h;
  }
  std::set<std::string> Grants(const std::string& table) {
    return owner_->Run("grants", [&](Tx& tx) {
      Result r = tx.Exec(
          "SELECT coalesce(g.rolname, 'PUBLIC') || ':' || a.privilege_type || ':*' "
          "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
          "LEFT JOIN pg_roles g ON g.oid = a.grantee WHERE c.relname = $1 "
          "UNION ALL "
          "SELECT coalesce(g.rolname, 'PUBLIC') || ':' || a.privilege_type || ':' || t.attname "
          "FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid AND t.attnum > 0 "
          "CROSS JOIN LATERAL aclexplode(t.attacl) a "
          "LEFT JOIN pg_roles g ON g.oid = a.grantee WHERE c.relname = $1",
          {table});
      std::set<std::string> out;
      for (std::size_t i = 0; i < r.size(); ++i) out.insert(r[i].GetString(0));
      return out;
    });
  }
  std::string Scalar(const std::string& sql, const Params& params = {}) {
    return owner_->Run("scalar", [&](Tx& tx) { return tx.Exec(sql, params).One().GetString(0); });
  }

  PgHarness pg_;
  std::unique_ptr<Pool> owner_;
  fs::path pre_;
};

TEST_F(PartitioningTest, ConvertsExistingRowsKeepingRowsChainAndGrants) {
  MigrateBefore0009();
  std::int64_t p1 = NewPerson(1);
  std::int64_t p2 = NewPerson(2);
  const std::int64_t times[3] = {kJan2024 + 5 * kDay, kFeb2024 + 3 * kDay, kFeb2024 + 9 * kDay};
  for (int i = 0; i < 3; ++i) {
    NewSession(i == 1 ? p2 : p1, 10 + i, times[i]);
    owner_->Run("rec", [&](Tx& tx) {
      InsertIssuanceRecord(tx, Record(i == 1 ? p2 : p1, 10 + i, 10 + i, times[i]));
    });
  }
  Bytes prev = audit::GenesisHash();
  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    Bytes h;
    RawAudit(seq, prev, times[seq - 1], &h);
    prev = h;
  }
  const auto records_grants = Grants("issuance_records");
  const auto audit_grants = Grants("audit_log");
  ASSERT_FALSE(records_grants.empty());
  ASSERT_FALSE(audit_grants.empty());

  Migrate0009();

  EXPECT_EQ(Scalar("SELECT relkind::text FROM pg_class WHERE relname = 'issuance_records'"), "p");
  EXPECT_EQ(Scalar("SELECT relkind::text FROM pg_class WHERE relname = 'audit_log'"), "p");
  EXPECT_EQ(Grants("issuance_records"), records_grants);
  EXPECT_EQ(Grants("audit_log"), audit_grants);
  // Rows went to their month's partition, not to the default one.
  EXPECT_EQ(Scalar("SELECT string_agg(tableoid::regclass::text, ',' ORDER BY created_at) "
                   "FROM issuance_records"),
            "issuance_records_y2024m01,issuance_records_y2024m02,issuance_records_y2024m02");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM audit_log_y2024m02"), "2");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM issuance_records_default"), "0");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM issuance_record_keys"), "3");

  // The stores read them back unchanged.
  owner_->Run("read", [&](Tx& tx) {
    for (int i = 0; i < 3; ++i) {
      auto rec = FindIssuanceRecord(tx, Filled(16, 10 + i));
      ASSERT_TRUE(rec.has_value());
      EXPECT_EQ(rec->trace, Filled(161, 10 + i));
      EXPECT_EQ(rec->blinded_msg, Filled(384, 10 + i));
      EXPECT_EQ(rec->created_at, times[i]);
    }
    EXPECT_FALSE(FindIssuanceRecord(tx, Filled(16, 99)).has_value());
    EXPECT_EQ(IssuanceRecordsOfPerson(tx, p1).size(), 2U);
    EXPECT_EQ(IssuanceRecordsOfPerson(tx, p2).size(), 1U);
  });
  // The chain continues where it stopped, through the key table's head.
  auto appended = owner_->Run("append", [](Tx& tx) {
    return AppendAudit(tx, "test.event", ToBytes("{}"));
  });
  EXPECT_EQ(appended.seq, 4);
  auto rows = owner_->Run("read", [](Tx& tx) { return ReadAudit(tx, 1, 100); });
  ASSERT_EQ(rows.size(), 4U);
  EXPECT_EQ(rows[3].prev_hash, prev);
  EXPECT_TRUE(audit::Verify(rows).ok);
  // Nothing of the conversion is left behind.
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM pg_class WHERE relname LIKE '%pre0009%'"), "0");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM pg_proc WHERE proname LIKE 'realdid_0009_%'"),
            "0");
}

TEST_F(PartitioningTest, KeysStayUniqueAcrossPartitions) {
  pg_.Migrate();
  auto pool = pg_.MakePool(PgRole::kAuthority, 1);
  std::int64_t p = NewPerson(1);
  NewSession(p, 1, kJan2024);
  NewSession(p, 2, kFeb2024);
  auto insert = [&](const IssuanceRecord& r) {
    try {
      pool->Run("rec", [&](Tx& tx) { InsertIssuanceRecord(tx, r); });
    } catch (const DbError& e) {
      return e.sqlstate();
    }
    return std::string("ok");
  };
  EXPECT_EQ(insert(Record(p, 1, 1, kJan2024)), "ok");
  // Same issuance id one month later (another partition): refused.
  EXPECT_EQ(insert(Record(p, 1, 2, kFeb2024)), "23505");
  // Same session id under another issuance id, another partition: refused.
  EXPECT_EQ(insert(Record(p, 3, 1, kFeb2024)), "23505");
  // A refused row leaves no key behind: a bad trace fails, then the same ids go in.
  IssuanceRecord bad = Record(p, 2, 2, kFeb2024);
  bad.trace = Filled(160, 2);
  EXPECT_EQ(insert(bad), "23514");
  EXPECT_EQ(insert(Record(p, 2, 2, kFeb2024)), "ok");

  Bytes h1;
  RawAudit(1, audit::GenesisHash(), kJan2024, &h1);
  // A fork (seq 1 again) in another month's partition: refused; a repeated row_hash too.
  EXPECT_EQ(SqlState(*pool,
                     "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content, created_at) "
                     "VALUES (1, $1, $2, 'k', '', to_timestamp($3::bigint))",
                     {Filled(32, 0), Filled(32, 7), kFeb2024}),
            "23505");
  EXPECT_EQ(SqlState(*pool,
                     "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content, created_at) "
                     "VALUES (2, $1, $2, 'k', '', to_timestamp($3::bigint))",
                     {h1, h1, kFeb2024}),
            "23505");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM audit_log_keys"), "1");
}

TEST_F(PartitioningTest, AppendOnlyOnParentPartitionsAndKeyTables) {
  pg_.Migrate();
  std::int64_t p = NewPerson(1);
  NewSession(p, 1, kJan2024);
  owner_->Run("rec", [&](Tx& tx) { InsertIssuanceRecord(tx, Record(p, 1, 1, kJan2024)); });
  Bytes h;
  RawAudit(1, audit::GenesisHash(), kJan2024, &h);
  for (const char* t : {"issuance_records", "issuance_records_default", "issuance_record_keys",
                        "audit_log", "audit_log_default", "audit_log_keys"}) {
    SCOPED_TRACE(t);
    const std::string table = t;
    EXPECT_EQ(SqlState(*owner_, "UPDATE " + table + " SET created_at = created_at"), "P0001");
    EXPECT_EQ(SqlState(*owner_, "DELETE FROM " + table), "P0001");
    EXPECT_EQ(SqlState(*owner_, "TRUNCATE " + table), "P0001");
  }
  // A monthly partition created by the maintenance function carries the triggers too.
  std::string month = Scalar(
      "SELECT 'issuance_records_y' || to_char(now() AT TIME ZONE 'UTC', 'YYYY') || 'm' || "
      "to_char(now() AT TIME ZONE 'UTC', 'MM')");
  EXPECT_EQ(SqlState(*owner_, "TRUNCATE " + month), "P0001");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM issuance_records"), "1");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM audit_log"), "1");

  for (PgRole role : {PgRole::kAuthority, PgRole::kWarrant}) {
    SCOPED_TRACE(static_cast<int>(role));
    auto pool = pg_.MakePool(role, 1);
    EXPECT_EQ(SqlState(*pool, "SELECT count(*) FROM issuance_records"), "ok");
    EXPECT_EQ(SqlState(*pool, "SELECT count(*) FROM issuance_record_keys"), "ok");
    EXPECT_EQ(SqlState(*pool, "SELECT count(*) FROM audit_log_keys"), "ok");
    EXPECT_EQ(SqlState(*pool, "UPDATE issuance_records SET kid = kid"), "42501");
    EXPECT_EQ(SqlState(*pool, "SELECT count(*) FROM issuance_records_default"), "42501");
    EXPECT_EQ(SqlState(*pool, "SELECT count(*) FROM " + month), "42501");
    EXPECT_EQ(SqlState(*pool, "INSERT INTO audit_log_keys VALUES (9, $1, now())",
                       {Filled(32, 9)}),
              "42501");
    EXPECT_EQ(SqlState(*pool, "INSERT INTO issuance_record_keys VALUES ($1, $1, now())",
                       {Filled(16, 9)}),
              "42501");
    EXPECT_EQ(SqlState(*pool, "SELECT realdid_ensure_partitions(1)"), "42501");
  }
  // The warrant role reads records but never writes them (as before 0009).
  auto warrant = pg_.MakePool(PgRole::kWarrant, 1);
  EXPECT_EQ(SqlState(*warrant, "INSERT INTO issuance_records SELECT * FROM issuance_records"),
            "42501");
}

TEST_F(PartitioningTest, PartitionsAheadAndTheDefaultPartitionCatchesTheRest) {
  pg_.Migrate();
  // The migration made this month and three ahead; asking again makes nothing.
  EXPECT_EQ(Scalar("SELECT realdid_ensure_partitions(3)::text"), "0");
  EXPECT_EQ(Scalar("SELECT realdid_ensure_partitions(5)::text"), "4");
  EXPECT_EQ(Scalar("SELECT count(*)::text FROM pg_inherits "
                   "WHERE inhparent = 'issuance_records'::regclass"),
            "7");  // default + 6 months
  EXPECT_EQ(SqlState(*owner_, "SELECT realdid_ensure_partitions(121)"), "P0001");
  EXPECT_EQ(SqlState(*owner_, "SELECT realdid_month_partition('persons', '2030-01-01')"),
            "P0001");

  // A month nobody created (2040-03) goes to the default partition and stays readable; that
  // month's partition is then skipped rather than failing.
  constexpr std::int64_t kMar2040 = 2214259200;  // 2040-03-01T00:00:00Z
  std::int64_t p = NewPerson(1);
  NewSession(p, 1, kMar2040 + kDay);
  owner_->Run("rec", [&](Tx& tx) { InsertIssuanceRecord(tx, Record(p, 1, 1, kMar2040 + kDay)); });
  EXPECT_EQ(Scalar("SELECT tableoid::regclass::text FROM issuance_records"),
            "issuance_records_default");
  EXPECT_EQ(Scalar("SELECT realdid_month_partition('issuance_records', '2040-03-01')::text"),
            "false");
  EXPECT_EQ(Scalar("SELECT to_regclass('issuance_records_y2040m03') IS NULL"), "t");
  owner_->Run("read", [&](Tx& tx) {
    auto rec = FindIssuanceRecord(tx, Filled(16, 1));
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->created_at, kMar2040 + kDay);
  });
  // The next month is free: it gets its partition and its rows.
  EXPECT_EQ(Scalar("SELECT realdid_month_partition('issuance_records', '2040-04-15')::text"),
            "true");
  NewSession(p, 2, kMar2040 + 40 * kDay);
  owner_->Run("rec", [&](Tx& tx) {
    InsertIssuanceRecord(tx, Record(p, 2, 2, kMar2040 + 40 * kDay));
  });
  EXPECT_EQ(Scalar("SELECT tableoid::regclass::text FROM issuance_records WHERE issuance_id = $1",
                   {Filled(16, 2)}),
            "issuance_records_y2040m04");
}

}  // namespace
}  // namespace realdid::db
