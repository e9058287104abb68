// CtidSimulator: a stand-in for the national CTID gateway (docs/protocol.md section 6) over a
// synthetic Population, for the demo, the tests and the benchmarks.
//
// One HTTPS listener (authority/http_server.h) that asks every client for a certificate and
// verifies it against the client CA when one is sent, but does not demand one at the TLS level:
//   POST /v1/verify        (authority -> CTID) client certificate REQUIRED (401 without one).
//                          Consumes the token on its first verification, whatever the result.
//   POST /v1/authenticate  (stands in for the resident's CTID app; no certificate needed)
//   GET  /v1/residents/{i} (demo/test helper; no certificate needed)
//   GET|POST /v1/sim/control  runtime control: client certificate AND a loopback peer required
//                          (403 otherwise). POST body: any of {"failure_percent":0..100,
//                          "latency_ms":0..600000,"latency_jitter_ms":0..600000}; both methods
//                          answer the current settings and counters.
// Fault injection applies to /v1/verify only: first the latency (uniform in latency +- jitter,
// never negative), then a 503 problem with "Retry-After: 1" at the failure rate, BEFORE the token
// is looked at (a 5xx never consumes a token, as section 6 promises).
// Tokens: 32 random bytes as b64url, bound to the nonce and the resident, single use, expiring
// after token_ttl; at most max_tokens outstanding (503 beyond, after purging expired ones).
// Security contract: names, ID numbers and tokens are never logged (synthetic, but treated as real).
// Thread-safety: handlers run on the server's pool; Set*/stats() are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/idnumber.h"
#include "tools/ctid-sim/population.h"

namespace realdid::authority {
class HttpsServer;
}  // namespace realdid::authority

namespace realdid::ctidsim {

struct SimConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8444;  // 0 = any free port
  std::string cert_file;       // PEM server certificate (required)
  std::string key_file;        // PEM server key (required)
  std::string client_ca_file;  // PEM CA bundle for client certificates (required)
  std::uint64_t seed = 1;
  std::uint64_t population = 1'000'000;
  std::optional<idnumber::CivilDate> today;  // default: the UTC date at startup
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds latency_jitter{0};
  double failure_rate = 0.0;  // 0..1, share of /v1/verify answered 503
  std::chrono::seconds token_ttl{300};
  std::size_t max_tokens = 1'000'000;
  int max_connections = 64;
};

struct SimStats {
  std::uint64_t verify_requests = 0;      // /v1/verify requests that passed the certificate check
  std::uint64_t failures_injected = 0;    // of those, answered 503 by fault injection
  std::uint64_t authenticate_requests = 0;
  std::uint64_t tokens_outstanding = 0;
  std::uint32_t failure_ppm = 0;          // current failure rate, parts per million
  std::int64_t latency_ms = 0;
  std::int64_t latency_jitter_ms = 0;
};

class CtidSimulator {
 public:
  // Builds the population and binds the listener. Throws Error(kInvalidInput) on a bad setting or
  // TLS file, Error(kUnavailable) if the address cannot be bound.
  explicit CtidSimulator(SimConfig config);
  ~CtidSimulator();
  CtidSimulator(const CtidSimulator&) = delete;
  CtidSimulator& operator=(const CtidSimulator&) = delete;

  void Start();
  bool Stop();  // graceful: drains in-flight requests
  std::string url() const;
  std::uint16_t port() const;

  void SetFailureRate(double rate);  // 0..1; throws Error(kInvalidInput) outside
  void SetLatency(std::chrono::milliseconds latency, std::chrono::milliseconds jitter);
  SimStats stats() const;
  const Population& population() const;

  struct State;  // shared with handlers (implementation detail)

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<authority::HttpsServer> server_;
};

// Parses "0.25" etc. into parts per million; throws Error(kInvalidInput) outside 0..1.
std::uint32_t FailureRateToPpm(double rate);

}  // namespace realdid::ctidsim
