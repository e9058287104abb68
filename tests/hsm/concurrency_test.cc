// Many threads, few sessions: 8 threads share a pool of 2 sessions; every result is verified.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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
