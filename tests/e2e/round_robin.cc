#include "tests/e2e/round_robin.h"

#include <stdexcept>

namespace realdid::testing {

RoundRobinWallet::RoundRobinWallet(const std::vector<std::string>& authority_urls,
                                   const wallet::HttpsOptions& tls, std::size_t start) {
  if (authority_urls.empty()) throw std::invalid_argument("RoundRobinWallet: no authority");
  for (const auto& url : authority_urls) {
    clients_.push_back(std::make_unique<wallet::AuthorityClient>(url, tls));
  }
  requests_.assign(clients_.size(), 0);
  next_ = start % clients_.size();
}

wallet::AuthorityClient& RoundRobinWallet::Next() {
  std::size_t i = next_;
  next_ = (next_ + 1) % clients_.size();
  ++requests_[i];
  return *clients_[i];
}

wallet::IssuedCredential RoundRobinWallet::Issue(wallet::CtidAppClient& ctid,
                                                 const wallet::Resident& who,
                                                 const std::string& iss) {
  wallet::KeySet keys = Next().FetchKeySet();
  std::string nonce = Next().GetNonce();
  std::string token = ctid.Authenticate(who.id_number, who.name, nonce);
  wallet::SessionOffer offer = Next().OpenSession(who.name, who.id_number, nonce, token);
  wallet::CheckSession(offer, keys, {.iss = iss, .id_number = who.id_number,
                                     .now = wallet::SystemNow()});
  wallet::Issuance issuance(keys, offer);
  issuance.AcceptChallenge(Next().Commit(offer, issuance.CommitBody()));
  std::string answer = Next().Reveal(offer, issuance.RevealBody());
  return issuance.Finish(answer, wallet::SystemNow());
}

}  // namespace realdid::testing
