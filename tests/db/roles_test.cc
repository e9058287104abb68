// Least-privilege roles: the service roles may only INSERT and SELECT the audit log; the owner's
// UPDATE/DELETE/TRUNCATE are refused by the append-only trigger.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/audit_store.h"
#include "db/pool.h"
#include "tests/support/pg_harness.h"

namespace realdid::db {
namespace {

using realdid::testing::PgHarness;
using realdid::testing::PgRole;

class RolesTest : public ::testing::Test {
 protected:
  void SetUp() override { pg_.Migrate(); }

  static void InsertAudit(Pool& pool, std::int64_t seq) {
    pool.Run("audit insert", [seq](Tx& tx) {
      tx.Exec(
          "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content) "
          "VALUES ($1, $2, $3, $4, $5)",
          {seq, Bytes(32, 0), Bytes(32, static_cast<std::uint8_t>(seq)), "test.event",
           ToBytes("{\"n\":1}")});
    });
  }
  static std::string SqlState(Pool& pool, const std::string& sql) {
    try {
      pool.Run("probe", [&](Tx& tx) { tx.Exec(sql); });
    } catch (const DbError& e) {
      return e.sqlstate();
    }
    return "ok";
  }
  PgHarness pg_;
};

TEST_F(RolesTest, ServiceRolesAppendAndReadOnly) {
  std::int64_t seq = 1;
  for (PgRole role : {PgRole::kAuthority, PgRole::kWarrant}) {
    SCOPED_TRACE(static_cast<int>(role));
    auto pool = pg_.MakePool(role, 1);
    InsertAudit(*pool, seq);
    EXPECT_EQ(pool->Run("read", [seq](Tx& tx) {
      return tx.Exec("SELECT kind FROM audit_log WHERE seq = $1", {seq}).One().GetString(0);
    }), "test.event");
    EXPECT_EQ(SqlState(*pool, "UPDATE audit_log SET kind = 'x'"), "42501");
    EXPECT_EQ(SqlState(*pool, "DELETE FROM audit_log"), "42501");
    EXPECT_EQ(SqlState(*pool, "TRUNCATE audit_log"), "42501");
    EXPECT_EQ(SqlState(*pool, "CREATE TABLE mine (x int)"), "42501");
    EXPECT_EQ(SqlState(*pool, "DROP TABLE audit_log"), "42501");
    EXPECT_EQ(SqlState(*pool, "SELECT count(*) FROM schema_migrations"), "ok");
    EXPECT_EQ(SqlState(*pool, "INSERT INTO schema_migrations (version, name, checksum) "
                              "VALUES (999, 'x', decode(repeat('00', 32), 'hex'))"),
              "42501");
    ++seq;
  }
}

TEST_F(RolesTest, PermissionErrorIsTyped) {
  auto pool = pg_.MakePool(PgRole::kAuthority, 1);
  try {
    pool->Run("tamper", [](Tx& tx) { tx.Exec("DELETE FROM audit_log"); });
    FAIL();
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_NE(std::string(e.what()).find("permission denied for table audit_log"),
              std::string::npos) << e.what();
  }
}

TEST_F(RolesTest, OwnerCannotRewriteTheLogEither) {
  auto owner = pg_.MakePool(PgRole::kOwner, 1);
  InsertAudit(*owner, 1);
  EXPECT_EQ(SqlState(*owner, "UPDATE audit_log SET kind = 'rewritten'"), "P0001");
  EXPECT_EQ(SqlState(*owner, "DELETE FROM audit_log"), "P0001");
  EXPECT_EQ(SqlState(*owner, "TRUNCATE audit_log"), "P0001");
  try {
    owner->Run("rewrite", [](Tx& tx) { tx.Exec("DELETE FROM audit_log WHERE seq = $1", {1}); });
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << e.what();
  }
  EXPECT_EQ(owner->Run("n", [](Tx& tx) {
    return tx.Exec("SELECT count(*) FROM audit_log").One().GetInt64(0);
  }), 1);
}

TEST_F(RolesTest, AuditLogChecksShapeOfRows) {
  auto pool = pg_.MakePool(PgRole::kAuthority, 1);
  InsertAudit(*pool, 1);
  // Forked chain (same seq) and short hashes are refused by the schema.
  EXPECT_EQ(SqlState(*pool, "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content) "
                            "VALUES (1, decode(repeat('00',32),'hex'), "
                            "decode(repeat('11',32),'hex'), 'k', '')"),
            "23505");
  EXPECT_EQ(SqlState(*pool, "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content) "
                            "VALUES (2, '\\x00', decode(repeat('22',32),'hex'), 'k', '')"),
            "23514");
}

TEST_F(RolesTest, ServiceRolesCannotConnectToOtherDatabasesOrEscalate) {
  auto pool = pg_.MakePool(PgRole::kAuthority, 1);
  EXPECT_EQ(pool->Run("attrs", [](Tx& tx) {
    return tx.Exec("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls AS any "
                   "FROM pg_roles WHERE rolname = current_user").One().GetBool(0);
  }), false);
  EXPECT_EQ(SqlState(*pool, "CREATE TEMP TABLE t (x int)"), "42501");
}

// Key publication (migration 0010): one "key.published" row per kid, even when several authority
// processes start at once; published_keys is append-only like the log it indexes.
TEST_F(RolesTest, KeyPublishedOncePerKidAcrossConcurrentWriters) {
  auto publish = [](Pool& pool, const std::string& kid) {
    return pool.Run("publish", [&](Tx& tx) {
      return AppendKeyPublishedOnce(tx, kid, "blind-signing", ToBytes("{\"kid\":\"" + kid + "\"}"))
          .has_value();
    });
  };
  std::vector<std::unique_ptr<Pool>> pools;
  for (int i = 0; i < 4; ++i) pools.push_back(pg_.MakePool(PgRole::kAuthority, 1));
  std::vector<int> appended(pools.size(), 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    threads.emplace_back([&, i] {
      for (const char* kid : {"kid-a", "kid-b", "kid-a"}) appended[i] += publish(*pools[i], kid) ? 1 : 0;
    });
  }
  for (std::thread& t : threads) t.join();
  int total = 0;
  for (int n : appended) total += n;
  EXPECT_EQ(total, 2);  // kid-a and kid-b, once each
  Pool& pool = *pools[0];
  EXPECT_FALSE(publish(pool, "kid-b"));
  EXPECT_EQ(pool.Run("rows", [](Tx& tx) {
    return tx.Exec("SELECT count(*) FROM audit_log a JOIN published_keys p ON p.audit_seq = a.seq "
                   "WHERE a.kind = 'key.published'").One().GetInt64(0);
  }), 2);
  EXPECT_EQ(SqlState(pool, "UPDATE published_keys SET role = 'x'"), "42501");
  EXPECT_EQ(SqlState(pool, "DELETE FROM published_keys"), "42501");
  auto owner = pg_.MakePool(PgRole::kOwner, 1);
  EXPECT_EQ(SqlState(*owner, "UPDATE published_keys SET role = 'x'"), "P0001");
  EXPECT_EQ(SqlState(*owner, "DELETE FROM published_keys"), "P0001");
  EXPECT_EQ(SqlState(*owner, "TRUNCATE published_keys"), "P0001");
  EXPECT_EQ(SqlState(pool, "INSERT INTO published_keys (kid, role, audit_seq) VALUES ('bad kid!', "
                           "'blind-signing', 99)"),
            "23514");
}

}  // namespace
}  // namespace realdid::db
