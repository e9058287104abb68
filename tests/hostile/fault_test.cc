// Faults against the real stack (tests/e2e/stack.h: real PostgreSQL, SoftHSM2 token, ctid-sim and
// realdid-authority processes over TLS), each kept cheap (2048-bit RSA, k = 2, short loads):
//  - PostgreSQL stopped and restarted under issuance load: requests fail cleanly (503 problem
//    documents with Retry-After, nothing else) while it is down; the same authority process serves
//    again afterwards; every blind signature that left the service has its committed record.
//  - the authority killed with SIGKILL in the middle of reveals: after a restart every session has
//    at most one distinct signature, and every signature that left has its record.
//  - ctid-sim failing half its calls, then all: the breaker opens (clients get 503 + Retry-After
//    while ctid-sim sees no calls), and closes again when CTID recovers.
//  - two authority processes against one database and token: concurrent reveals of one session
//    yield one signature; nothing is lost.
// Figures (faults injected, records checked) are printed and appended to $REALDID_HOSTILE_REPORT.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "core/base64url.h"
#include "core/json.h"
#include "tests/e2e/stack.h"
#include "wallet/client.h"
#include "wallet/issuance.h"

namespace realdid::testing {
namespace {

using Clock = std::chrono::steady_clock;

void Report(const std::string& line) {
  std::cout << line << "\n";
  if (const char* f = std::getenv("REALDID_HOSTILE_REPORT"); f != nullptr) {
    std::ofstream(f, std::ios::app) << line << "\n";
  }
}

// One issuance, step by step, as a wallet without retries (so every answer is observed).
struct Flow {
  wallet::SessionOffer offer;
  std::shared_ptr<wallet::Issuance> issuance;
  Bytes b_j;  // the kept blinded message
  std::string reveal_body;
};

// What a request step produced: 0 for success, the problem status, or -1 for a transport failure.
struct Outcome {
  int status = 0;
  bool retry_after = false;
  std::string detail;
};

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      StackOptions o;
      o.rsa_bits = 2048;
      o.k = 2;
      o.min_k = 2;
      o.ctid_population = 5000;
      o.authority_env = {"REALDID_LIMITS_ENABLED=false",
                         "REALDID_CTID_BREAKER_OPEN_DURATION=2s",
                         "REALDID_CTID_BREAKER_FAILURE_THRESHOLD=3",
                         "REALDID_CTID_MAX_ATTEMPTS=1"};
      stack_ = new E2eStack(o);
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    keys_ = std::make_unique<wallet::KeySet>(Client()->FetchKeySet());
  }

  std::unique_ptr<wallet::AuthorityClient> Client(const std::string& url = {}) {
    wallet::HttpsOptions tls = stack_->AuthorityTls();
    tls.timeout = std::chrono::seconds(20);
    return std::make_unique<wallet::AuthorityClient>(url.empty() ? stack_->authority_url() : url,
                                                     tls, wallet::RetryPolicy{1, 0, 0});
  }
  std::unique_ptr<wallet::CtidAppClient> Ctid() {
    return std::make_unique<wallet::CtidAppClient>(stack_->ctid_url(), stack_->CtidTls());
  }
  static std::uint64_t NextResident() { return next_resident_.fetch_add(1); }

  template <class F>
  static Outcome Try(F&& f) {
    Outcome o;
    try {
      f();
    } catch (const wallet::ServerRefusal& e) {
      o.status = e.problem().status;
      o.retry_after = e.problem().retry_after.has_value();
      o.detail = e.problem().Describe();
    } catch (const Error& e) {
      o.status = -1;  // transport (connection refused/reset, timeout)
      o.detail = std::string(e.detail());
    }
    return o;
  }

  // Nonce, CTID, open, candidates, commit: a flow ready to reveal.
  Outcome Prepare(wallet::AuthorityClient& a, wallet::CtidAppClient& c, Flow& f) {
    return Try([&] {
      wallet::Resident who = c.GetResident(NextResident());
      std::string nonce = a.GetNonce();
      std::string token = c.Authenticate(who.id_number, who.name, nonce);
      f.offer = a.OpenSession(who.name, who.id_number, nonce, token);
      f.issuance = std::make_shared<wallet::Issuance>(*keys_, f.offer);
      std::string answer = a.Commit(f.offer, f.issuance->CommitBody());
      f.issuance->AcceptChallenge(answer);
      json::Value commit = json::Parse(f.issuance->CommitBody());
      f.b_j = b64url::Decode(commit.at("candidates")
                                 .as_array()[*f.issuance->challenge()]
                                 .at("blinded_msg")
                                 .as_string());
      f.reveal_body = f.issuance->RevealBody();
    });
  }

