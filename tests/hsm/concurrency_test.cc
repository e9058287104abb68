// Many threads, few sessions: 8 threads share a pool of 2 sessions; every result is verified.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/hsm/hsm_fixture.h"

namespace realdid::hsm::testing {
namespace {

TEST_F(HsmTest, EightThreadsSignThroughAPoolOfTwo) {
  auto keys = RunCeremony();
  auto token = Token::Open(module(), Config(kIssuance, 2));
  KeyRef rsa = RefFor(keys, "blind-signing");
  KeyRef audit = RefFor(keys, "audit-signing");
  KeyRef hmac = RefFor(keys, "id-lookup-hmac");
  RsaPublicKey pub = token->RsaPublic(rsa);
  Bytes point = token->EcP256Public(audit);
  Bytes mac0 = token->HmacSha256(hmac, ToBytes("same input"));

  constexpr int kThreads = 8;
  constexpr int kPerThread = 12;
  std::atomic<int> verified{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          Bytes m = RandomBytes(pub.n.size());
          m[0] = 0x01;
          Bytes s = token->RsaRawPrivate(rsa, m);
          Bytes msg = ToBytes("t" + std::to_string(t) + "-" + std::to_string(i));
          Bytes sig = token->EcdsaP256Sign(audit, msg);
          bool ok = HostRsaPublic(pub, s) == m && HostEs256Verify(point, msg, sig) &&
                    token->HmacSha256(hmac, ToBytes("same input")) == mac0;
          (ok ? verified : failures).fetch_add(1);
        } catch (...) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(verified.load(), kThreads * kPerThread);
  EXPECT_LE(token->OpenSessionsForTesting(), 2u);
  EXPECT_EQ(token->recoveries(), 0u);
}

// Waiters are served in arrival order: with the only session leased, threads queue one after the
// other; each returned session goes to the oldest waiter, and a thread arriving meanwhile cannot
// take it first.
TEST_F(HsmTest, SessionsGoToWaitersInArrivalOrder) {
  (void)RunCeremony();
  auto token = Token::Open(module(), Config(kIssuance, 1));
  Token::Lease held = token->Acquire();
  constexpr int kWaiters = 5;
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  auto await_waiters = [&](std::size_t n) {
    for (int i = 0; i < 5000 && token->WaitersForTesting() != n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(token->WaitersForTesting(), n);
  };
  for (int t = 0; t < kWaiters; ++t) {
    threads.emplace_back([&, t] {
      Token::Lease lease = token->Acquire();
      std::lock_guard lock(mu);
      order.push_back(t);
    });
    await_waiters(static_cast<std::size_t>(t) + 1);  // t is queued before t + 1 starts
  }
  // Return the session and ask again at once: this thread arrives last, so it is served last
  // (a pool that let it barge in would give the session straight back to it).
  held = Token::Lease();
  held = token->Acquire();
  {
    std::lock_guard lock(mu);
    order.push_back(99);
  }
  held = Token::Lease();
  for (auto& th : threads) th.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 99}));
  EXPECT_EQ(token->WaitersForTesting(), 0u);
  EXPECT_EQ(token->OpenSessionsForTesting(), 1u);
  // The pool is usable afterwards, and a discarded session's slot is reused.
  {
    Token::Lease l = token->Acquire();
    l.Discard();
  }
  EXPECT_EQ(token->OpenSessionsForTesting(), 0u);
  EXPECT_TRUE(static_cast<bool>(token->Acquire()));
}

TEST_F(HsmTest, ConcurrentOperationsSurviveASessionWipe) {
  auto keys = RunCeremony();
  auto token = Token::Open(module(), Config(kIssuance, 2));
  KeyRef hmac = RefFor(keys, "id-lookup-hmac");
  Bytes mac0 = token->HmacSha256(hmac, ToBytes("x"));
  CK_SLOT_ID slot = module()->FindSlotByTokenLabel(kIssuance);
  ASSERT_EQ(module()->fn().C_CloseAllSessions(slot), CKR_OK);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        try {
          if (token->HmacSha256(hmac, ToBytes("x")) == mac0) ok.fetch_add(1);
        } catch (...) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_GE(token->recoveries(), 1u);
  EXPECT_LE(token->OpenSessionsForTesting(), 2u);  // back within the pool size once quiet
}

}  // namespace
}  // namespace realdid::hsm::testing
