// Two realdid-authority processes against one PostgreSQL database and one HSM token (issue 9:
// the service is stateless). Wallets issue concurrently with client-side round robin: every step
// of a session (key set, nonce, open, commit, reveal) goes to the next process, so sessions are
// opened on one process and finished on the other. Afterwards nothing is lost or duplicated: one
// issuance record, one signed session and one "issuance.signed" audit row per credential, every
// issuance id and credential distinct, the audit chain (appended by both processes) unbroken.
// A resident contested by two wallets through different processes gets at most what the rules
// allow (one open session at a time), and the records match the credentials handed out.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/audit_chain.h"
#include "db/audit_store.h"
#include "db/pool.h"
#include "tests/e2e/round_robin.h"
#include "tests/e2e/stack.h"
#include "wallet/client.h"
#include "wallet/https_client.h"

namespace realdid::testing {
namespace {

TEST(MultiAuthorityE2e, TwoAuthoritiesIssueConcurrentlyWithoutLossOrDuplicates) {
  StackOptions options;
  options.rsa_bits = 2048;
  options.k = 4;
  options.min_k = 2;
  E2eStack stack(options);
  const std::vector<std::string> urls = {stack.authority_url(), stack.StartExtraAuthority()};
  ASSERT_NE(urls[0], urls[1]);

  constexpr int kWallets = 6;
  constexpr int kEach = 3;
  constexpr std::uint64_t kContested = 4242;
  std::mutex mu;
  std::vector<std::string> issued;       // GUARDED_BY(mu)
  std::vector<std::string> failures;     // GUARDED_BY(mu)
  std::vector<std::string> refusals;     // GUARDED_BY(mu): contested resident only
  int contested_ok = 0;                  // GUARDED_BY(mu)
  std::vector<std::size_t> per_authority(urls.size(), 0);  // GUARDED_BY(mu)

  auto run_wallet = [&](std::size_t start, std::vector<std::uint64_t> residents, bool contested) {
    try {
      RoundRobinWallet rr(urls, stack.AuthorityTls(), start);
      wallet::CtidAppClient ctid(stack.ctid_url(), stack.CtidTls());
      for (std::uint64_t index : residents) {
        wallet::Resident who = ctid.GetResident(index);
        try {
          wallet::IssuedCredential cred = rr.Issue(ctid, who, stack.authority_url());
          std::lock_guard<std::mutex> l(mu);
          issued.push_back(cred.issued);
          if (contested) ++contested_ok;
        } catch (const wallet::ServerRefusal& e) {
          std::lock_guard<std::mutex> l(mu);
          (contested ? refusals : failures).push_back(e.what());
        }
      }
      std::lock_guard<std::mutex> l(mu);
      for (std::size_t i = 0; i < urls.size(); ++i) per_authority[i] += rr.requests()[i];
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> l(mu);
      failures.push_back(e.what());
    }
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWallets; ++w) {
    std::vector<std::uint64_t> residents;
    for (int i = 0; i < kEach; ++i) {
      residents.push_back(static_cast<std::uint64_t>(100 + w * kEach + i));
    }
    threads.emplace_back(run_wallet, static_cast<std::size_t>(w), residents, false);
  }
  // The same resident through both processes at once.
  threads.emplace_back(run_wallet, std::size_t{0}, std::vector<std::uint64_t>{kContested}, true);
  threads.emplace_back(run_wallet, std::size_t{1}, std::vector<std::uint64_t>{kContested}, true);
  for (auto& t : threads) t.join();

  for (const auto& f : failures) ADD_FAILURE() << f;
  ASSERT_TRUE(failures.empty());
  EXPECT_GE(contested_ok, 1);
  EXPECT_EQ(static_cast<std::size_t>(contested_ok) + refusals.size(), 2U);
  const std::size_t credentials =
      static_cast<std::size_t>(kWallets) * kEach + static_cast<std::size_t>(contested_ok);
  ASSERT_EQ(issued.size(), credentials);
  EXPECT_EQ(std::set<std::string>(issued.begin(), issued.end()).size(), credentials);
  for (std::size_t i = 0; i < urls.size(); ++i) {
    EXPECT_GT(per_authority[i], static_cast<std::size_t>(kWallets)) << "authority " << i;
  }

  // What the database holds matches what the wallets received, exactly.
  auto pool = stack.pg().MakePool(PgRole::kOwner, 1);
  auto count = [&](const std::string& sql) {
    return pool->Run("count", [&](db::Tx& tx) { return tx.Exec(sql).One().GetInt64(0); });
  };
  const auto n = static_cast<std::int64_t>(credentials);
  EXPECT_EQ(count("SELECT count(*) FROM issuance_records"), n);
  EXPECT_EQ(count("SELECT count(DISTINCT issuance_id) FROM issuance_records"), n);
  EXPECT_EQ(count("SELECT count(DISTINCT session_id) FROM issuance_records"), n);
  EXPECT_EQ(count("SELECT count(*) FROM issuance_record_keys"), n);
  EXPECT_EQ(count("SELECT count(*) FROM issuance_sessions WHERE state = 'signed'"), n);
  EXPECT_EQ(count("SELECT count(*) FROM issuance_sessions WHERE state IN ('open', 'committed')"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM issuance_records r JOIN issuance_sessions s "
                  "ON s.id = r.session_id AND s.issuance_id = r.issuance_id "
                  "AND s.person_id = r.person_id"),
            n);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE kind = 'issuance.signed'"), n);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE kind = 'issuance.session_opened'"),
            count("SELECT count(*) FROM issuance_sessions"));
  // Every resident has a record; only the contested one may have two (one per credential).
  EXPECT_EQ(count("SELECT count(DISTINCT person_id) FROM issuance_records"),
            kWallets * kEach + 1);
  EXPECT_EQ(count("SELECT max(c) FROM (SELECT count(*) AS c FROM issuance_records "
                  "GROUP BY person_id) m"),
            contested_ok);

  // One unbroken chain, although two processes appended to it.
  auto rows = pool->Run("audit", [](db::Tx& tx) { return db::ReadAudit(tx, 1, 100000); });
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().seq, static_cast<std::int64_t>(rows.size()));
  audit::VerifyResult v = audit::Verify(rows);
  EXPECT_TRUE(v.ok) << v.reason;
}

}  // namespace
}  // namespace realdid::testing