  // The blind signature of a reveal, or the outcome.
  Outcome Reveal(wallet::AuthorityClient& a, const Flow& f, Bytes* sig) {
    return Try([&] {
      std::string answer = a.Reveal(f.offer, f.reveal_body);
      *sig = b64url::Decode(json::Parse(answer).at("blind_signature").as_string());
    });
  }

  // The committed record of a session: its blinded message, or empty when there is none; also
  // the session's stored signature.
  struct Stored {
    std::int64_t records = 0;
    Bytes blinded_msg;
    Bytes session_signature;
  };
  Stored Lookup(const std::string& session_id_b64) {
    if (!db_) db_ = stack_->pg().MakePool(PgRole::kSuperuser, 1);
    Bytes sid = b64url::Decode(session_id_b64);
    return db_->Run("lookup", [&](db::Tx& tx) {
      Stored s;
      db::Result r = tx.Exec(
          "SELECT blinded_msg FROM issuance_records WHERE session_id = $1", {sid});
      s.records = static_cast<std::int64_t>(r.size());
      if (r.size() == 1) s.blinded_msg = r[0].GetBytes(0);
      db::Result sess =
          tx.Exec("SELECT blind_signature FROM issuance_sessions WHERE id = $1", {sid});
      if (sess.size() == 1 && !sess[0].IsNull(0)) s.session_signature = sess[0].GetBytes(0);
      return s;
    });
  }

  // Every signature that left: exactly one record, for the kept blinded message, the session
  // stores the same signature, and the wallet finishes a valid credential with it.
  int CheckSignaturesHaveRecords(const std::vector<std::pair<Flow, Bytes>>& signed_flows) {
    int checked = 0;
    for (const auto& [f, sig] : signed_flows) {
      Stored s = Lookup(f.offer.session_id);
      EXPECT_EQ(s.records, 1) << "a signature left without its record";
      EXPECT_EQ(s.blinded_msg, f.b_j);
      EXPECT_EQ(s.session_signature, sig);
      std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
      EXPECT_NO_THROW(f.issuance->Finish(json::Serialize(json::Value(json::Object{
                                             {"blind_signature", b64url::Encode(sig)}})),
                                         now));
      ++checked;
    }
    return checked;
  }

