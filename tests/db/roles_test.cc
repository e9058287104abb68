// Least-privilege roles: the service roles may only INSERT and SELECT the audit log; the owner's
// UPDATE/DELETE/TRUNCATE are refused by the append-only trigger.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace realdid::db
