// Integration: HttpGateway against the real CTID simulator over mutual TLS with throwaway
// certificates — in-process (CtidSimulator) and the ctid-sim binary. No mocks: real TLS, real
// sockets, the real server code.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "authority/log.h"
#include "core/error.h"
#include "core/json.h"
#include "ctid/http_gateway.h"
#include "ctid/wire.h"
#include "tests/authority/test_tls.h"
#include "tools/ctid-sim/simulator.h"

extern char** environ;

namespace realdid::ctid {
namespace {

using std::chrono::milliseconds;
using testing::ClientResponse;
using testing::TestPki;

constexpr const char* kNonce = "AAECAwQFBgcICQoLDA0ODw";   // 16 bytes
constexpr const char* kOtherNonce = "Dw4NDAsKCQgHBgUEAwIBAA";

// A Poco client: with or without a client certificate.
Poco::Net::Context::Ptr Context(const TestPki& pki, bool with_cert) {
  Poco::Net::Context::Params params;
  params.caLocation = pki.ca_file();
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  params.loadDefaultCAs = false;
  if (with_cert) {
    params.certificateFile = pki.cert_file();
    params.privateKeyFile = pki.key_file();
  }
  return new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
}

ClientResponse Call(const TestPki& pki, std::uint16_t port, const std::string& method,
                    const std::string& path, const std::string& body, bool with_cert) {
  Poco::Net::HTTPSClientSession session("127.0.0.1", port, Context(pki, with_cert));
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (method == "POST") {
    req.setContentType("application/json");
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  std::ostream& out = session.sendRequest(req);
  out << body;
  return testing::ReadResponse(session);
}

struct Person {
  std::string name;
  std::string id_number;
};

Person Resident(const TestPki& pki, std::uint16_t port, int index) {
  ClientResponse r = Call(pki, port, "GET", "/v1/residents/" + std::to_string(index), "", false);
  EXPECT_EQ(r.status, 200) << r.body;
  json::Value v = json::Parse(r.body);
  return Person{v.at("name").as_string(), v.at("id_number").as_string()};
}

std::string Authenticate(const TestPki& pki, std::uint16_t port, const Person& p,
                         const std::string& nonce) {
  std::string body = "{\"id_number\":" + json::Quote(p.id_number) +
                     ",\"name\":" + json::Quote(p.name) + ",\"nonce\":" + json::Quote(nonce) + "}";
  ClientResponse r = Call(pki, port, "POST", "/v1/authenticate", body, false);
  EXPECT_EQ(r.status, 200) << r.body;
  return json::Parse(r.body).at("token").as_string();
}

void Control(const TestPki& pki, std::uint16_t port, const std::string& body) {
  ClientResponse r = Call(pki, port, "POST", "/v1/sim/control", body, true);
  ASSERT_EQ(r.status, 200) << r.body;
}

VerifyRequest Req(const std::string& token, const std::string& nonce, const Person& p) {
  VerifyRequest r;
  r.token = token;
  r.nonce = nonce;
  r.name = Secret::FromString(p.name);
  r.id_number = Secret::FromString(p.id_number);
  return r;
}

HttpGatewayConfig GatewayConfig(const TestPki& pki, const std::string& url) {
  HttpGatewayConfig c;
  c.url = url;
  c.client_cert_file = pki.cert_file();  // the test leaf has clientAuth too
  c.client_key_file = pki.key_file();
  c.ca_file = pki.ca_file();
  c.connect_timeout = milliseconds(3000);
  c.read_timeout = milliseconds(5000);
  c.retry.max_attempts = 3;
  c.retry.initial_backoff = milliseconds(10);
  c.retry.max_backoff = milliseconds(50);
  c.breaker.failure_threshold = 3;
  c.breaker.open_duration = milliseconds(300);
  return c;
}

class Recorder final : public GatewayObserver {
 public:
  void OnRequest(std::string_view result, double /*seconds*/) noexcept override {
    std::lock_guard lock(mu_);
    results_.emplace_back(result);
  }
  void OnBreakerState(BreakerState /*state*/) noexcept override {}
  std::vector<std::string> results() {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> results_;
};

class LogCapture {
 public:
  LogCapture() {
    previous_ = authority::Logger::Global().SetSink([this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
    });
    authority::Logger::Global().SetLevel(authority::LogLevel::kDebug);
  }
  ~LogCapture() {
    authority::Logger::Global().SetSink(std::move(previous_));
    authority::Logger::Global().SetLevel(authority::LogLevel::kInfo);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<std::string> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
  authority::Logger::Sink previous_;
};

class CtidIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctidsim::SimConfig c;
    c.port = 0;
    c.cert_file = pki_.cert_file();
    c.key_file = pki_.key_file();
    c.client_ca_file = pki_.ca_file();
    c.seed = 42;
    c.population = 1000;
    sim_ = std::make_unique<ctidsim::CtidSimulator>(c);
    sim_->Start();
    port_ = sim_->port();
    alice_ = Resident(pki_, port_, 7);
    bob_ = Resident(pki_, port_, 8);
    secrets_ = {alice_.name, alice_.id_number, bob_.name, bob_.id_number};
  }
  void TearDown() override {
    sim_->Stop();
    for (const std::string& line : logs_.lines()) {
      for (const std::string& s : secrets_) EXPECT_EQ(line.find(s), std::string::npos) << line;
    }
    for (const std::string& e : errors_) {
      for (const std::string& s : secrets_) EXPECT_EQ(e.find(s), std::string::npos) << e;
    }
  }
  std::string Token(const Person& p, const std::string& nonce = kNonce) {
    std::string t = Authenticate(pki_, port_, p, nonce);
    secrets_.push_back(t);
    return t;
  }
  void ExpectUnavailable(HttpGateway& g, const VerifyRequest& r) {
    try {
      g.Verify(r);
      ADD_FAILURE() << "Verify succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
      errors_.emplace_back(e.what());
    }
  }

  LogCapture logs_;
  TestPki pki_;
  std::unique_ptr<ctidsim::CtidSimulator> sim_;
  std::uint16_t port_ = 0;
  Person alice_, bob_;
  std::vector<std::string> secrets_;
  std::vector<std::string> errors_;
};

TEST_F(CtidIntegrationTest, VerifyAnswersMatchMismatchAndInvalidToken) {
  HttpGateway g(GatewayConfig(pki_, sim_->url()));
  // authenticate -> verify = match; the same token again = invalid_token (single use).
  std::string t1 = Token(alice_);
  EXPECT_EQ(g.Verify(Req(t1, kNonce, alice_)), Outcome::kMatch);
  EXPECT_EQ(g.Verify(Req(t1, kNonce, alice_)), Outcome::kInvalidToken);
  // Wrong nonce = invalid_token, and that consumed the token.
  std::string t2 = Token(alice_);
  EXPECT_EQ(g.Verify(Req(t2, kOtherNonce, alice_)), Outcome::kInvalidToken);
  EXPECT_EQ(g.Verify(Req(t2, kNonce, alice_)), Outcome::kInvalidToken);
  // Wrong name / wrong ID number = mismatch (and the token is consumed).
  std::string t3 = Token(alice_);
  EXPECT_EQ(g.Verify(Req(t3, kNonce, Person{bob_.name, alice_.id_number})), Outcome::kMismatch);
  EXPECT_EQ(g.Verify(Req(t3, kNonce, alice_)), Outcome::kInvalidToken);
  std::string t4 = Token(alice_);
  EXPECT_EQ(g.Verify(Req(t4, kNonce, Person{alice_.name, bob_.id_number})), Outcome::kMismatch);
  // A token that was never issued.
  EXPECT_EQ(g.Verify(Req("bm90LWEtdG9rZW4", kNonce, alice_)), Outcome::kInvalidToken);
  // Tokens are per person: Bob's token with Bob's data matches.
  std::string t5 = Token(bob_, kOtherNonce);
  EXPECT_EQ(g.Verify(Req(t5, kOtherNonce, bob_)), Outcome::kMatch);
  EXPECT_EQ(g.breaker_state(), BreakerState::kClosed);
  EXPECT_EQ(sim_->stats().tokens_outstanding, 0u);
}

TEST_F(CtidIntegrationTest, AuthenticateRefusesUnknownResidents) {
  std::string body = "{\"id_number\":" + json::Quote(alice_.id_number) +
                     ",\"name\":" + json::Quote(bob_.name) + ",\"nonce\":\"" + kNonce + "\"}";
  ClientResponse r = Call(pki_, port_, "POST", "/v1/authenticate", body, false);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("urn:realdid:problem:not-found"), std::string::npos);
  body = std::string("{\"id_number\":\"11010519491231002X\",\"name\":\"Nobody\",\"nonce\":\"") +
         kNonce + "\"}";
  EXPECT_EQ(Call(pki_, port_, "POST", "/v1/authenticate", body, false).status, 404);
  body = "{\"id_number\":" + json::Quote(alice_.id_number) + ",\"name\":" +
         json::Quote(alice_.name) + ",\"nonce\":\"short\"}";
  EXPECT_EQ(Call(pki_, port_, "POST", "/v1/authenticate", body, false).status, 400);
  EXPECT_EQ(Call(pki_, port_, "GET", "/v1/residents/1000", "", false).status, 404);
  EXPECT_EQ(Call(pki_, port_, "GET", "/v1/residents/x1", "", false).status, 404);
}

TEST_F(CtidIntegrationTest, VerifyWithoutAClientCertificateIsRefused) {
  std::string t = Token(alice_);
  std::string body = std::string(EncodeVerifyRequest(Req(t, kNonce, alice_)).reveal_string());
  ClientResponse r = Call(pki_, port_, "POST", "/v1/verify", body, false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(sim_->stats().verify_requests, 0u);
  // The control endpoint needs the certificate as well.
  EXPECT_EQ(Call(pki_, port_, "POST", "/v1/sim/control", "{\"failure_percent\":100}", false).status,
            401);
  EXPECT_EQ(sim_->stats().failure_ppm, 0u);
  // The refused request did not consume the token.
  HttpGateway g(GatewayConfig(pki_, sim_->url()));
  EXPECT_EQ(g.Verify(Req(t, kNonce, alice_)), Outcome::kMatch);
}

TEST_F(CtidIntegrationTest, GatewayRefusesAServerItsCaDoesNotVouchFor) {
  HttpGatewayConfig c = GatewayConfig(pki_, sim_->url());
  c.ca_file = pki_.other_ca_file();
  auto observer = std::make_shared<Recorder>();
  HttpGateway g(c, observer);
  std::string t = Token(alice_);
  ExpectUnavailable(g, Req(t, kNonce, alice_));
  EXPECT_EQ(sim_->stats().verify_requests, 0u);
  // The handshake fails before anything is sent: a connect error, retried up to max_attempts.
  EXPECT_EQ(observer->results(), (std::vector<std::string>{"connect_error", "connect_error",
                                                           "connect_error"}));
}

TEST_F(CtidIntegrationTest, BreakerOpensOnFailuresAndClosesAfterRecovery) {
  HttpGateway g(GatewayConfig(pki_, sim_->url()));
  std::string t = Token(alice_);
  Control(pki_, port_, "{\"failure_percent\":100}");
  // Three attempts, each a 503 (which never consumes the token): the breaker opens.
  ExpectUnavailable(g, Req(t, kNonce, alice_));
  EXPECT_EQ(sim_->stats().verify_requests, 3u);
  EXPECT_EQ(sim_->stats().failures_injected, 3u);
  EXPECT_EQ(g.breaker_state(), BreakerState::kOpen);
  // While open, Verify fails at once without calling the simulator.
  for (int i = 0; i < 20; ++i) ExpectUnavailable(g, Req(t, kNonce, alice_));
  EXPECT_EQ(sim_->stats().verify_requests, 3u);
  EXPECT_GE(g.RetryAfterSeconds(), 1);
  // CTID recovers; after the cool-down the probe goes through and the breaker closes.
  Control(pki_, port_, "{\"failure_percent\":0}");
  std::this_thread::sleep_for(milliseconds(400));  // the 300 ms cool-down (not a timed assertion)
  EXPECT_EQ(g.Verify(Req(t, kNonce, alice_)), Outcome::kMatch);
  EXPECT_EQ(g.breaker_state(), BreakerState::kClosed);
  EXPECT_EQ(sim_->stats().verify_requests, 4u);
}

TEST_F(CtidIntegrationTest, HalfTheCallsFailingIsAbsorbedByRetries) {
  HttpGatewayConfig c = GatewayConfig(pki_, sim_->url());
  c.retry.max_attempts = 10;
  c.breaker.failure_threshold = 50;
  c.breaker.window_min_calls = 20;
  c.breaker.failure_ratio = 0.9;
  HttpGateway g(c);
  sim_->SetFailureRate(0.5);
  for (int i = 0; i < 10; ++i) {
    std::string t = Token(alice_);
    EXPECT_EQ(g.Verify(Req(t, kNonce, alice_)), Outcome::kMatch);
  }
  EXPECT_EQ(sim_->stats().verify_requests, 10u + sim_->stats().failures_injected);
}

TEST_F(CtidIntegrationTest, AReadTimeoutShorterThanTheLatencyIsUnavailableAndNotRetried) {
  HttpGatewayConfig c = GatewayConfig(pki_, sim_->url());
  c.read_timeout = milliseconds(200);
  HttpGateway g(c);
  Control(pki_, port_, "{\"latency_ms\":1500}");
  std::string t = Token(alice_);
  ExpectUnavailable(g, Req(t, kNonce, alice_));
  EXPECT_EQ(sim_->stats().verify_requests, 1u);  // the request may have reached CTID: no retry
  Control(pki_, port_, "{\"latency_ms\":0}");
}

TEST_F(CtidIntegrationTest, ControlIsRefusedFromANonLoopbackPeerAddress) {
  // The simulator listens on 127.0.0.1 only here, so only the positive path is reachable; check
  // that GET answers the settings and that unknown members and out-of-range values are refused.
  ClientResponse r = Call(pki_, port_, "GET", "/v1/sim/control", "", true);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::Parse(r.body).at("failure_percent").as_int(), 0);
  EXPECT_EQ(Call(pki_, port_, "POST", "/v1/sim/control", "{\"failure_percent\":101}", true).status,
            400);
  EXPECT_EQ(Call(pki_, port_, "POST", "/v1/sim/control", "{\"bogus\":1}", true).status, 400);
}

// ---- the ctid-sim binary ----

std::string SimBinary() {
  const char* dir = std::getenv("REALDID_BINARY_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/tools/ctid-sim/ctid-sim";
}

TEST(CtidSimBinaryTest, ServesOverMutualTlsAndStopsOnSigterm) {
  TestPki pki;
  std::string err_file = (pki.dir() / "stderr.log").string();
  int out_pipe[2];
  ASSERT_EQ(::pipe(out_pipe), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<std::string> args = {SimBinary(),   "--listen",     "127.0.0.1:0",
                                   "--cert",      pki.cert_file(), "--key",
                                   pki.key_file(), "--client-ca",  pki.ca_file(),
                                   "--seed",      "9",            "--population",
                                   "2000",        "--log-level",  "debug"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  std::string line;
  char ch = 0;
  while (::read(out_pipe[0], &ch, 1) == 1 && ch != '\n') line.push_back(ch);
  ::close(out_pipe[0]);
  ASSERT_EQ(line.rfind("ctid-sim https://127.0.0.1:", 0), 0u) << line;
  std::string url = line.substr(9);
  auto port = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));

  Person p = Resident(pki, port, 1999);
  EXPECT_EQ(Call(pki, port, "GET", "/v1/residents/2000", "", false).status, 404);
  std::string t = Authenticate(pki, port, p, kNonce);
  HttpGateway g(GatewayConfig(pki, url));
  EXPECT_EQ(g.Verify(Req(t, kNonce, p)), Outcome::kMatch);
  EXPECT_EQ(g.Verify(Req(t, kNonce, p)), Outcome::kInvalidToken);
  Control(pki, port, "{\"failure_percent\":100}");
  std::string t2 = Authenticate(pki, port, p, kNonce);
  HttpGatewayConfig c = GatewayConfig(pki, url);
  c.retry.max_attempts = 1;
  HttpGateway g1(c);
  EXPECT_THROW(g1.Verify(Req(t2, kNonce, p)), Error);
  Control(pki, port, "{\"failure_percent\":0}");
  EXPECT_EQ(g1.Verify(Req(t2, kNonce, p)), Outcome::kMatch);  // 503 did not consume the token

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  std::ifstream in(err_file);
  std::string log_line;
  int lines = 0;
  while (std::getline(in, log_line)) {
    ++lines;
    EXPECT_EQ(log_line.find(p.name), std::string::npos) << log_line;
    EXPECT_EQ(log_line.find(p.id_number), std::string::npos) << log_line;
    EXPECT_EQ(log_line.find(t), std::string::npos) << log_line;
    EXPECT_EQ(log_line.find(t2), std::string::npos) << log_line;
    EXPECT_EQ(log_line.front(), '{') << log_line;
  }
  EXPECT_GT(lines, 5);
}

TEST(CtidSimBinaryTest, RefusesBadUsage) {
  std::string cmd = SimBinary() + " --population x >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  cmd = SimBinary() + " --failure-rate 1.5 --cert a --key b --client-ca c >/dev/null 2>&1";
  rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  cmd = SimBinary() + " --cert /nonexistent --key /nonexistent --client-ca /nonexistent "
                      "--population 10 --listen 127.0.0.1:0 >/dev/null 2>&1";
  rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 1);
}

}  // namespace
}  // namespace realdid::ctid