  bool WaitReady(const std::string& url, int seconds) {
    wallet::HttpsOptions tls = stack_->AuthorityTls();
    tls.timeout = std::chrono::seconds(5);
    for (auto end = Clock::now() + std::chrono::seconds(seconds); Clock::now() < end;) {
      try {
        wallet::HttpsClient c(url, tls);
        if (c.Get("/readyz").status == 200) return true;
      } catch (const Error&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  static E2eStack* stack_;
  static std::string* setup_error_;
  static inline std::atomic<std::uint64_t> next_resident_{1};
  std::unique_ptr<wallet::KeySet> keys_;
  std::unique_ptr<db::Pool> db_;
};

E2eStack* FaultTest::stack_ = nullptr;
std::string* FaultTest::setup_error_ = nullptr;

TEST_F(FaultTest, PostgresStoppedAndRestartedUnderIssuanceLoad) {
  const pid_t pid = stack_->authority_pid();
  enum Phase { kBefore, kDown, kAfter };
  std::atomic<int> phase{kBefore};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<Flow, Bytes>> signed_flows;            // guarded by mu
  std::map<int, std::map<int, int>> statuses;                  // phase -> status -> n, by mu
  std::vector<std::string> bad;                                // guarded by mu
  auto worker = [&] {
    auto a = Client();
    auto c = Ctid();
    while (!stop.load()) {
      Flow f;
      int ph = phase.load();
      Outcome o = Prepare(*a, *c, f);
      Bytes sig;
      if (o.status == 0) o = Reveal(*a, f, &sig);
      std::lock_guard lock(mu);
      ++statuses[ph][o.status];
      if (o.status == 0) signed_flows.emplace_back(std::move(f), std::move(sig));
      // Clean failures only: 503 with Retry-After (or a connection that broke, -1). A 409 can
      // follow a reveal whose answer was lost; never a 500.
      if (o.status >= 500 && (o.status != 503 || !o.retry_after)) bad.push_back(o.detail);
      if (o.status != 0 && o.status != -1 && o.status != 503 && o.status != 409) {
        bad.push_back(o.detail);
      }
      if (o.status != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(worker);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  phase = kDown;
  stack_->pg().Stop();
  // While it is down: readiness says so, with a problem document.
  {
    wallet::HttpsClient c(stack_->authority_url(), stack_->AuthorityTls());
    wallet::HttpResponse r = c.Get("/readyz");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.content_type.rfind("application/problem+json", 0), 0u) << r.content_type;
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stack_->pg().Start();
  ASSERT_TRUE(WaitReady(stack_->authority_url(), 60)) << stack_->AuthorityLog();
  phase = kAfter;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(stack_->authority_pid(), pid);
  EXPECT_EQ(::kill(pid, 0), 0) << "the authority died";
  EXPECT_TRUE(bad.empty()) << bad.front();
  int down_refusals = 0;
  for (const auto& [st, n] : statuses[kDown]) {
    if (st != 0) down_refusals += n;
  }
  EXPECT_GT(down_refusals, 0) << "no request failed while PostgreSQL was down";
  EXPECT_GT(statuses[kAfter][0], 0) << "no issuance succeeded after the restart";
  int checked = CheckSignaturesHaveRecords(signed_flows);
  std::string line = "fault postgres-restart: 1 outage; requests before/down/after:";
  for (int ph : {kBefore, kDown, kAfter}) {
    line += " [";
    for (const auto& [st, n] : statuses[ph]) line += " " + std::to_string(st) + "x" + std::to_string(n);
    line += " ]";
  }
  Report(line + "; signatures checked against records: " + std::to_string(checked));
}

TEST_F(FaultTest, AuthorityKilledMidRevealsKeepsOneSignaturePerSession) {
  constexpr int kSessions = 12;
  auto a = Client();
  auto c = Ctid();
  std::vector<Flow> flows(kSessions);
  for (Flow& f : flows) ASSERT_EQ(Prepare(*a, *c, f).status, 0);
  // Reveal all of them from four threads; kill the authority once the first answers arrived.
  std::vector<Bytes> first(kSessions);
  std::atomic<int> answered{0};
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto client = Client();
      for (std::size_t i = next++; i < flows.size(); i = next++) {
        Bytes sig;
        if (Reveal(*client, flows[i], &sig).status == 0) {
          first[i] = sig;
          ++answered;
        }
      }
    });
  }
  while (answered.load() < 2 && next.load() < flows.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stack_->KillAuthority(SIGKILL);
  for (auto& t : threads) t.join();
  const int before_kill = answered.load();
  stack_->StartAuthority();
  ASSERT_TRUE(WaitReady(stack_->authority_url(), 60));
  // Every session again: the stored signature, identical to any that left before the kill.
  auto b = Client();
  std::vector<std::pair<Flow, Bytes>> signed_flows;
  int distinct_violations = 0;
  for (int i = 0; i < kSessions; ++i) {
    Bytes sig;
    Outcome o = Reveal(*b, flows[static_cast<std::size_t>(i)], &sig);
    ASSERT_EQ(o.status, 0) << o.detail;
    if (!first[static_cast<std::size_t>(i)].empty() && first[static_cast<std::size_t>(i)] != sig) {
      ++distinct_violations;
    }
    signed_flows.emplace_back(flows[static_cast<std::size_t>(i)], sig);
  }
  EXPECT_EQ(distinct_violations, 0);
  int checked = CheckSignaturesHaveRecords(signed_flows);
  Report("fault authority-sigkill: 1 SIGKILL with " + std::to_string(kSessions) +
         " reveals in flight (" + std::to_string(before_kill) +
         " answered before the kill); sessions checked: " + std::to_string(checked));
}

TEST_F(FaultTest, CtidFailingOpensTheBreakerWhichClosesOnRecovery) {
  auto a = Client();
  auto c = Ctid();
  auto sim_stats = [&] {
    wallet::HttpsClient control(stack_->ctid_url(), stack_->CtidControlTls());
    return json::Parse(control.Get("/v1/sim/control").body);
  };
  auto open_one = [&]() -> Outcome {
    return Try([&] {
      wallet::Resident who = c->GetResident(NextResident());
      std::string nonce = a->GetNonce();
      std::string token = c->Authenticate(who.id_number, who.name, nonce);
      (void)a->OpenSession(who.name, who.id_number, nonce, token);
    });
  };
  std::map<std::string, std::map<int, int>> seen;
  // Half of CTID's calls fail: some opens fail (503), none with anything but a problem.
  stack_->SetCtidFailurePercent(50);
  for (int i = 0; i < 12; ++i) {
    Outcome o = open_one();
    ++seen["50%"][o.status];
    EXPECT_TRUE(o.status == 0 || (o.status == 503 && o.retry_after)) << o.detail;
  }
  // All fail: after the threshold the breaker is open: 503 with Retry-After, CTID not called.
  stack_->SetCtidFailurePercent(100);
  for (int i = 0; i < 6; ++i) {
    Outcome o = open_one();
    ++seen["100%"][o.status];
    EXPECT_EQ(o.status, 503) << o.detail;
    EXPECT_TRUE(o.retry_after);
  }
  std::int64_t calls_before = sim_stats().at("verify_requests").as_int();
  int open_answers = 0;
  for (int i = 0; i < 4; ++i) {
    Outcome o = open_one();
    ++seen["open"][o.status];
    if (o.status == 503 && o.retry_after) ++open_answers;
  }
  std::int64_t calls_after = sim_stats().at("verify_requests").as_int();
  EXPECT_EQ(open_answers, 4);
  EXPECT_LE(calls_after - calls_before, 1) << "the breaker did not stop calls to CTID";
  // CTID recovers: after the open duration a probe succeeds and the breaker closes.
  stack_->SetCtidFailurePercent(0);
  bool recovered = false;
  for (auto end = Clock::now() + std::chrono::seconds(60); !recovered && Clock::now() < end;) {
    Outcome o = open_one();
    ++seen["recovery"][o.status];
    recovered = o.status == 0;
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(recovered);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(open_one().status, 0);
  std::string line = "fault ctid-breaker:";
  for (const auto& [ph, m] : seen) {
    line += " " + ph + "[";
    for (const auto& [st, n] : m) line += " " + std::to_string(st) + "x" + std::to_string(n);
    line += " ]";
  }
  Report(line);
}

TEST_F(FaultTest, TwoAuthoritiesOneDatabaseAndTokenSignOncePerSession) {
  const std::string second = stack_->StartExtraAuthority();
  ASSERT_TRUE(WaitReady(second, 60));
  constexpr int kSessions = 6;
  auto a = Client();
  auto c = Ctid();
  std::vector<Flow> flows(kSessions);
  for (Flow& f : flows) ASSERT_EQ(Prepare(*a, *c, f).status, 0);
  std::vector<std::pair<Flow, Bytes>> signed_flows;
  int raced = 0;
  for (const Flow& f : flows) {
    // Four concurrent reveals of one session, two through each process.
    std::vector<Bytes> sigs(4);
    std::vector<Outcome> outs(4);
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        auto client = Client(t % 2 == 0 ? stack_->authority_url() : second);
        ready.fetch_add(1);
        while (ready.load() < 4) std::this_thread::yield();
        outs[static_cast<std::size_t>(t)] = Reveal(*client, f, &sigs[static_cast<std::size_t>(t)]);
      });
    }
    for (auto& t : threads) t.join();
    Bytes agreed;
    for (int t = 0; t < 4; ++t) {
      const Outcome& o = outs[static_cast<std::size_t>(t)];
      // A reveal racing another may be told to retry (409/503); none may fail otherwise.
      EXPECT_TRUE(o.status == 0 || o.status == 409 || o.status == 503) << o.detail;
      if (o.status != 0) continue;
      if (agreed.empty()) agreed = sigs[static_cast<std::size_t>(t)];
      EXPECT_EQ(sigs[static_cast<std::size_t>(t)], agreed) << "two distinct signatures";
      ++raced;
    }
    // Nothing lost: a later reveal through either process returns the one signature.
    for (const std::string& url : {stack_->authority_url(), second}) {
      auto client = Client(url);
      Bytes sig;
      ASSERT_EQ(Reveal(*client, f, &sig).status, 0);
      if (agreed.empty()) agreed = sig;
      EXPECT_EQ(sig, agreed);
    }
    signed_flows.emplace_back(f, agreed);
  }
  int checked = CheckSignaturesHaveRecords(signed_flows);
  Report("fault two-authorities: " + std::to_string(kSessions) + " sessions x 4 concurrent " +
         "reveals over 2 processes (" + std::to_string(raced) +
         " answered with the signature); sessions checked: " + std::to_string(checked));
}

}  // namespace
}  // namespace realdid::testing
