// AccessLimiter (authority/access_limiter.h): token bucket, Retry-After, the CTID-failure penalty
// box, bounded memory, per-source independence. Time is injected: no sleeping, no timing.
#include "authority/access_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace realdid::authority {
namespace {

struct FakeClock {
  std::int64_t ms = 1'000'000;
  AccessLimiter::NowMs Fn() {
    return [this] { return ms; };
  }
};

AccessLimitSettings Small() {
  AccessLimitSettings s;
  s.rate_per_minute = 6;  // one token per 10 s
  s.burst = 3;
  s.max_sources = 4;
  s.ctid_failures = 2;
  s.ctid_failure_window = 60;
  s.ctid_block = 300;
  return s;
}

TEST(AccessLimiterTest, BurstThenRefusedWithRetryAfterThenRefilled) {
  FakeClock clock;
  AccessLimiter l(Small(), clock.Fn());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.Admit("10.0.0.1").allowed) << i;
  AccessLimiter::Decision d = l.Admit("10.0.0.1");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "rate");
  EXPECT_EQ(d.retry_after_seconds, 10);
  clock.ms += 9'999;
  d = l.Admit("10.0.0.1");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 1);
  clock.ms += 1;
  EXPECT_TRUE(l.Admit("10.0.0.1").allowed);
  EXPECT_FALSE(l.Admit("10.0.0.1").allowed);
  // Long idle: refilled to the burst, never above it.
  clock.ms += 3'600'000;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.Admit("10.0.0.1").allowed) << i;
  EXPECT_FALSE(l.Admit("10.0.0.1").allowed);
}

TEST(AccessLimiterTest, SourcesAreIndependent) {
  FakeClock clock;
  AccessLimiter l(Small(), clock.Fn());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.Admit("10.0.0.1").allowed);
  EXPECT_FALSE(l.Admit("10.0.0.1").allowed);
  EXPECT_TRUE(l.Admit("10.0.0.2").allowed);
  EXPECT_TRUE(l.Admit("::1").allowed);
}

TEST(AccessLimiterTest, CtidFailuresBlockTheSourceForTheBlockTime) {
  FakeClock clock;
  AccessLimitSettings s = Small();
  s.burst = 100;
  AccessLimiter l(s, clock.Fn());
  l.RecordCtidFailure("10.0.0.9");
  EXPECT_TRUE(l.Admit("10.0.0.9").allowed);  // one failure is below the threshold
  l.RecordCtidFailure("10.0.0.9");
  AccessLimiter::Decision d = l.Admit("10.0.0.9");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "ctid_failures");
  EXPECT_EQ(d.retry_after_seconds, 300);
  EXPECT_TRUE(l.Admit("10.0.0.8").allowed);  // other sources unaffected
  clock.ms += 299'000;
  d = l.Admit("10.0.0.9");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 1);
  clock.ms += 1'000;
  EXPECT_TRUE(l.Admit("10.0.0.9").allowed);
}

TEST(AccessLimiterTest, FailuresOutsideTheWindowDoNotAccumulate) {
  FakeClock clock;
  AccessLimitSettings s = Small();
  s.burst = 100;
  AccessLimiter l(s, clock.Fn());
  l.RecordCtidFailure("10.0.0.9");
  clock.ms += 60'000;  // the window (60 s) has passed
  l.RecordCtidFailure("10.0.0.9");
  EXPECT_TRUE(l.Admit("10.0.0.9").allowed);
  l.RecordCtidFailure("10.0.0.9");
  EXPECT_FALSE(l.Admit("10.0.0.9").allowed);
}

TEST(AccessLimiterTest, MemoryIsBoundedByForgettingTheLeastRecentSource) {
  FakeClock clock;
  AccessLimiter l(Small(), clock.Fn());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.Admit("a").allowed);
  EXPECT_FALSE(l.Admit("a").allowed);
  for (int i = 0; i < 1000; ++i) (void)l.Admit("s" + std::to_string(i));
  EXPECT_EQ(l.tracked_sources(), 4U);
  EXPECT_TRUE(l.Admit("a").allowed);  // forgotten: starts again with a full bucket
  EXPECT_EQ(l.tracked_sources(), 4U);
  // A recently seen source stays tracked.
  for (int i = 0; i < 3; ++i) (void)l.Admit("b");
  (void)l.Admit("c");
  (void)l.Admit("b");
  (void)l.Admit("d");
  (void)l.Admit("e");
  EXPECT_FALSE(l.Admit("b").allowed);
}

TEST(AccessLimiterTest, DisabledAdmitsEverything) {
  FakeClock clock;
  AccessLimitSettings s = Small();
  s.enabled = false;
  AccessLimiter l(s, clock.Fn());
  for (int i = 0; i < 100; ++i) {
    l.RecordCtidFailure("x");
    EXPECT_TRUE(l.Admit("x").allowed);
  }
  EXPECT_EQ(l.tracked_sources(), 0U);
}

TEST(AccessLimiterTest, RefusesNonPositiveSettings) {
  for (int which = 0; which < 6; ++which) {
    AccessLimitSettings s = Small();
    if (which == 0) s.rate_per_minute = 0;
    if (which == 1) s.burst = 0;
    if (which == 2) s.max_sources = 0;
    if (which == 3) s.ctid_failures = 0;
    if (which == 4) s.ctid_failure_window = 0;
    if (which == 5) s.ctid_block = -1;
    EXPECT_THROW(AccessLimiter l(s), Error) << which;
  }
}

TEST(AccessLimiterTest, ConcurrentAdmitsNeverExceedTheBurst) {
  FakeClock clock;  // frozen: no refill
  AccessLimitSettings s = Small();
  s.burst = 50;
  AccessLimiter l(s, clock.Fn());
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (l.Admit("10.1.1.1").allowed) ++admitted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 50);
}

}  // namespace
}  // namespace realdid::authority
