// Unit tests of the CTID adapter: circuit breaker state machine (injected clock), retry policy and
// backoff, HttpGateway's retry/breaker behaviour over a scripted fake transport, the strict wire
// format, the synthetic population, and that no identity data reaches an error text.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <set>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"
#include "core/idnumber.h"
#include "ctid/circuit_breaker.h"
#include "ctid/http_gateway.h"
#include "ctid/retry_policy.h"
#include "ctid/wire.h"
#include "tools/ctid-sim/population.h"
#include "tools/ctid-sim/simulator.h"

namespace realdid::ctid {
namespace {

using std::chrono::milliseconds;
using TimePoint = CircuitBreaker::TimePoint;

constexpr const char* kName = "Zhang Xiuying";
constexpr const char* kIdNumber = "11010519491231002X";
constexpr const char* kToken = "tok-SECRET-7f3a9c";
constexpr const char* kNonce = "AAAAAAAAAAAAAAAAAAAAAA";

struct FakeClock {
  TimePoint now{std::chrono::seconds(1000)};
  CircuitBreaker::Clock fn() {
    return [this] { return now; };
  }
};

BreakerConfig SmallBreaker() {
  BreakerConfig c;
  c.failure_threshold = 3;
  c.window_size = 20;
  c.window_min_calls = 20;
  c.failure_ratio = 1.0;
  c.open_duration = milliseconds(10000);
  return c;
}

// ---- circuit breaker ----

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresAndRefusesCalls) {
  FakeClock clock;
  std::vector<BreakerState> seen;
  CircuitBreaker b(SmallBreaker(), clock.fn(), [&](BreakerState s) { seen.push_back(s); });
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(b.RemainingOpen(), milliseconds(10000));
  EXPECT_EQ(seen, std::vector<BreakerState>{BreakerState::kOpen});
}

TEST(CircuitBreakerTest, SuccessResetsTheConsecutiveCount) {
  FakeClock clock;
  CircuitBreaker b(SmallBreaker(), clock.fn());
  for (int round = 0; round < 5; ++round) {
    b.RecordFailure();
    b.RecordFailure();
    b.RecordSuccess();
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, OpensOnFailureRatioInWindow) {
  FakeClock clock;
  BreakerConfig c;
  c.failure_threshold = 100;
  c.window_size = 10;
  c.window_min_calls = 4;
  c.failure_ratio = 0.5;
  CircuitBreaker b(c, clock.fn());
  b.RecordSuccess();
  b.RecordFailure();
  b.RecordSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);  // 3 calls: below window_min_calls
  b.RecordFailure();                            // 2 of 4 failed = 0.5
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, RatioBelowThresholdStaysClosedAndWindowSlides) {
  FakeClock clock;
  BreakerConfig c;
  c.failure_threshold = 100;
  c.window_size = 4;
  c.window_min_calls = 4;
  c.failure_ratio = 0.75;
  CircuitBreaker b(c, clock.fn());
  // F S S S F S S S ...: never more than 2 of the last 4 failed.
  for (int i = 0; i < 12; ++i) {
    if (i % 4 == 0) b.RecordFailure(); else b.RecordSuccess();
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.RecordFailure();
  b.RecordFailure();
  EXPECT_EQ(b.state(), BreakerState::kClosed);  // last four S S F F = 0.5
  b.RecordFailure();  // S F F F = 0.75
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, HalfOpenAdmitsOneProbeAndClosesOnSuccess) {
  FakeClock clock;
  std::vector<BreakerState> seen;
  CircuitBreaker b(SmallBreaker(), clock.fn(), [&](BreakerState s) { seen.push_back(s); });
  for (int i = 0; i < 3; ++i) b.RecordFailure();
  ASSERT_EQ(b.state(), BreakerState::kOpen);
  clock.now += milliseconds(9999);
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(b.RemainingOpen(), milliseconds(1));
  clock.now += milliseconds(1);
  EXPECT_TRUE(b.Allow());  // the probe
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(b.Allow());  // only one probe at a time
  EXPECT_FALSE(b.Allow());
  b.RecordSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow());
  EXPECT_TRUE(b.Allow());
  EXPECT_EQ(seen, (std::vector<BreakerState>{BreakerState::kOpen, BreakerState::kHalfOpen,
                                             BreakerState::kClosed}));
  // Counters were reset on closing: two failures do not open it again.
  b.RecordFailure();
  b.RecordFailure();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, HalfOpenProbeFailureReopensForAFreshCoolDown) {
  FakeClock clock;
  CircuitBreaker b(SmallBreaker(), clock.fn());
  for (int i = 0; i < 3; ++i) b.RecordFailure();
  clock.now += milliseconds(15000);
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.RemainingOpen(), milliseconds(10000));
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreakerTest, RefusesBadConfiguration) {
  auto bad = [](auto mutate) {
    BreakerConfig c;
    mutate(c);
    EXPECT_THROW(CircuitBreaker::Validate(c), Error);
  };
  bad([](BreakerConfig& c) { c.failure_threshold = 0; });
  bad([](BreakerConfig& c) { c.window_size = 0; });
  bad([](BreakerConfig& c) { c.window_min_calls = 0; });
  bad([](BreakerConfig& c) { c.window_min_calls = c.window_size + 1; });
  bad([](BreakerConfig& c) { c.failure_ratio = 0.0; });
  bad([](BreakerConfig& c) { c.failure_ratio = 1.5; });
  bad([](BreakerConfig& c) { c.open_duration = milliseconds(0); });
  EXPECT_NO_THROW(CircuitBreaker::Validate(BreakerConfig{}));
}

