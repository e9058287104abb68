// Client-side round robin over several authority processes that share one database and one HSM
// token (issue 9: the service is stateless). IssueRoundRobin runs the wallet's issuance steps
// (key set, nonce, session, commit, reveal) each on the NEXT authority in turn, so one session is
// typically opened on one process, committed on another and revealed on a third; the wallet's
// checks (wallet::CheckSession against the shared `iss`) and unblinding are the ordinary ones.
// Used by tests/e2e/multi_authority_e2e_test.cc and bench/multi_authority_bench.cc.
// Thread-safety: a RoundRobinWallet is used by one thread; several wallets may run in parallel.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "wallet/client.h"
#include "wallet/issuance.h"

namespace realdid::testing {

class RoundRobinWallet {
 public:
  // One client (its own kept-alive connection) per authority URL; `start` picks the first one.
  RoundRobinWallet(const std::vector<std::string>& authority_urls, const wallet::HttpsOptions& tls,
                   std::size_t start = 0);
  // The whole issuance, step by step across the authorities. `iss` is the issuer URL all of them
  // are configured with. Throws what wallet::Issue throws.
  wallet::IssuedCredential Issue(wallet::CtidAppClient& ctid, const wallet::Resident& who,
                                 const std::string& iss);
  // How many requests went to each authority (index as in the constructor).
  const std::vector<std::size_t>& requests() const noexcept { return requests_; }

 private:
  wallet::AuthorityClient& Next();
  std::vector<std::unique_ptr<wallet::AuthorityClient>> clients_;
  std::vector<std::size_t> requests_;
  std::size_t next_ = 0;
};

}  // namespace realdid::testing
