// HttpGateway: the CTID adapter over HTTPS with mutual TLS (docs/protocol.md section 6).
//
// Every attempt opens a fresh TLS connection (TLS 1.2+, client certificate from the config, server
// certificate verified against ca_file and the URL's host name), POSTs /v1/verify and reads the
// answer; connect+handshake and reads are bounded by their timeouts. Failed attempts are retried
// only when the request provably did not reach CTID or CTID answered 5xx (retry_policy.h explains
// why: a token is consumed by its first verification), with exponential backoff and jitter, at most
// retry.max_attempts attempts per Verify. A circuit breaker (circuit_breaker.h) sees the result of
// every attempt (connection errors, timeouts, 5xx and unparsable answers are failures; any HTTP
// answer below 500 is a success, since CTID is up); while it is open Verify throws kUnavailable at
// once without calling CTID. A 4xx answer is not retried and throws kUnavailable too (the request
// or the client certificate was refused: a configuration problem, not the resident's).
// Security contract: name, ID number and token travel only inside the TLS body; no exception text,
// observer call or metric carries them (error texts are fixed strings).
// Thread-safety: Verify and RetryAfterSeconds are safe from any number of threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "ctid/circuit_breaker.h"
#include "ctid/gateway.h"
#include "ctid/observer.h"
#include "ctid/retry_policy.h"

namespace realdid::ctid {

struct HttpGatewayConfig {
  std::string url;               // CTID base URL "https://host:port[/prefix]"; /v1/verify appended
  std::string client_cert_file;  // PEM client certificate (chain) presented to CTID (required)
  std::string client_key_file;   // PEM private key of that certificate (required)
  std::string ca_file;           // PEM CA bundle CTID's server certificate must chain to (required)
  std::chrono::milliseconds connect_timeout{2000};  // TCP connect + TLS handshake, per attempt
  std::chrono::milliseconds read_timeout{5000};     // sending and each read of the answer
  std::size_t max_response_bytes = 16 << 10;        // larger answers are bad_response
  RetryConfig retry;
  BreakerConfig breaker;
};

// The answer of one HTTP exchange (transport level).
struct HttpAnswer {
  int status = 0;
  std::string body;
};

// One HTTP exchange. Throws TransportFailure for failures below HTTP. Test seam.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual HttpAnswer Post(const std::string& path, const Secret& body) = 0;
};

struct TransportFailure {
  FailureClass failure;  // kConnect, kSend or kReceive
};

class HttpGateway final : public Gateway {
 public:
  // Validates the configuration and builds the TLS client context. Throws Error(kInvalidInput)
  // naming the field or file on a bad value, unreadable certificate/key/CA or key mismatch.
  // observer may be null.
  explicit HttpGateway(HttpGatewayConfig config, std::shared_ptr<GatewayObserver> observer = nullptr);

  // Test hooks: a fake transport, clock, sleep and uniform random source (any may be null for the
  // real one). The TLS files are not read when a transport is given.
  struct TestHooks {
    std::shared_ptr<Transport> transport;
    CircuitBreaker::Clock clock;
    std::function<void(std::chrono::milliseconds)> sleep;
    std::function<double()> uniform01;
  };
  HttpGateway(HttpGatewayConfig config, std::shared_ptr<GatewayObserver> observer, TestHooks hooks);

  ~HttpGateway() override;
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  Outcome Verify(const VerifyRequest& request) override;
  int RetryAfterSeconds() const noexcept override;

  BreakerState breaker_state() const { return breaker_.state(); }

  // Throws Error(kInvalidInput) naming the field (does not read files).
  static void ValidateConfig(const HttpGatewayConfig& config);

 private:
  double Uniform01();
  void Sleep(std::chrono::milliseconds d);
  void Observe(std::string_view result, double seconds) noexcept;

  const HttpGatewayConfig config_;
  const std::shared_ptr<GatewayObserver> observer_;
  std::string verify_path_;
  std::shared_ptr<Transport> transport_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  std::function<double()> uniform01_;
  CircuitBreaker::Clock clock_;
  CircuitBreaker breaker_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_ (jitter only; not security relevant)
};

}  // namespace realdid::ctid