// ---- retry policy ----

TEST(RetryPolicyTest, RetriesOnlyWhatProvablyDidNotReachCtidOr5xx) {
  EXPECT_TRUE(IsRetryable(FailureClass::kConnect));
  EXPECT_TRUE(IsRetryable(FailureClass::kServerError));
  EXPECT_FALSE(IsRetryable(FailureClass::kSend));
  EXPECT_FALSE(IsRetryable(FailureClass::kReceive));
  EXPECT_FALSE(IsRetryable(FailureClass::kClientError));
  EXPECT_FALSE(IsRetryable(FailureClass::kBadResponse));
}

TEST(RetryPolicyTest, BackoffGrowsExponentiallyUpToTheCap) {
  RetryConfig c;
  c.initial_backoff = milliseconds(100);
  c.max_backoff = milliseconds(2000);
  c.multiplier = 2.0;
  c.jitter = 0.0;
  std::vector<long> got;
  for (int n = 1; n <= 7; ++n) got.push_back(static_cast<long>(BackoffDelay(c, n, 0.3).count()));
  EXPECT_EQ(got, (std::vector<long>{100, 200, 400, 800, 1600, 2000, 2000}));
}

TEST(RetryPolicyTest, JitterStaysWithinItsShareOfTheDelay) {
  RetryConfig c;
  c.initial_backoff = milliseconds(100);
  c.max_backoff = milliseconds(2000);
  c.jitter = 0.5;
  EXPECT_EQ(BackoffDelay(c, 1, 0.0), milliseconds(50));
  EXPECT_EQ(BackoffDelay(c, 1, 0.5), milliseconds(75));
  EXPECT_EQ(BackoffDelay(c, 2, 0.0), milliseconds(100));
  EXPECT_EQ(BackoffDelay(c, 2, 1.0), milliseconds(200));
  EXPECT_EQ(BackoffDelay(c, 10, 1.0), milliseconds(2000));
  for (double u = 0.0; u < 1.0; u += 0.05) {
    auto d = BackoffDelay(c, 3, u);
    EXPECT_GE(d, milliseconds(200));
    EXPECT_LE(d, milliseconds(400));
  }
}

TEST(RetryPolicyTest, RefusesBadConfiguration) {
  auto bad = [](auto mutate) {
    RetryConfig c;
    mutate(c);
    EXPECT_THROW(ValidateRetryConfig(c), Error);
  };
  bad([](RetryConfig& c) { c.max_attempts = 0; });
  bad([](RetryConfig& c) { c.max_attempts = 11; });
  bad([](RetryConfig& c) { c.max_backoff = milliseconds(10); });
  bad([](RetryConfig& c) { c.multiplier = 0.5; });
  bad([](RetryConfig& c) { c.jitter = 1.5; });
  EXPECT_NO_THROW(ValidateRetryConfig(RetryConfig{}));
}

