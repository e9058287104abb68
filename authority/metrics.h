// Prometheus metrics of the authority, and the internal /metrics listener.
//
// Metrics owns the registry and every series the service exports:
//   realdid_http_requests_total{route,method,status}   realdid_http_request_duration_seconds{route}
//   realdid_hsm_operations_total{token,op,result} realdid_hsm_operation_duration_seconds{token,op}
//   realdid_hsm_recoveries_total                       realdid_db_queries_total{result}
//   realdid_db_query_duration_seconds                  realdid_ready
//   realdid_build_info{version}
//   realdid_ctid_requests_total{result}            realdid_ctid_request_duration_seconds
//   realdid_ctid_breaker_open (1 while the CTID breaker is open or half-open)
//   realdid_issuance_sessions_total{result}        realdid_issuance_cheats_total
//   realdid_issuance_signatures_total              realdid_lockouts_total
//   realdid_signing_key_not_after_seconds{kid} (end of each blind-signing key's validity window)
// Label values must come from bounded sets (route = the route pattern, never a raw path; method =
// an HTTP method the router knows or "OTHER"); callers are responsible for that.
// MetricsExposer serves the registry as plain HTTP at /metrics on an internal address (default
// 127.0.0.1); it must never be bound to a public interface without a reason.
// Thread-safety: all Observe*/Set* methods are thread-safe (prometheus-cpp families lock).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
class Exposer;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace realdid::authority {

class Metrics {
 public:
  explicit Metrics(std::string_view version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void ObserveHttpRequest(std::string_view route, std::string_view method, int status,
                          double seconds);
  void ObserveHsmOperation(std::string_view token, std::string_view op, bool ok, double seconds);
  void IncHsmRecoveries();
  void ObserveDbQuery(bool ok, double seconds);
  void SetReady(bool ready);
  // result: a label of ctid/observer.h (fixed set). seconds < 0: count only (no duration).
  void ObserveCtidRequest(std::string_view result, double seconds);
  void SetCtidBreakerOpen(bool open);
  // result: a fixed label of issuance::Events::OnSession.
  void IncIssuanceSession(std::string_view result);
  void IncIssuanceCheat();
  void IncIssuanceSignature();
  void IncLockout();
  // Unix time at which the blind-signing key `kid` stops being valid (from the key manifest).
  void SetSigningKeyNotAfter(std::string_view kid, std::int64_t unix_seconds);

  // The Prometheus text exposition of the registry (what /metrics returns).
  std::string TextExposition() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* http_requests_;
  prometheus::Family<prometheus::Histogram>* http_duration_;
  prometheus::Family<prometheus::Counter>* hsm_ops_;
  prometheus::Family<prometheus::Histogram>* hsm_duration_;
  prometheus::Counter* hsm_recoveries_;
  prometheus::Family<prometheus::Counter>* db_queries_;
  prometheus::Histogram* db_duration_;
  prometheus::Gauge* ready_;
  prometheus::Family<prometheus::Counter>* ctid_requests_;
  prometheus::Histogram* ctid_duration_;
  prometheus::Gauge* ctid_breaker_open_;
  prometheus::Family<prometheus::Counter>* issuance_sessions_;
  prometheus::Counter* issuance_cheats_;
  prometheus::Counter* issuance_signatures_;
  prometheus::Counter* lockouts_;
  prometheus::Family<prometheus::Gauge>* signing_key_not_after_;
};

class MetricsExposer {
 public:
  // Binds address:port (port 0 = any free port). Throws Error(kUnavailable) if it cannot bind.
  MetricsExposer(const Metrics& metrics, const std::string& address, std::uint16_t port);
  ~MetricsExposer();
  MetricsExposer(const MetricsExposer&) = delete;
  MetricsExposer& operator=(const MetricsExposer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const;  // http://address:port/metrics

 private:
  std::string address_;
  std::uint16_t port_ = 0;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace realdid::authority
