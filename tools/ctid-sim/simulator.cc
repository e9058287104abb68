#include "tools/ctid-sim/simulator.h"

#include <cmath>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "authority/http_server.h"
#include "authority/log.h"
#include "authority/problem.h"
#include "authority/router.h"
#include "core/base64url.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/json.h"
#include "ctid/wire.h"

namespace realdid::ctidsim {

using authority::HttpRequest;
using authority::HttpResponse;
using Clock = std::chrono::steady_clock;

struct TokenEntry {
  std::uint32_t index = 0;
  std::string nonce;
  Clock::time_point expires;
};

struct CtidSimulator::State {
  explicit State(const SimConfig& c, const idnumber::CivilDate& today)
      : config(c), population(c.seed, c.population, today) {}

  const SimConfig config;
  const Population population;

  std::atomic<std::uint32_t> failure_ppm{0};
  std::atomic<std::int64_t> latency_ms{0};
  std::atomic<std::int64_t> latency_jitter_ms{0};
  std::atomic<std::uint64_t> verify_requests{0};
  std::atomic<std::uint64_t> failures_injected{0};
  std::atomic<std::uint64_t> authenticate_requests{0};

  std::mutex mu;
  std::unordered_map<std::string, TokenEntry> tokens;  // guarded by mu
  std::uint64_t inserts = 0;                           // guarded by mu
};

namespace {

constexpr std::size_t kMaxLatencyMs = 600'000;

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng = [] {
    Bytes seed = RandomBytes(8);
    std::uint64_t s = 0;
    for (std::uint8_t b : seed) s = (s << 8) | b;
    return std::mt19937_64(s);
  }();
  return rng;
}

idnumber::CivilDate TodayUtc() {
  return idnumber::CivilFromUnixSeconds(static_cast<std::int64_t>(std::time(nullptr)));
}

// A JSON body that is an object with exactly the given string members (any order).
json::Value ParseStrictObject(const std::string& body, std::initializer_list<const char*> keys) {
  json::Value v = json::Parse(body, json::ParseLimits{8192, 4});
  if (!v.is_object()) InvalidInput("body must be a JSON object");
  for (const auto& [k, member] : v.as_object()) {
    bool known = false;
    for (const char* want : keys) known = known || k == want;
    if (!known) InvalidInput("unknown member in body");
  }
  for (const char* want : keys) {
    if (!v.at(want).is_string()) InvalidInput(std::string("member ") + want + " must be a string");
  }
  return v;
}

void CheckNonce(const std::string& nonce) {
  Bytes raw = b64url::Decode(nonce);
  if (raw.size() != 16) InvalidInput("nonce must be the b64url encoding of 16 bytes");
}

bool IsLoopback(const std::string& address) {
  return address == "127.0.0.1" || address == "::1" || address == "::ffff:127.0.0.1";
}

void PurgeExpiredLocked(CtidSimulator::State& s, Clock::time_point now) {
  for (auto it = s.tokens.begin(); it != s.tokens.end();) {
    it = it->second.expires <= now ? s.tokens.erase(it) : std::next(it);
  }
}

SimStats Snapshot(CtidSimulator::State& s) {
  SimStats st;
  st.verify_requests = s.verify_requests.load();
  st.failures_injected = s.failures_injected.load();
  st.authenticate_requests = s.authenticate_requests.load();
  {
    std::lock_guard lock(s.mu);
    st.tokens_outstanding = s.tokens.size();
  }
  st.failure_ppm = s.failure_ppm.load();
  st.latency_ms = s.latency_ms.load();
  st.latency_jitter_ms = s.latency_jitter_ms.load();
  return st;
}

std::string StatsJson(const SimStats& st) {
  json::Object o;
  o.emplace_back("failure_percent", static_cast<std::int64_t>(st.failure_ppm / 10000));
  o.emplace_back("failure_ppm", static_cast<std::int64_t>(st.failure_ppm));
  o.emplace_back("latency_ms", st.latency_ms);
  o.emplace_back("latency_jitter_ms", st.latency_jitter_ms);
  o.emplace_back("verify_requests", static_cast<std::int64_t>(st.verify_requests));
  o.emplace_back("failures_injected", static_cast<std::int64_t>(st.failures_injected));
  o.emplace_back("authenticate_requests", static_cast<std::int64_t>(st.authenticate_requests));
  o.emplace_back("tokens_outstanding", static_cast<std::int64_t>(st.tokens_outstanding));
  return json::Serialize(json::Value(std::move(o)));
}

void RequireClientCertificate(const HttpRequest& req) {
  if (req.peer_certificate_der.empty()) {
    Fail(ErrorKind::kUnauthorized, "a client certificate is required");
  }
}

void SimulateLatency(CtidSimulator::State& s) {
  std::int64_t base = s.latency_ms.load();
  std::int64_t jitter = s.latency_jitter_ms.load();
  std::int64_t ms = base;
  if (jitter > 0) {
    ms += std::uniform_int_distribution<std::int64_t>(-jitter, jitter)(Rng());
  }
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

bool InjectFailure(CtidSimulator::State& s) {
  std::uint32_t ppm = s.failure_ppm.load();
  if (ppm == 0) return false;
  if (ppm >= 1'000'000) return true;
  return std::uniform_int_distribution<std::uint32_t>(0, 999'999)(Rng()) < ppm;
}

HttpResponse HandleVerify(CtidSimulator::State& s, const HttpRequest& req) {
  RequireClientCertificate(req);
  s.verify_requests.fetch_add(1);
  SimulateLatency(s);
  if (InjectFailure(s)) {
    s.failures_injected.fetch_add(1);
    HttpResponse r = authority::ProblemResponse(
        authority::HttpProblem(503, "simulated CTID failure"), req.request_id);
    r.headers.emplace_back("Retry-After", "1");
    authority::LogDebug("ctid-sim verify", {{"result", "injected_failure"}});
    return r;
  }
  json::Value v = ParseStrictObject(req.body, {"token", "nonce", "name", "id_number"});
  const std::string& token = v.at("token").as_string();
  const std::string& nonce = v.at("nonce").as_string();
  CheckNonce(nonce);
  Secret name = Secret::FromString(v.at("name").as_string());
  Secret id_number = Secret::FromString(v.at("id_number").as_string());

  std::optional<TokenEntry> entry;
  {
    std::lock_guard lock(s.mu);
    auto it = s.tokens.find(token);
    if (it != s.tokens.end()) {
      entry = std::move(it->second);
      s.tokens.erase(it);  // consumed by its first verification, whatever the result
    }
  }
  ctid::Outcome outcome = ctid::Outcome::kInvalidToken;
  if (entry && entry->expires > Clock::now() && entry->nonce == nonce) {
    Resident r = s.population.At(entry->index);
    bool same = Secret::FromString(r.name) == name && Secret::FromString(r.id_number) == id_number;
    outcome = same ? ctid::Outcome::kMatch : ctid::Outcome::kMismatch;
  }
  authority::LogDebug("ctid-sim verify", {{"result", ctid::OutcomeName(outcome)}});
  return HttpResponse::Json(200, ctid::EncodeVerifyResponse(outcome));
}

HttpResponse HandleAuthenticate(CtidSimulator::State& s, const HttpRequest& req) {
  s.authenticate_requests.fetch_add(1);
  json::Value v = ParseStrictObject(req.body, {"id_number", "name", "nonce"});
  const std::string& nonce = v.at("nonce").as_string();
  CheckNonce(nonce);
  std::optional<std::uint64_t> index = s.population.FindIdNumber(v.at("id_number").as_string());
  if (!index || !(Secret::FromString(s.population.NameAt(*index)) ==
                  Secret::FromString(v.at("name").as_string()))) {
    Fail(ErrorKind::kNotFound, "no resident with this name and ID number");
  }
  std::string token = b64url::Encode(RandomBytes(32));
  auto now = Clock::now();
  {
    std::lock_guard lock(s.mu);
    if (++s.inserts % 4096 == 0 || s.tokens.size() >= s.config.max_tokens) {
      PurgeExpiredLocked(s, now);
    }
    if (s.tokens.size() >= s.config.max_tokens) {
      Fail(ErrorKind::kUnavailable, "too many outstanding tokens");
    }
    s.tokens[token] = TokenEntry{static_cast<std::uint32_t>(*index), nonce, now + s.config.token_ttl};
  }
  authority::LogDebug("ctid-sim token issued");
  json::Object o;
  o.emplace_back("token", token);
  return HttpResponse::Json(200, json::Serialize(json::Value(std::move(o))));
}

std::uint64_t ParseIndex(const std::string& text) {
  if (text.empty() || text.size() > 12) Fail(ErrorKind::kNotFound, "no resident with this index");
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') Fail(ErrorKind::kNotFound, "no resident with this index");
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

HttpResponse HandleResident(CtidSimulator::State& s, const HttpRequest& req) {
  Resident r = s.population.At(ParseIndex(req.params.at("index")));
  json::Object o;
  o.emplace_back("name", r.name);
  o.emplace_back("id_number", r.id_number);
  return HttpResponse::Json(200, json::Serialize(json::Value(std::move(o))));
}

std::int64_t IntInRange(const json::Value& v, const char* what, std::int64_t lo, std::int64_t hi) {
  std::int64_t x = v.as_int();
  if (x < lo || x > hi) InvalidInput(std::string(what) + " out of range");
  return x;
}

HttpResponse HandleControl(CtidSimulator::State& s, const HttpRequest& req) {
  RequireClientCertificate(req);
  if (!IsLoopback(req.peer_address)) {
    Fail(ErrorKind::kForbidden, "control is allowed from the loopback interface only");
  }
  if (req.method == "POST") {
    json::Value v = json::Parse(req.body, json::ParseLimits{4096, 4});
    if (!v.is_object()) InvalidInput("body must be a JSON object");
    std::optional<std::int64_t> failure, latency, jitter;
    for (const auto& [k, member] : v.as_object()) {
      if (k == "failure_percent") {
        failure = IntInRange(member, "failure_percent", 0, 100);
      } else if (k == "latency_ms") {
        latency = IntInRange(member, "latency_ms", 0, kMaxLatencyMs);
      } else if (k == "latency_jitter_ms") {
        jitter = IntInRange(member, "latency_jitter_ms", 0, kMaxLatencyMs);
      } else {
        InvalidInput("unknown member in body");
      }
    }
    if (failure) s.failure_ppm.store(static_cast<std::uint32_t>(*failure) * 10000U);
    if (latency) s.latency_ms.store(*latency);
    if (jitter) s.latency_jitter_ms.store(*jitter);
    authority::LogInfo("ctid-sim settings changed",
                       {{"failure_ppm", static_cast<std::int64_t>(s.failure_ppm.load())},
                        {"latency_ms", s.latency_ms.load()},
                        {"latency_jitter_ms", s.latency_jitter_ms.load()}});
  }
  return HttpResponse::Json(200, StatsJson(Snapshot(s)));
}

}  // namespace

std::uint32_t FailureRateToPpm(double rate) {
  if (!(rate >= 0.0 && rate <= 1.0)) InvalidInput("failure rate must be in 0.0..1.0");
  return static_cast<std::uint32_t>(std::llround(rate * 1e6));
}

CtidSimulator::CtidSimulator(SimConfig config) {
  if (config.client_ca_file.empty()) InvalidInput("a client CA file is required");
  if (config.token_ttl.count() <= 0) InvalidInput("token TTL must be > 0");
  if (config.max_tokens == 0) InvalidInput("max tokens must be > 0");
  if (config.latency.count() < 0 || config.latency_jitter.count() < 0 ||
      static_cast<std::size_t>(config.latency.count()) > kMaxLatencyMs ||
      static_cast<std::size_t>(config.latency_jitter.count()) > kMaxLatencyMs) {
    InvalidInput("latency must be in 0.." + std::to_string(kMaxLatencyMs) + " ms");
  }
  const std::uint32_t ppm = FailureRateToPpm(config.failure_rate);
  const idnumber::CivilDate today = config.today.value_or(TodayUtc());
  state_ = std::make_shared<State>(config, today);
  state_->failure_ppm.store(ppm);
  state_->latency_ms.store(config.latency.count());
  state_->latency_jitter_ms.store(config.latency_jitter.count());

  auto router = std::make_shared<authority::Router>();
  authority::RouteOptions json_body;
  json_body.consumes = "application/json";
  json_body.max_body_bytes = 16 << 10;
  std::shared_ptr<State> st = state_;
  router->Add(
      "POST", "/v1/verify", [st](const HttpRequest& r) { return HandleVerify(*st, r); }, json_body);
  router->Add(
      "POST", "/v1/authenticate",
      [st](const HttpRequest& r) { return HandleAuthenticate(*st, r); }, json_body);
  router->Add("GET", "/v1/residents/{index}",
              [st](const HttpRequest& r) { return HandleResident(*st, r); });
  router->Add("GET", "/v1/sim/control",
              [st](const HttpRequest& r) { return HandleControl(*st, r); });
  router->Add(
      "POST", "/v1/sim/control", [st](const HttpRequest& r) { return HandleControl(*st, r); },
      json_body);

  authority::HttpServerOptions options;
  options.name = "ctid-sim";
  options.listen_address = config.listen_address;
  options.port = config.port;
  options.tls.cert_file = config.cert_file;
  options.tls.key_file = config.key_file;
  options.tls.ca_file = config.client_ca_file;
  options.tls.request_client_cert = true;
  options.max_body_bytes = 16 << 10;
  options.max_connections = config.max_connections;
  options.drain_timeout = std::chrono::seconds(5);
  server_ = std::make_unique<authority::HttpsServer>(options, router, nullptr);
}

CtidSimulator::~CtidSimulator() = default;

void CtidSimulator::Start() { server_->Start(); }
bool CtidSimulator::Stop() { return server_->Stop(); }
std::string CtidSimulator::url() const { return server_->url(); }
std::uint16_t CtidSimulator::port() const { return server_->port(); }

void CtidSimulator::SetFailureRate(double rate) { state_->failure_ppm.store(FailureRateToPpm(rate)); }

void CtidSimulator::SetLatency(std::chrono::milliseconds latency,
                               std::chrono::milliseconds jitter) {
  state_->latency_ms.store(std::max<std::int64_t>(0, latency.count()));
  state_->latency_jitter_ms.store(std::max<std::int64_t>(0, jitter.count()));
}

SimStats CtidSimulator::stats() const { return Snapshot(*state_); }
const Population& CtidSimulator::population() const { return state_->population; }

}  // namespace realdid::ctidsim