// ---- wire format ----

VerifyRequest Request() {
  VerifyRequest r;
  r.token = kToken;
  r.nonce = kNonce;
  r.name = Secret::FromString(kName);
  r.id_number = Secret::FromString(kIdNumber);
  return r;
}

TEST(WireTest, EncodesTheVerifyRequestCanonically) {
  Secret body = EncodeVerifyRequest(Request());
  EXPECT_EQ(std::string(body.reveal_string()),
            std::string("{\"token\":\"tok-SECRET-7f3a9c\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\","
                        "\"name\":\"Zhang Xiuying\",\"id_number\":\"11010519491231002X\"}"));
  VerifyRequest r = Request();
  r.name = Secret::FromString("\xe5\xbc\xa0\xe4\xbc\x9f");  // 张伟
  EXPECT_NE(std::string(EncodeVerifyRequest(r).reveal_string()).find("\\u5f20\\u4f1f"),
            std::string::npos);
}

TEST(WireTest, RefusesEmptyOversizedOrInvalidFieldsWithoutQuotingThem) {
  auto expect_refused = [](VerifyRequest r) {
    try {
      EncodeVerifyRequest(r);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      std::string what = e.what();
      EXPECT_EQ(what.find("Zhang"), std::string::npos);
      EXPECT_EQ(what.find("110105"), std::string::npos);
      EXPECT_EQ(what.find("SECRET"), std::string::npos);
    }
  };
  VerifyRequest r = Request();
  r.token.clear();
  expect_refused(std::move(r));
  r = Request();
  r.name = Secret();
  expect_refused(std::move(r));
  r = Request();
  r.token = std::string(kMaxTokenBytes + 1, 'a');
  expect_refused(std::move(r));
  r = Request();
  r.name = Secret::FromString("Zhang \xff");
  expect_refused(std::move(r));
}

TEST(WireTest, ParsesExactlyTheThreeResults) {
  EXPECT_EQ(ParseVerifyResponse(R"({"result":"match"})"), Outcome::kMatch);
  EXPECT_EQ(ParseVerifyResponse(R"({"result":"mismatch"})"), Outcome::kMismatch);
  EXPECT_EQ(ParseVerifyResponse(R"({"result":"invalid_token"})"), Outcome::kInvalidToken);
  EXPECT_EQ(ParseVerifyResponse(EncodeVerifyResponse(Outcome::kMismatch)), Outcome::kMismatch);
}

TEST(WireTest, RefusesEverythingElse) {
  for (const char* body : {
           R"({"result":"MATCH"})",
           R"({"result":"matched"})",
           R"({"result":"unknown"})",
           R"({"result":""})",
           R"({"result":true})",
           R"({"result":1})",
           R"({"result":"match","extra":1})",
           R"({"result":"match","result":"match"})",
           R"({"outcome":"match"})",
           R"({})",
           R"(["match"])",
           R"("match")",
           R"({"result":"match"} x)",
           R"({"result":"match")",
           "",
       }) {
    try {
      ParseVerifyResponse(body);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_EQ(std::string(e.what()).find("matched"), std::string::npos);
    }
  }
}

// ---- HttpGateway over a scripted transport ----

struct Step {
  std::variant<FailureClass, HttpAnswer> what;
};

class ScriptedTransport final : public Transport {
 public:
  std::deque<Step> script;
  int calls = 0;
  std::string last_path;
  std::string last_body;
  HttpAnswer Post(const std::string& path, const Secret& body) override {
    ++calls;
    last_path = path;
    last_body = std::string(body.reveal_string());
    if (script.empty()) return HttpAnswer{200, R"({"result":"match"})"};
    Step s = script.front();
    script.pop_front();
    if (auto* f = std::get_if<FailureClass>(&s.what)) throw TransportFailure{*f};
    return std::get<HttpAnswer>(s.what);
  }
};

