// Two serializable transactions in write skew: PostgreSQL aborts one (40001); the pool's runner
// retries it and both calls succeed, leaving the invariant intact.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "db/pool.h"
#include "tests/support/pg_harness.h"

namespace realdid::db {
namespace {

using realdid::testing::PgHarness;
using realdid::testing::PgRole;

struct RetryCounter : QueryObserver {
  void OnQuery(std::string_view, bool, double) noexcept override {}
  void OnPoolWait(double) noexcept override {}
  void OnRetry(std::string_view, std::string_view reason) noexcept override {
    if (reason == "serialization_failure") ++serialization;
  }
  std::atomic<int> serialization{0};
};

TEST(ConcurrencyTest, SerializationFailureIsRetriedAndBothSucceed) {
  PgHarness pg;
  auto observer = std::make_shared<RetryCounter>();
  PoolConfig config;
  config.dsn = pg.Dsn(PgRole::kOwner);
  config.size = 2;
  config.backoff_base = std::chrono::milliseconds(1);
  config.observer = observer;
  Pool pool(std::move(config));
  pool.Run("setup", [](Tx& tx) {
    tx.ExecScript(
        "CREATE TABLE on_call (doctor int PRIMARY KEY, on_duty boolean NOT NULL);"
        "INSERT INTO on_call VALUES (1, true), (2, true);");
  });

  // Invariant: at least one doctor stays on duty. Each transaction leaves duty if it sees two.
  std::barrier both_read(2);
  std::atomic<int> attempts{0};
  const auto leave = [&](int doctor) {
    TxOptions ser;
    ser.isolation = Isolation::kSerializable;
    bool first_attempt = true;
    return pool.Run("leave duty", ser, [&](Tx& tx) {
      ++attempts;
      const auto on = tx.Exec("SELECT count(*) AS n FROM on_call WHERE on_duty").One();
      if (first_attempt) {
        first_attempt = false;
        both_read.arrive_and_wait();  // both have read before either writes: write skew
      }
      if (on.GetInt64("n") < 2) return false;
      tx.Exec("UPDATE on_call SET on_duty = false WHERE doctor = $1", {doctor});
      return true;
    });
  };
  bool left1 = false;
  bool left2 = false;
  std::thread t1([&] { left1 = leave(1); });
  std::thread t2([&] { left2 = leave(2); });
  t1.join();
  t2.join();

  EXPECT_NE(left1, left2) << "exactly one doctor leaves";
  EXPECT_EQ(observer->serialization.load(), 1);
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_EQ(pool.Run("check", [](Tx& tx) {
    return tx.Exec("SELECT count(*) AS n FROM on_call WHERE on_duty").One().GetInt64("n");
  }), 1);
}

}  // namespace
}  // namespace realdid::db
