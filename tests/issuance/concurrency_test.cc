// Concurrency: 8 threads reveal one committed session at once against the REAL PostgreSQL and
// SoftHSM2 token. Exactly one HSM signature is made (counted by the HSM observer), one issuance
// record is stored, and every thread receives the same blind signature.
#include <thread>

#include "tests/issuance/fixture.h"

namespace realdid::issuance::testing {
namespace {

class IssuanceConcurrencyTest : public IssuanceFixture {};

TEST_F(IssuanceConcurrencyTest, ConcurrentRevealsSignOnce) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  auto cands = BuildCandidates(s);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  const std::vector<Opening> openings = OpeningsExcept(cands, j);
  const int before = observer_->rsa_raw();

  constexpr int kThreads = 8;
  std::vector<Bytes> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      try {
        results[static_cast<std::size_t>(t)] = svc->Reveal(s.session_id, s.session_secret, openings);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[static_cast<std::size_t>(t)], "");
    EXPECT_EQ(results[static_cast<std::size_t>(t)], results[0]);
  }
  EXPECT_EQ(observer_->rsa_raw(), before + 1);
  std::int64_t records = pool_->Run("t", [&](db::Tx& tx) {
    return tx.Exec("SELECT count(*)::bigint AS n FROM issuance_records WHERE session_id = $1",
                   {s.session_id})
        .One()
        .GetInt64("n");
  });
  EXPECT_EQ(records, 1);
  FinalizeAndVerify(s, cands[static_cast<std::size_t>(j)], results[0]);
}

TEST_F(IssuanceConcurrencyTest, ConcurrentOpensForOnePersonYieldOneSession) {
  auto svc = MakeService(4);
  Person p = NewPerson();
  constexpr int kThreads = 6;
  std::vector<OpenRequest> reqs;
  for (int t = 0; t < kThreads; ++t) reqs.push_back(Request(*svc, p));
  std::atomic<int> opened{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        svc->OpenSession(reqs[static_cast<std::size_t>(t)]);
        ++opened;
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kConflict) {
          ++conflicts;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(opened.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace realdid::issuance::testing
