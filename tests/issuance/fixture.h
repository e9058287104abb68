// Shared fixture of the issuance service tests: a REAL PostgreSQL cluster (migrated), a REAL
// SoftHSM2 token pair with ceremony keys (2048-bit RSA to keep the suite quick), a controllable
// clock, an honest fake CTID gateway, an HSM observer counting raw RSA signatures, and a test-local
// wallet built only from core/ functions (with hooks to plant every kind of cheat).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/blind_rsa.h"
#include "core/credential.h"
#include "core/escrow.h"
#include "core/hpke.h"
#include "core/idnumber.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "db/issuance_store.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "issuance/service.h"
#include "tests/support/pg_harness.h"
#include "tests/support/softhsm_harness.h"
#include "tools/ceremony/ceremony.h"

namespace realdid::issuance::testing {

inline constexpr const char* kIssuanceToken = "realdid-issuance";
inline constexpr const char* kEscrowToken = "realdid-escrow";
inline constexpr const char* kEscrowPin = "9876-escrow";
// 2026-01-01T12:00:00Z
inline constexpr std::int64_t kNoon = 1767225600 + 43200;

class TestClock final : public Clock {
 public:
  std::int64_t Now() const override { return now_.load(); }
  void Set(std::int64_t t) { now_.store(t); }
  void Advance(std::int64_t s) { now_.fetch_add(s); }

 private:
  std::atomic<std::int64_t> now_{kNoon};
};

// Honest fake CTID: matches registered (name, id) pairs for the token "good"; any other token is
// invalid; unavailable on demand.
class FakeGateway final : public ctid::Gateway {
 public:
  void Register(const std::string& name, const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    people_[id] = name;
  }
  void SetUnavailable(bool v) { unavailable_ = v; }
  ctid::Outcome Verify(const ctid::VerifyRequest& r) override {
    ++calls_;
    if (unavailable_) throw Error(ErrorKind::kUnavailable, "ctid: breaker open");
    if (r.token != "good") return ctid::Outcome::kInvalidToken;
    std::lock_guard<std::mutex> l(mu_);
    auto it = people_.find(std::string(r.id_number.reveal_string()));
    if (it == people_.end() || it->second != r.name.reveal_string()) {
      return ctid::Outcome::kMismatch;
    }
    return ctid::Outcome::kMatch;
  }
  int RetryAfterSeconds() const noexcept override { return 17; }
  int calls() const { return calls_.load(); }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> people_;
  std::atomic<bool> unavailable_{false};
  std::atomic<int> calls_{0};
};

class CountingObserver final : public hsm::OpObserver {
 public:
  void OnOp(std::string_view, std::string_view op, bool ok, double) noexcept override {
    if (op == "rsa_raw" && ok) ++rsa_raw_;
  }
  void OnRecovery(std::string_view) noexcept override {}
  int rsa_raw() const { return rsa_raw_.load(); }

 private:
  std::atomic<int> rsa_raw_{0};
};

class CountingEvents final : public Events {
 public:
  void OnSession(std::string_view result) noexcept override {
    std::lock_guard<std::mutex> l(mu_);
    ++sessions[std::string(result)];
  }
  void OnCheat() noexcept override { ++cheats; }
  void OnSignature() noexcept override { ++signatures; }
  void OnLockout() noexcept override { ++lockouts; }
  std::mutex mu_;
  std::map<std::string, int> sessions;
  std::atomic<int> cheats{0}, signatures{0}, lockouts{0};
};

// One candidate as the test wallet keeps it.
struct WalletCandidate {
  Opening opening;
  credential::Built built;
  blind_rsa::Blinding blinding;
  Candidate committed;
};

// What a cheating wallet changes, per candidate index (applied to every candidate unless the hook
// itself filters on the index).
struct Tamper {
  // Alter the wallet's random values before anything is built from them (e.g. repeat a jti).
  std::function<void(std::size_t, Opening&)> opening;
  // Alter the session values that enter the credential bytes (e.g. a wrong attribute, exp, kid).
  std::function<void(std::size_t, credential::SessionValues&)> values;
  // Alter the issuance id / escrow plaintext or aad inputs before sealing the escrow.
  std::function<void(std::size_t, Bytes& issuance_id, escrow::CredentialFields&)> escrow;
  // Replace the escrow bytes in the credential after sealing.
  std::function<void(std::size_t, Bytes& escrow_bytes)> escrow_bytes;
  // Alter the committed candidate after building (B or trace).
  std::function<void(std::size_t, WalletCandidate&)> after;
  // Alter all candidates together before commit (e.g. repeat values).
  std::function<void(std::vector<WalletCandidate>&)> all;
};

struct KeyMaterial {
  Keys keys;
  blind_rsa::PublicKey pk;
};

class IssuanceFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override { clock_.Set(kNoon); }

  // A fresh service over the shared backends (k, pool size).
  std::unique_ptr<IssuanceService> MakeService(int k, Events* events = nullptr,
                                               std::int64_t min_k = 2);

  // A new valid resident registered with the fake CTID (unique per call).
  struct Person {
    std::string name;
    std::string id_number;
  };
  Person NewPerson(const std::string& name = "\u5f20\u4e09");

  OpenRequest Request(IssuanceService& svc, const Person& p, const std::string& token = "good");
  OpenedSession Open(IssuanceService& svc, const Person& p) {
    return svc.OpenSession(Request(svc, p));
  }

  // Builds k candidates for a session (honest unless tamper says otherwise).
  std::vector<WalletCandidate> BuildCandidates(const OpenedSession& s, const Tamper& t = {});
  static std::vector<Candidate> CommitOf(const std::vector<WalletCandidate>& c);
  static std::vector<Opening> OpeningsExcept(const std::vector<WalletCandidate>& c, int j);

  // The unblinded credential of candidate j, verified with credential::VerifyIssued.
  credential::Parsed FinalizeAndVerify(const OpenedSession& s, const WalletCandidate& c,
                                       ByteView blind_sig);

  std::int64_t PersonIdOf(const OpenedSession& s);

  static std::unique_ptr<realdid::testing::SoftHsmHarness> softhsm_;
  static std::unique_ptr<realdid::testing::PgHarness> pg_;
  static std::unique_ptr<db::Pool> pool_;
  static std::unique_ptr<CountingObserver> observer_;
  static std::unique_ptr<hsm::Token> token_;
  static std::unique_ptr<KeyMaterial> km_;
  static FakeGateway* ctid_;
  static int next_person_;

  TestClock clock_;
};

}  // namespace realdid::issuance::testing