class RecordingObserver final : public GatewayObserver {
 public:
  std::vector<std::string> results;
  std::vector<BreakerState> states;
  void OnRequest(std::string_view result, double seconds) noexcept override {
    results.emplace_back(result);
    EXPECT_GE(seconds, 0.0);
  }
  void OnBreakerState(BreakerState state) noexcept override { states.push_back(state); }
};

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() {
    config_.url = "https://ctid.example:9443/gw";
    config_.retry.max_attempts = 3;
    config_.retry.initial_backoff = milliseconds(100);
    config_.retry.max_backoff = milliseconds(1000);
    config_.retry.jitter = 0.0;
    config_.breaker = SmallBreaker();
  }
  std::unique_ptr<HttpGateway> Make() {
    HttpGateway::TestHooks hooks;
    hooks.transport = transport_;
    hooks.clock = clock_.fn();
    hooks.sleep = [this](milliseconds d) { sleeps_.push_back(d); };
    hooks.uniform01 = [] { return 0.5; };
    return std::make_unique<HttpGateway>(config_, observer_, hooks);
  }
  // Runs Verify expecting kUnavailable; keeps the error text for the identity-data check.
  void ExpectUnavailable(HttpGateway& g) {
    try {
      g.Verify(Request());
      ADD_FAILURE() << "Verify succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
      errors_.emplace_back(e.what());
    }
  }
  void TearDown() override {
    for (const std::string& e : errors_) {
      EXPECT_EQ(e.find(kName), std::string::npos) << e;
      EXPECT_EQ(e.find("Zhang"), std::string::npos) << e;
      EXPECT_EQ(e.find(kIdNumber), std::string::npos) << e;
      EXPECT_EQ(e.find(kToken), std::string::npos) << e;
      EXPECT_EQ(e.find(kNonce), std::string::npos) << e;
    }
    static const std::set<std::string> kLabels = {
        "match",        "mismatch",     "invalid_token", "connect_error", "send_error",
        "receive_error", "server_error", "client_error", "bad_response",  "breaker_open"};
    for (const std::string& r : observer_->results) EXPECT_TRUE(kLabels.count(r)) << r;
  }

  HttpGatewayConfig config_;
  std::shared_ptr<ScriptedTransport> transport_ = std::make_shared<ScriptedTransport>();
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
  FakeClock clock_;
  std::vector<milliseconds> sleeps_;
  std::vector<std::string> errors_;
};

