// The transport half of issuance: the authority's public API and the CTID app stand-in over HTTPS,
// and Issue(), which runs one whole issuance with the pure steps of wallet/issuance.h.
//
// Security contract: the key set is fetched anonymously (no session, no identity, a fresh
// connection); the session secret is sent only as the bearer token of the session's own requests;
// commit and reveal are retried (transport failures and 503, bounded, with backoff honouring
// Retry-After) only by re-sending byte-identical bodies; opening a session is never retried (the CTID
// token is single-use). On any failure the Issuance is aborted, which wipes every candidate.
// Thread-safety: one thread at a time per client object.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "wallet/https_client.h"
#include "wallet/issuance.h"
#include "wallet/key_set.h"

namespace realdid::wallet {

struct RetryPolicy {
  int max_attempts = 4;              // per message, including the first
  std::int64_t initial_backoff_ms = 200;
  std::int64_t max_backoff_ms = 5000;  // also caps Retry-After
};

class AuthorityClient {
 public:
  AuthorityClient(std::string_view base_url, HttpsOptions tls, RetryPolicy retry = {});

  const std::string& base_url() const noexcept { return base_url_; }
  // GET /.well-known/jwks.json over a fresh connection that has carried nothing else.
  std::string FetchKeySetText();
  KeySet FetchKeySet() { return ParseKeySet(FetchKeySetText()); }
  // POST /v1/ctid/nonce -> the nonce (b64url of 16 bytes).
  std::string GetNonce();
  // POST /v1/issuance/sessions; the answer parsed (not yet checked).
  SessionOffer OpenSession(std::string_view name, std::string_view id_number,
                           std::string_view nonce, std::string_view ctid_token);
  // POST .../commit and .../reveal with the session secret; answers the 200 body or throws
  // ServerRefusal. Identical bodies on retry.
  std::string Commit(const SessionOffer& offer, const std::string& body);
  std::string Reveal(const SessionOffer& offer, const std::string& body);
  // One raw request without retries (tests of protocol misuse).
  HttpResponse PostRaw(std::string_view path, std::string_view body, const Secret* bearer = nullptr);

 private:
  std::string SendIdempotent(std::string_view step, std::string_view path, const std::string& body,
                             const Secret* bearer);
  std::string base_url_;
  HttpsOptions tls_;
  RetryPolicy retry_;
  HttpsClient http_;
};

struct Resident {
  std::string name;
  std::string id_number;
};

// The CTID app stand-in served by ctid-sim (docs/protocol.md 6).
class CtidAppClient {
 public:
  CtidAppClient(std::string_view base_url, HttpsOptions tls);
  // GET /v1/residents/{index} (demo stand-in for the resident typing name and number).
  Resident GetResident(std::uint64_t index);
  // POST /v1/authenticate -> the single-use CTID token bound to the nonce.
  std::string Authenticate(std::string_view id_number, std::string_view name, std::string_view nonce);

 private:
  HttpsClient http_;
};

struct IssueOptions {
  const TamperForTesting* tamper = nullptr;
  std::function<void(std::string_view)> progress;  // one line per step (no secrets)
  std::function<std::int64_t()> clock;             // Unix seconds; default the system clock
};

// The whole issuance for one resident: key set, nonce, CTID token, session, every check, K
// candidates, commit, challenge, reveal, finish. Throws WalletRefusal, ServerRefusal or Error.
IssuedCredential Issue(AuthorityClient& authority, CtidAppClient& ctid, const Resident& who,
                       const IssueOptions& options = {});

std::int64_t SystemNow();

}  // namespace realdid::wallet
