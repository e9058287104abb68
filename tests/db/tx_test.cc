// Scoped transactions against a real PostgreSQL: rollback by destructor, commit, error mapping.
#include <gtest/gtest.h>

#include "db/pool.h"
#include "tests/support/pg_harness.h"

namespace realdid::db {
namespace {

using realdid::testing::PgHarness;
using realdid::testing::PgRole;

class TxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = pg_.MakePool(PgRole::kOwner, 2);
    pool_->Run("setup", [](Tx& tx) {
      tx.Exec("CREATE TABLE items (id text PRIMARY KEY, n bigint NOT NULL)");
    });
  }
  std::int64_t Count() {
    return pool_->Run("count", [](Tx& tx) {
      return tx.Exec("SELECT count(*) AS c FROM items").One().GetInt64("c");
    });
  }
  PgHarness pg_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(TxTest, DestructorWithoutCommitRollsBack) {
  {
    Lease lease = pool_->Acquire();
    Tx tx = lease.Begin("insert");
    EXPECT_EQ(tx.Exec("INSERT INTO items VALUES ($1, $2)", {"a", 1}).affected_rows(), 1u);
    EXPECT_EQ(tx.Exec("SELECT count(*) AS c FROM items").One().GetInt64("c"), 1);
  }
  EXPECT_EQ(Count(), 0);
}

TEST_F(TxTest, CommitPersists) {
  {
    Lease lease = pool_->Acquire();
    Tx tx = lease.Begin("insert");
    tx.Exec("INSERT INTO items VALUES ($1, $2)", {"a", 1});
    tx.Commit();
    EXPECT_TRUE(tx.committed());
    EXPECT_THROW(tx.Exec("SELECT 1"), DbError);  // finished
  }
  EXPECT_EQ(Count(), 1);
}

TEST_F(TxTest, UniqueViolationIsConflictWithoutTheValue) {
  pool_->Run("first", [](Tx& tx) { tx.Exec("INSERT INTO items VALUES ($1, $2)", {"VAL-7781", 1}); });
  try {
    pool_->Run("second",
               [](Tx& tx) { tx.Exec("INSERT INTO items VALUES ($1, $2)", {"VAL-7781", 2}); });
    FAIL() << "duplicate accepted";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConflict);
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_FALSE(e.retryable());
    EXPECT_EQ(std::string(e.what()).find("VAL-7781"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("second"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("items_pkey"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Count(), 1);
}

TEST_F(TxTest, DataErrorsDoNotEchoParameters) {
  try {
    pool_->Run("bad int", [](Tx& tx) {
      tx.Exec("INSERT INTO items VALUES ($1, $2)", {"x", "NotANumber4411"});
    });
    FAIL();
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_EQ(e.sqlstate(), "22P02");
    EXPECT_EQ(std::string(e.what()).find("NotANumber4411"), std::string::npos) << e.what();
  }
}

TEST_F(TxTest, FailedTransactionCannotCommit) {
  Lease lease = pool_->Acquire();
  Tx tx = lease.Begin("partial");
  tx.Exec("INSERT INTO items VALUES ($1, $2)", {"a", 1});
  EXPECT_THROW(tx.Exec("INSERT INTO items VALUES ($1, $2)", {"a", 2}), DbError);
  EXPECT_THROW(tx.Commit(), DbError);
  EXPECT_FALSE(tx.committed());
  EXPECT_EQ(Count(), 0);
}

TEST_F(TxTest, RunRollsBackAndRethrowsWhenTheBodyThrows) {
  int calls = 0;
  EXPECT_THROW(pool_->Run("body throws",
                          [&](Tx& tx) {
                            ++calls;
                            tx.Exec("INSERT INTO items VALUES ($1, $2)", {"a", 1});
                            throw std::runtime_error("caller bug");
                          }),
               std::runtime_error);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Count(), 0);
}

TEST_F(TxTest, ReadOnlyTransactionRefusesWrites) {
  TxOptions ro;
  ro.read_only = true;
  try {
    pool_->Run("ro", ro, [](Tx& tx) { tx.Exec("INSERT INTO items VALUES ($1, $2)", {"a", 1}); });
    FAIL();
  } catch (const DbError& e) {
    EXPECT_EQ(e.sqlstate(), "25006");
  }
  TxOptions ser;
  ser.isolation = Isolation::kSerializable;
  EXPECT_EQ(pool_->Run("iso", ser, [](Tx& tx) {
    return tx.Exec("SHOW transaction_isolation").One().GetString(0);
  }), "serializable");
  EXPECT_EQ(pool_->Run("iso", [](Tx& tx) {
    return tx.Exec("SHOW transaction_isolation").One().GetString(0);
  }), "read committed");
}

}  // namespace
}  // namespace realdid::db
