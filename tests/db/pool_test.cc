// Pool against a real PostgreSQL: queries, typed round trips, outage and recovery, connection
// errors without secrets, in-doubt commits.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "db/pool.h"
#include "tests/support/pg_harness.h"

namespace realdid::db {
namespace {

using realdid::testing::PgHarness;
using realdid::testing::PgRole;

struct RecordingObserver : QueryObserver {
  void OnQuery(std::string_view what, bool ok, double /*seconds*/) noexcept override {
    std::lock_guard lock(mutex);
    queries.emplace_back(std::string(what) + (ok ? ":ok" : ":fail"));
  }
  void OnPoolWait(double /*seconds*/) noexcept override { ++waits; }
  void OnRetry(std::string_view /*what*/, std::string_view reason) noexcept override {
    std::lock_guard lock(mutex);
    retries.emplace_back(reason);
  }
  std::mutex mutex;
  std::vector<std::string> queries;
  std::vector<std::string> retries;
  std::atomic<int> waits{0};
};

TEST(PoolTest, QueryAndTypedRoundTrip) {
  PgHarness pg;
  auto pool = pg.MakePool(PgRole::kOwner);
  const Bytes blob = {0x00, 0x01, 0xfe, 0xff, 0x5c, 0x78};
  Result r = pool->Run("roundtrip", [&](Tx& tx) {
    return tx.Exec(
        "SELECT $1::text AS t, $2::bigint AS i, $3::boolean AS b, $4::bytea AS y, "
        "$5::text AS n, 1 + 1 AS two, ''::bytea AS empty",
        {"héllo 'quoted' $2", std::int64_t{-9007199254740993}, true, blob, std::nullopt});
  });
  ASSERT_EQ(r.size(), 1u);
  const Row row = r.One();
  EXPECT_EQ(row.GetString("t"), "héllo 'quoted' $2");
  EXPECT_EQ(row.GetInt64("i"), -9007199254740993);
  EXPECT_TRUE(row.GetBool("b"));
  EXPECT_EQ(row.GetBytes("y"), blob);
  EXPECT_TRUE(row.IsNull("n"));
  EXPECT_EQ(row.GetOptString("n"), std::nullopt);
  EXPECT_EQ(row.GetInt64("two"), 2);
  EXPECT_EQ(row.GetBytes("empty"), Bytes{});
  // Typed getters check the SQL type and NULL.
  EXPECT_THROW(row.GetInt64("t"), DbError);
  EXPECT_THROW(row.GetString("y"), DbError);
  EXPECT_THROW(row.GetString("n"), DbError);
  EXPECT_THROW(row.GetBool("nope"), DbError);
  EXPECT_THROW(r[1], DbError);
}

TEST(PoolTest, ExecRunsExactlyOneStatement) {
  PgHarness pg;
  auto pool = pg.MakePool(PgRole::kOwner);
  try {
    pool->Run("stacked", [](Tx& tx) { tx.Exec("SELECT 1; SELECT 2"); });
    FAIL() << "stacked statements were accepted";
  } catch (const DbError& e) {
    EXPECT_EQ(e.sqlstate(), "42601");
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
  }
}

TEST(PoolTest, PingFailsWhileServerIsDownAndRecoversWithTheSamePool) {
  PgHarness pg;
  auto observer = std::make_shared<RecordingObserver>();
  PoolConfig config;
  config.dsn = pg.Dsn(PgRole::kAuthority);
  config.size = 2;
  config.connect_timeout_seconds = 2;
  config.backoff_base = std::chrono::milliseconds(1);
  config.backoff_max = std::chrono::milliseconds(20);
  config.observer = observer;
  Pool pool(std::move(config));

  pool.Ping();
  {
    Lease a = pool.Acquire();  // open two connections that will go stale
    Lease b = pool.Acquire();
  }
  EXPECT_EQ(pool.open_connections(), 2u);

  pg.Stop();
  try {
    pool.Ping();
    FAIL() << "Ping succeeded with the server down";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
  }
  try {
    pool.Run("while down", [](Tx& tx) { tx.Exec("SELECT 1"); });
    FAIL() << "Run succeeded with the server down";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_FALSE(e.in_doubt());
  }
  EXPECT_EQ(pool.open_connections(), 0u);

  pg.Start();
  pool.Ping();
  EXPECT_EQ(pool.Run("after restart",
                     [](Tx& tx) { return tx.Exec("SELECT 7 AS v").One().GetInt64("v"); }),
            7);
  std::lock_guard lock(observer->mutex);
  EXPECT_EQ(observer->queries.back(), "after restart:ok");
  EXPECT_NE(std::find(observer->queries.begin(), observer->queries.end(), "while down:fail"),
            observer->queries.end());
  EXPECT_GT(observer->waits.load(), 0);
}

TEST(PoolTest, StaleConnectionBeforeCommitIsRetried) {
  PgHarness pg;
  auto observer = std::make_shared<RecordingObserver>();
  PoolConfig config;
  config.dsn = pg.Dsn(PgRole::kOwner);
  config.size = 1;
  config.backoff_base = std::chrono::milliseconds(1);
  config.observer = observer;
  Pool pool(std::move(config));
  pool.Ping();  // one idle connection
  pg.Stop();
  pg.Start();   // the idle connection is now dead, and the pool cannot know yet
  int calls = 0;
  pool.Run("retry", [&](Tx& tx) {
    ++calls;
    tx.Exec("SELECT 1");
  });
  EXPECT_GE(calls, 1);
  std::lock_guard lock(observer->mutex);
  ASSERT_FALSE(observer->retries.empty());
  EXPECT_EQ(observer->retries.front(), "connection_lost");
}

TEST(PoolTest, WrongPasswordIsUnavailableAndNotEchoed) {
  PgHarness pg;
  PoolConfig config;
  config.dsn = Secret::FromString("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                  " dbname=realdid user=realdid_authority password=Wr0ngPassw0rd");
  Pool pool(std::move(config));
  try {
    pool.Ping();
    FAIL() << "wrong password accepted";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_EQ(std::string(e.what()).find("Wr0ngPassw0rd"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("realdid_authority"), std::string::npos) << e.what();
  }
}

TEST(PoolTest, ExhaustedPoolIsUnavailable) {
  PgHarness pg;
  PoolConfig config;
  config.dsn = pg.Dsn(PgRole::kOwner);
  config.size = 1;
  config.acquire_timeout = std::chrono::milliseconds(50);
  Pool pool(std::move(config));
  Lease held = pool.Acquire();
  try {
    Lease second = pool.Acquire();
    FAIL() << "pool handed out more connections than its size";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_FALSE(e.retryable());
  }
}

// A deferred constraint trigger kills the session inside COMMIT: the client cannot know whether
// the transaction is durable. Run must report it as in doubt and must not run the body again.
TEST(PoolTest, ConnectionLostDuringCommitIsInDoubtAndNotRetried) {
  PgHarness pg;
  auto admin = pg.MakePool(PgRole::kSuperuser, 1);
  admin->Run("setup", [](Tx& tx) {
    tx.ExecScript(R"sql(
      CREATE TABLE doubt (x int);
      CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END; $$;
      CREATE CONSTRAINT TRIGGER die AFTER INSERT ON doubt DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION die_at_commit();
    )sql");
  });
  auto pool = pg.MakePool(PgRole::kSuperuser, 1);
  int calls = 0;
  try {
    pool->Run("doubtful", [&](Tx& tx) {
      ++calls;
      tx.Exec("INSERT INTO doubt VALUES ($1)", {1});
    });
    FAIL() << "commit reported success";
  } catch (const DbError& e) {
    EXPECT_TRUE(e.in_doubt());
    EXPECT_FALSE(e.retryable());
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_NE(std::string(e.what()).find(kCommitOutcomeUnknown), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 1);
  // The pool recovers: the broken connection was dropped.
  EXPECT_EQ(pool->Run("count", [](Tx& tx) {
    return tx.Exec("SELECT count(*) AS n FROM doubt").One().GetInt64("n");
  }), 0);
}

}  // namespace
}  // namespace realdid::db