TEST_F(GatewayTest, MapsTheThreeAnswersAndPostsToTheVerifyPath) {
  auto g = Make();
  transport_->script = {{HttpAnswer{200, R"({"result":"match"})"}},
                        {HttpAnswer{200, R"({"result":"mismatch"})"}},
                        {HttpAnswer{200, R"({"result":"invalid_token"})"}}};
  EXPECT_EQ(g->Verify(Request()), Outcome::kMatch);
  EXPECT_EQ(g->Verify(Request()), Outcome::kMismatch);
  EXPECT_EQ(g->Verify(Request()), Outcome::kInvalidToken);
  EXPECT_EQ(transport_->calls, 3);
  EXPECT_EQ(transport_->last_path, "/gw/v1/verify");
  EXPECT_EQ(transport_->last_body, std::string(EncodeVerifyRequest(Request()).reveal_string()));
  EXPECT_EQ(observer_->results,
            (std::vector<std::string>{"match", "mismatch", "invalid_token"}));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(GatewayTest, RetriesConnectFailuresWithGrowingBackoff) {
  auto g = Make();
  transport_->script = {{FailureClass::kConnect}, {FailureClass::kConnect},
                        {HttpAnswer{200, R"({"result":"match"})"}}};
  EXPECT_EQ(g->Verify(Request()), Outcome::kMatch);
  EXPECT_EQ(transport_->calls, 3);
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
  EXPECT_EQ(observer_->results,
            (std::vector<std::string>{"connect_error", "connect_error", "match"}));
}

TEST_F(GatewayTest, Retries5xxButBoundsTheAttempts) {
  config_.breaker.failure_threshold = 10;
  auto g = Make();
  transport_->script = {{HttpAnswer{503, "{}"}}, {HttpAnswer{500, ""}}, {HttpAnswer{502, ""}},
                        {HttpAnswer{200, R"({"result":"match"})"}}};
  ExpectUnavailable(*g);
  EXPECT_EQ(transport_->calls, 3);
  EXPECT_EQ(sleeps_.size(), 2u);
  EXPECT_EQ(g->Verify(Request()), Outcome::kMatch);  // the next call goes through
}

TEST_F(GatewayTest, NeverRetriesWhatMayHaveReachedCtid) {
  config_.breaker.failure_threshold = 10;
  auto g = Make();
  for (FailureClass f : {FailureClass::kSend, FailureClass::kReceive}) {
    transport_->calls = 0;
    transport_->script = {{f}};
    ExpectUnavailable(*g);
    EXPECT_EQ(transport_->calls, 1) << FailureClassName(f);
  }
  for (const char* body : {R"({"result":"maybe"})", "not json", R"({"result":"match","x":1})"}) {
    transport_->calls = 0;
    transport_->script = {{HttpAnswer{200, body}}};
    ExpectUnavailable(*g);
    EXPECT_EQ(transport_->calls, 1) << body;
  }
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(GatewayTest, A4xxIsNotRetriedAndDoesNotTripTheBreaker) {
  auto g = Make();
  for (int i = 0; i < 5; ++i) {
    transport_->script = {{HttpAnswer{400, "{}"}}};
    ExpectUnavailable(*g);
  }
  EXPECT_EQ(transport_->calls, 5);
  EXPECT_EQ(g->breaker_state(), BreakerState::kClosed);
}

TEST_F(GatewayTest, OpenBreakerRefusesWithoutCallingCtidThenRecovers) {
  auto g = Make();
  // Three 5xx in one Verify (three attempts) open the breaker (threshold 3).
  transport_->script = {{HttpAnswer{503, ""}}, {HttpAnswer{503, ""}}, {HttpAnswer{503, ""}}};
  ExpectUnavailable(*g);
  EXPECT_EQ(transport_->calls, 3);
  EXPECT_EQ(g->breaker_state(), BreakerState::kOpen);
  for (int i = 0; i < 10; ++i) ExpectUnavailable(*g);
  EXPECT_EQ(transport_->calls, 3);  // not one more call
  EXPECT_EQ(g->RetryAfterSeconds(), 10);
  clock_.now += milliseconds(7500);
  EXPECT_EQ(g->RetryAfterSeconds(), 3);  // ceil(2.5)
  clock_.now += milliseconds(2500);
  // Cool-down over: one probe goes out and succeeds; the breaker closes.
  EXPECT_EQ(g->Verify(Request()), Outcome::kMatch);
  EXPECT_EQ(transport_->calls, 4);
  EXPECT_EQ(g->breaker_state(), BreakerState::kClosed);
  EXPECT_EQ(g->RetryAfterSeconds(), 1);
  EXPECT_EQ(observer_->states, (std::vector<BreakerState>{BreakerState::kOpen,
                                                          BreakerState::kHalfOpen,
                                                          BreakerState::kClosed}));
  EXPECT_EQ(std::count(observer_->results.begin(), observer_->results.end(), "breaker_open"), 10);
}

TEST_F(GatewayTest, AFailedProbeReopensAndIsNotRetried) {
  auto g = Make();
  transport_->script = {{FailureClass::kConnect}, {FailureClass::kConnect},
                        {FailureClass::kConnect}};
  ExpectUnavailable(*g);
  ASSERT_EQ(g->breaker_state(), BreakerState::kOpen);
  clock_.now += milliseconds(10000);
  transport_->script = {{FailureClass::kConnect}, {HttpAnswer{200, R"({"result":"match"})"}}};
  ExpectUnavailable(*g);  // the probe fails; the retry is refused by the reopened breaker
  EXPECT_EQ(transport_->calls, 4);
  EXPECT_EQ(g->breaker_state(), BreakerState::kOpen);
}

TEST_F(GatewayTest, RefusesBadConfiguration) {
  auto bad = [this](auto mutate) {
    HttpGatewayConfig c = config_;
    mutate(c);
    EXPECT_THROW(HttpGateway::ValidateConfig(c), Error);
  };
  bad([](HttpGatewayConfig& c) { c.url = "http://ctid.example/"; });
  bad([](HttpGatewayConfig& c) { c.url = "https://"; });
  bad([](HttpGatewayConfig& c) { c.url = "https://h/x?q=1"; });
  bad([](HttpGatewayConfig& c) { c.connect_timeout = milliseconds(0); });
  bad([](HttpGatewayConfig& c) { c.read_timeout = milliseconds(-1); });
  bad([](HttpGatewayConfig& c) { c.retry.max_attempts = 0; });
  bad([](HttpGatewayConfig& c) { c.breaker.failure_threshold = 0; });
  EXPECT_NO_THROW(HttpGateway::ValidateConfig(config_));
  // The real transport needs readable TLS files.
  HttpGatewayConfig c = config_;
  c.client_cert_file = "/nonexistent/cert.pem";
  c.client_key_file = "/nonexistent/key.pem";
  c.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(HttpGateway g(c), Error);
}

}  // namespace
}  // namespace realdid::ctid

