// db/revocation_store.h against a real PostgreSQL 15 with all migrations: idempotent revocation,
// one version bump per changing transaction, deltas by version, key revocation, the warrant
// role's path (source "warrant"), audit rows, append-only guards and least-privilege grants.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "db/audit_store.h"
#include "db/pool.h"
#include "db/revocation_store.h"
#include "tests/support/pg_harness.h"

namespace realdid::db {
namespace {

using realdid::testing::PgHarness;
using realdid::testing::PgRole;

const std::string kKidA(43, 'A');
const std::string kKidB(43, 'B');
Bytes Id(std::uint8_t b) { return Bytes(32, b); }

class RevocationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_.Migrate();
    authority_ = pg_.MakePool(PgRole::kAuthority, 2);
    warrant_ = pg_.MakePool(PgRole::kWarrant, 1);
  }
  std::string SqlState(Pool& pool, const std::string& sql) {
    try {
      pool.Run("probe", [&](Tx& tx) { tx.Exec(sql); });
    } catch (const DbError& e) {
      return e.sqlstate();
    }
    return "ok";
  }
  std::int64_t AuditRows(const std::string& kind) {
    return authority_->Run("count", [&](Tx& tx) {
      return tx.Exec("SELECT count(*)::bigint FROM audit_log WHERE kind = $1", {kind})
          .One()
          .GetInt64(0);
    });
  }
  PgHarness pg_;
  std::unique_ptr<Pool> authority_;
  std::unique_ptr<Pool> warrant_;
};

TEST_F(RevocationStoreTest, IdempotentVersionedRevocation) {
  EXPECT_EQ(authority_->Run("s", [](Tx& tx) { return GetListState(tx, kKidA).version; }), 0);
  std::size_t n = authority_->Run("r1", [](Tx& tx) {
    return Revoke(tx, {{kKidA, Id(5)}, {kKidA, Id(1)}, {kKidB, Id(9)}, {kKidA, Id(5)}}, "holder",
                  1000);
  });
  EXPECT_EQ(n, 3u);
  // Same ids again: nothing new, no version bump, no audit row.
  std::int64_t audits = AuditRows("revocation");
  EXPECT_EQ(authority_->Run("r2", [](Tx& tx) { return Revoke(tx, {{kKidA, Id(1)}}, "holder", 1001); }),
            0u);
  EXPECT_EQ(AuditRows("revocation"), audits);
  authority_->Run("r3", [](Tx& tx) { Revoke(tx, {{kKidA, Id(3)}, {kKidA, Id(1)}}, "holder", 1002); });

  authority_->Run("check", [](Tx& tx) {
    RevocationListState a = GetListState(tx, kKidA);
    EXPECT_EQ(a.version, 2);
    EXPECT_FALSE(a.key_revoked);
    EXPECT_EQ(GetListState(tx, kKidB).version, 1);
    EXPECT_EQ(RevokedIds(tx, kKidA, 0, 2), (std::vector<Bytes>{Id(1), Id(3), Id(5)}));
    EXPECT_EQ(RevokedIds(tx, kKidA, 0, 1), (std::vector<Bytes>{Id(1), Id(5)}));
    EXPECT_EQ(RevokedIds(tx, kKidA, 1, 2), (std::vector<Bytes>{Id(3)}));
    EXPECT_TRUE(IsRevoked(tx, kKidA, Id(3)));
    EXPECT_FALSE(IsRevoked(tx, kKidA, Id(9)));  // revoked under B only
    EXPECT_TRUE(IsRevoked(tx, kKidB, Id(9)));
  });
  EXPECT_EQ(AuditRows("revocation"), audits + 1);
}

TEST_F(RevocationStoreTest, MalformedInputRefused) {
  EXPECT_THROW(authority_->Run("r", [](Tx& tx) { Revoke(tx, {{"short", Id(1)}}, "holder", 1); }),
               Error);
  EXPECT_THROW(authority_->Run("r", [](Tx& tx) { Revoke(tx, {{kKidA, Bytes(31, 1)}}, "holder", 1); }),
               Error);
  EXPECT_THROW(authority_->Run("r", [](Tx& tx) { Revoke(tx, {{kKidA, Id(1)}}, "because", 1); }),
               Error);
}

TEST_F(RevocationStoreTest, KeyRevocationRevokesEverything) {
  authority_->Run("r", [](Tx& tx) { Revoke(tx, {{kKidA, Id(1)}}, "holder", 10); });
  EXPECT_TRUE(authority_->Run("k", [](Tx& tx) { return RevokeKey(tx, kKidA, "key", 11); }));
  EXPECT_FALSE(authority_->Run("k2", [](Tx& tx) { return RevokeKey(tx, kKidA, "key", 12); }));
  authority_->Run("check", [](Tx& tx) {
    RevocationListState s = GetListState(tx, kKidA);
    EXPECT_EQ(s.version, 2);
    EXPECT_TRUE(s.key_revoked);
    EXPECT_FALSE(s.KeyRevokedAt(1));
    EXPECT_TRUE(s.KeyRevokedAt(2));
    EXPECT_TRUE(IsRevoked(tx, kKidA, Id(77)));
  });
  // The owner cannot undo it either (trigger).
  auto owner = pg_.MakePool(PgRole::kOwner, 1);
  EXPECT_NE(SqlState(*owner, "UPDATE revocation_lists SET key_revoked_version = NULL"), "ok");
  EXPECT_NE(SqlState(*owner, "UPDATE revocation_lists SET version = 0"), "ok");
}

