// The wallet's side of fair blind issuance (BRIEF section 4, docs/protocol.md section 5), as pure
// protocol steps without any I/O: parse and check the session the authority opened, build K
// candidates, produce the commit, accept exactly one challenge, produce the reveal (every candidate
// except j), and finish candidate j into a verified credential.
//
// Security contract:
//  - CheckSession() performs every check of BRIEF section 4 before any candidate exists: the signing
//    kid is the single active key of the published set, the escrow kid/key are the published ones,
//    e = 65537, modulus size and L as published, iat = today's UTC midnight, exp = iat + L, attested
//    values equal those recomputed from the ID number for today, vct/iss as published and expected,
//    issuance id 16 bytes, K >= published min_k (and <= kMaxK). It throws WalletRefusal naming the
//    failed check.
//  - Every random value is drawn independently per candidate from the OpenSSL CSPRNG.
//  - CommitBody()/RevealBody() are computed once; retries must re-send exactly these bytes.
//  - AcceptChallenge() accepts one challenge; a different second one aborts.
//  - Candidate j's values never appear in any message. Finish() verifies the blind signature
//    (RSASSA-PSS through OpenSSL) and the finished credential (credential::VerifyIssued) before it
//    returns it. Abort() (and the destructor) wipe all K candidates.
// TamperForTesting exists only so tests can produce each kind of cheat and skip the client-side
// checks; production code never sets it.
// Thread-safety: an Issuance is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/blind_rsa.h"
#include "core/bytes.h"
#include "core/credential.h"
#include "core/error.h"
#include "core/hpke.h"
#include "core/json.h"
#include "wallet/key_set.h"

namespace realdid::wallet {

inline constexpr std::int64_t kMaxK = 1024;

// A refusal by the wallet of something the authority sent (kind kInvalidInput, "wallet refused: ...").
class WalletRefusal : public Error {
 public:
  explicit WalletRefusal(const std::string& reason)
      : Error(ErrorKind::kInvalidInput, "wallet refused: " + reason) {}
};

// The answer to POST /v1/issuance/sessions (docs/protocol.md 5.2).
struct SessionOffer {
  std::string session_id;   // b64url of 16 bytes, as sent
  Secret session_secret;    // the 16 raw bytes' b64url text (the bearer token)
  Bytes issuance_id;
  credential::SessionValues values;  // iss, vct, kid, iat, exp, attested, escrow_kid
  std::int64_t k = 0;
  std::int64_t expires_at = 0;
};
SessionOffer ParseSessionOffer(std::string_view body);

struct SessionExpectations {
  std::string iss;        // the authority base URL the wallet was pointed at
  std::string id_number;  // what the resident typed
  std::int64_t now = 0;   // wallet clock, Unix seconds
};
// Every wallet-side check; throws WalletRefusal.
void CheckSession(const SessionOffer& offer, const KeySet& keys, const SessionExpectations& expect);

// A candidate's random values, before anything is derived from them (visible to the test hook).
struct CandidateInputs {
  credential::SessionValues session;  // a copy of the session's values
  Bytes issuance_id;                   // a copy of the session's issuance id
  Secret holder_d;                     // P-256 scalar
  Bytes jti;
  std::array<Bytes, credential::kNumDisclosed> salts;
  Secret pss_salt;                     // 48 bytes
  Secret r;                            // modulus length
  Secret escrow_ikm;                   // 32
  Secret trace_ikm;                    // 32
};

// What a candidate commits to (visible to the test hook after derivation).
struct CandidateCommitment {
  Bytes blinded_msg;
  Bytes trace;  // enc || ct, 161 bytes
};

struct TamperForTesting {
  bool skip_checks = false;                                    // skip CheckSession
  std::function<void(SessionOffer&)> session;                  // on the parsed session
  std::function<void(std::size_t, CandidateInputs&)> inputs;   // before derivation
  std::function<void(std::size_t, CandidateCommitment&)> commitment;  // after derivation
  std::function<void(json::Value&)> commit;                    // the commit document
  std::function<void(json::Value&)> reveal;                    // the reveal document
};

struct IssuedCredential {
  std::string issued;     // <jws>~d1~...~d5~
  Secret holder_d;        // holder private scalar
  json::Value holder_jwk; // public
  std::string kid;
};

class Issuance {
 public:
  // Builds K = offer.k candidates against the published key set. The offer must have passed
  // CheckSession (the constructor re-checks the pieces it relies on: key, escrow key, lengths).
  Issuance(const KeySet& keys, const SessionOffer& offer, const TamperForTesting* tamper = nullptr);
  ~Issuance();
  Issuance(const Issuance&) = delete;
  Issuance& operator=(const Issuance&) = delete;

  std::size_t k() const noexcept { return candidates_.size(); }
  // {"candidates":[{"blinded_msg":..,"trace":..}...]} in canonical JSON; identical on every call.
  const std::string& CommitBody() const { return commit_body_; }
  // Parses the commit answer {"challenge":j}; accepts exactly one j in [0, k).
  void AcceptChallenge(std::string_view commit_answer);
  std::optional<std::size_t> challenge() const noexcept { return challenge_; }
  // {"openings":[...]} for every index except j, ascending; identical on every call.
  const std::string& RevealBody();
  // Parses {"blind_signature":..}, unblinds, verifies, VerifyIssued at `now`; wipes the others.
  IssuedCredential Finish(std::string_view reveal_answer, std::int64_t now);
  // Wipes every candidate; the object is unusable afterwards.
  void Abort() noexcept;
  bool aborted() const noexcept { return aborted_; }

 private:
  struct Candidate;
  void Require(bool ok, const std::string& reason);

  const KeySet& keys_;
  const SigningKey* key_ = nullptr;
  credential::SessionValues session_;
  std::vector<std::unique_ptr<Candidate>> candidates_;
  const TamperForTesting* tamper_ = nullptr;
  std::string commit_body_;
  std::string reveal_body_;
  std::optional<std::size_t> challenge_;
  bool aborted_ = false;
  bool finished_ = false;
};

}  // namespace realdid::wallet