// ---- synthetic population ----

namespace realdid::ctidsim {
namespace {

constexpr idnumber::CivilDate kToday{2026, 5, 17};

TEST(PopulationTest, IsDeterministicValidAndReversible) {
  Population a(42, 5000, kToday);
  Population b(42, 5000, kToday);
  Population other(43, 5000, kToday);
  const std::regex name_re("[A-Z][a-z]+ [A-Z][a-z]+");
  int differ = 0;
  for (std::uint64_t i : {0ULL, 1ULL, 2ULL, 17ULL, 999ULL, 4998ULL, 4999ULL}) {
    Resident r = a.At(i);
    EXPECT_EQ(r.name, b.At(i).name);
    EXPECT_EQ(r.id_number, b.At(i).id_number);
    EXPECT_EQ(r.id_number, idnumber::Generate(42, i, kToday));
    EXPECT_NO_THROW(idnumber::Validate(r.id_number, kToday));
    EXPECT_TRUE(std::regex_match(r.name, name_re)) << r.name;
    EXPECT_EQ(a.FindIdNumber(r.id_number), std::optional<std::uint64_t>(i));
    if (other.At(i).id_number != r.id_number) ++differ;
  }
  EXPECT_EQ(differ, 7);
}

TEST(PopulationTest, EveryResidentIsFoundByItsIdNumber) {
  Population p(7, 20000, kToday);
  for (std::uint64_t i = 0; i < p.size(); ++i) {
    std::optional<std::uint64_t> found = p.FindIdNumber(p.IdNumberAt(i));
    ASSERT_TRUE(found.has_value()) << i;
    // A chance duplicate maps to the smallest index with that number.
    EXPECT_EQ(p.IdNumberAt(*found), p.IdNumberAt(i));
  }
}

TEST(PopulationTest, UnknownOrMalformedNumbersAreNotFound) {
  Population p(42, 1000, kToday);
  std::string id = p.IdNumberAt(3);
  std::string wrong_check = id;
  wrong_check[17] = id[17] == '0' ? '1' : '0';
  EXPECT_FALSE(p.FindIdNumber(wrong_check).has_value());
  EXPECT_FALSE(p.FindIdNumber(id.substr(0, 17)).has_value());
  EXPECT_FALSE(p.FindIdNumber("").has_value());
  EXPECT_FALSE(p.FindIdNumber("11010519491231002x").has_value());
  EXPECT_FALSE(p.FindIdNumber(idnumber::Generate(42, 5000, kToday)).has_value());  // index >= size
  EXPECT_THROW(p.At(1000), Error);
  EXPECT_THROW(Population(1, 0, kToday), Error);
  EXPECT_THROW(Population(1, Population::kMaxSize + 1, kToday), Error);
}

TEST(SimulatorTest, FailureRateConversion) {
  EXPECT_EQ(FailureRateToPpm(0.0), 0u);
  EXPECT_EQ(FailureRateToPpm(0.5), 500000u);
  EXPECT_EQ(FailureRateToPpm(1.0), 1000000u);
  EXPECT_THROW(FailureRateToPpm(-0.1), Error);
  EXPECT_THROW(FailureRateToPpm(1.01), Error);
}

}  // namespace
}  // namespace realdid::ctidsim