TEST_F(RevocationStoreTest, WarrantRoleRevokesAndAuthoritySeesIt) {
  // As the warrant component does after resolving a person's credentials.
  warrant_->Run("warrant revoke", [](Tx& tx) {
    Revoke(tx, {{kKidA, Id(42)}, {kKidA, Id(43)}}, "warrant", 500);
  });
  EXPECT_TRUE(authority_->Run("is", [](Tx& tx) { return IsRevoked(tx, kKidA, Id(42)); }));
  EXPECT_EQ(authority_->Run("src", [](Tx& tx) {
    return tx.Exec("SELECT source FROM revocations WHERE revocation_id = $1", {Id(43)})
        .One()
        .GetString(0);
  }), "warrant");
  // The warrant role reads state but has no access to the list caches or nonces.
  EXPECT_EQ(SqlState(*warrant_, "SELECT count(*) FROM revocation_list_issues"), "42501");
  EXPECT_EQ(SqlState(*warrant_, "SELECT count(*) FROM revocation_nonces"), "42501");
}

TEST_F(RevocationStoreTest, AppendOnlyAndGrants) {
  authority_->Run("r", [](Tx& tx) { Revoke(tx, {{kKidA, Id(1)}}, "holder", 10); });
  for (Pool* pool : {authority_.get(), warrant_.get()}) {
    EXPECT_EQ(SqlState(*pool, "UPDATE revocations SET source = 'key'"), "42501");
    EXPECT_EQ(SqlState(*pool, "DELETE FROM revocations"), "42501");
    EXPECT_EQ(SqlState(*pool, "DELETE FROM revocation_lists"), "42501");
  }
  auto owner = pg_.MakePool(PgRole::kOwner, 1);
  EXPECT_NE(SqlState(*owner, "UPDATE revocations SET source = 'key'"), "ok");
  EXPECT_NE(SqlState(*owner, "DELETE FROM revocations"), "ok");
  EXPECT_NE(SqlState(*owner, "TRUNCATE revocations"), "ok");
}

TEST_F(RevocationStoreTest, SignedListCacheKeepsNewestIssue) {
  SignedListRow a{kKidA, 1, 100, 200, "a"};
  SignedListRow b{kKidA, 1, 150, 250, "b"};
  SignedListRow old{kKidA, 0, 400, 500, "old"};
  authority_->Run("p", [&](Tx& tx) { EXPECT_EQ(PutSignedList(tx, a).jws, "a"); });
  authority_->Run("p", [&](Tx& tx) { EXPECT_EQ(PutSignedList(tx, b).jws, "b"); });
  // A concurrent node that signed an older issue gets the newer one back.
  authority_->Run("p", [&](Tx& tx) { EXPECT_EQ(PutSignedList(tx, a).jws, "b"); });
  authority_->Run("p", [&](Tx& tx) { EXPECT_EQ(PutSignedList(tx, old).jws, "b"); });
  authority_->Run("d", [&](Tx& tx) {
    EXPECT_EQ(PutSignedDelta(tx, kKidA, 1, 150, 0, "d1"), "d1");
    EXPECT_EQ(PutSignedDelta(tx, kKidA, 1, 150, 0, "d2"), "d1");  // first writer wins
    EXPECT_EQ(GetSignedDelta(tx, kKidA, 1, 150, 0).value_or(""), "d1");
    EXPECT_FALSE(GetSignedDelta(tx, kKidA, 1, 100, 0).has_value());
  });
}

TEST_F(RevocationStoreTest, NoncesAreSingleUse) {
  Bytes n(16, 9);
  authority_->Run("n", [&](Tx& tx) { InsertRevocationNonce(tx, n, 1000); });
  EXPECT_FALSE(authority_->Run("c", [&](Tx& tx) { return ConsumeRevocationNonce(tx, n, 1000); }));
  EXPECT_TRUE(authority_->Run("c", [&](Tx& tx) { return ConsumeRevocationNonce(tx, n, 999); }));
  EXPECT_FALSE(authority_->Run("c", [&](Tx& tx) { return ConsumeRevocationNonce(tx, n, 999); }));
  EXPECT_FALSE(
      authority_->Run("c", [&](Tx& tx) { return ConsumeRevocationNonce(tx, Bytes(16, 1), 1); }));
}

}  // namespace
}  // namespace realdid::db
