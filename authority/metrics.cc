#include "authority/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <exception>

#include "core/error.h"

namespace realdid::authority {
namespace {

const prometheus::Histogram::BucketBoundaries& HttpBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1.0,  2.5,   5.0,  10.0};
  return b;
}
const prometheus::Histogram::BucketBoundaries& BackendBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  return b;
}

}  // namespace

Metrics::Metrics(std::string_view version) : registry_(std::make_shared<prometheus::Registry>()) {
  http_requests_ = &prometheus::BuildCounter()
                        .Name("realdid_http_requests_total")
                        .Help("HTTP requests answered, by route pattern, method and status")
                        .Register(*registry_);
  http_duration_ = &prometheus::BuildHistogram()
                        .Name("realdid_http_request_duration_seconds")
                        .Help("HTTP request handling time, by route pattern")
                        .Register(*registry_);
  hsm_ops_ = &prometheus::BuildCounter()
                  .Name("realdid_hsm_operations_total")
                  .Help("PKCS#11 operations, by token, operation and result")
                  .Register(*registry_);
  hsm_duration_ = &prometheus::BuildHistogram()
                       .Name("realdid_hsm_operation_duration_seconds")
                       .Help("PKCS#11 operation time, by token and operation")
                       .Register(*registry_);
  hsm_recoveries_ = &prometheus::BuildCounter()
                         .Name("realdid_hsm_recoveries_total")
                         .Help("HSM session recoveries (re-open / re-login after a failure)")
                         .Register(*registry_)
                         .Add({});
  db_queries_ = &prometheus::BuildCounter()
                     .Name("realdid_db_queries_total")
                     .Help("Database queries, by result")
                     .Register(*registry_);
  db_duration_ = &prometheus::BuildHistogram()
                      .Name("realdid_db_query_duration_seconds")
                      .Help("Database query time")
                      .Register(*registry_)
                      .Add({}, BackendBuckets());
  ready_ = &prometheus::BuildGauge()
                .Name("realdid_ready")
                .Help("1 when the last readiness evaluation passed, else 0")
                .Register(*registry_)
                .Add({});
  prometheus::BuildGauge()
      .Name("realdid_build_info")
      .Help("Build information; the value is always 1")
      .Register(*registry_)
      .Add({{"version", std::string(version)}})
      .Set(1);
  // Pre-create the result series so dashboards see zeros rather than absent series.
  db_queries_->Add({{"result", "ok"}});
  db_queries_->Add({{"result", "error"}});
  ctid_requests_ = &prometheus::BuildCounter()
                        .Name("realdid_ctid_requests_total")
                        .Help("CTID verification attempts, by result (breaker_open: refused locally)")
                        .Register(*registry_);
  for (const char* r : {"match", "mismatch", "invalid_token", "connect_error", "send_error",
                        "receive_error", "server_error", "client_error", "bad_response",
                        "breaker_open"}) {
    ctid_requests_->Add({{"result", r}});
  }
  ctid_duration_ = &prometheus::BuildHistogram()
                        .Name("realdid_ctid_request_duration_seconds")
                        .Help("CTID verification attempt time")
                        .Register(*registry_)
                        .Add({}, HttpBuckets());
  ctid_breaker_open_ = &prometheus::BuildGauge()
                            .Name("realdid_ctid_breaker_open")
                            .Help("1 while the CTID circuit breaker is open or half-open, else 0")
                            .Register(*registry_)
                            .Add({});
  issuance_sessions_ = &prometheus::BuildCounter()
                            .Name("realdid_issuance_sessions_total")
                            .Help("Issuance session steps, by result")
                            .Register(*registry_);
  for (const char* r : {"opened", "ctid_failed", "ctid_unavailable", "invalid_id_number", "locked",
                        "conflict", "signed", "cheat"}) {
    issuance_sessions_->Add({{"result", r}});
  }
  issuance_cheats_ = &prometheus::BuildCounter()
                          .Name("realdid_issuance_cheats_total")
                          .Help("Proven cheats (mismatching openings, unanswered challenges)")
                          .Register(*registry_)
                          .Add({});
  issuance_signatures_ = &prometheus::BuildCounter()
                              .Name("realdid_issuance_signatures_total")
                              .Help("Blind signatures released after their record was committed")
                              .Register(*registry_)
                              .Add({});
  lockouts_ = &prometheus::BuildCounter()
                   .Name("realdid_lockouts_total")
                   .Help("Persons locked out after a proven cheat")
                   .Register(*registry_)
                   .Add({});
  signing_key_not_after_ = &prometheus::BuildGauge()
                                .Name("realdid_signing_key_not_after_seconds")
                                .Help("Unix time at which a blind-signing key's validity ends")
                                .Register(*registry_);
}

Metrics::~Metrics() = default;

void Metrics::ObserveHttpRequest(std::string_view route, std::string_view method, int status,
                                 double seconds) {
  http_requests_
      ->Add({{"route", std::string(route)},
             {"method", std::string(method)},
             {"status", std::to_string(status)}})
      .Increment();
  http_duration_->Add({{"route", std::string(route)}}, HttpBuckets()).Observe(seconds);
}

void Metrics::ObserveHsmOperation(std::string_view token, std::string_view op, bool ok,
                                  double seconds) {
  hsm_ops_
      ->Add(
          {{"token", std::string(token)}, {"op", std::string(op)}, {"result", ok ? "ok" : "error"}})
      .Increment();
  hsm_duration_->Add({{"token", std::string(token)}, {"op", std::string(op)}}, BackendBuckets())
      .Observe(seconds);
}

void Metrics::IncHsmRecoveries() { hsm_recoveries_->Increment(); }

void Metrics::ObserveDbQuery(bool ok, double seconds) {
  db_queries_->Add({{"result", ok ? "ok" : "error"}}).Increment();
  db_duration_->Observe(seconds);
}

void Metrics::SetReady(bool ready) { ready_->Set(ready ? 1.0 : 0.0); }

void Metrics::ObserveCtidRequest(std::string_view result, double seconds) {
  ctid_requests_->Add({{"result", std::string(result)}}).Increment();
  if (seconds >= 0.0) ctid_duration_->Observe(seconds);
}

void Metrics::SetCtidBreakerOpen(bool open) { ctid_breaker_open_->Set(open ? 1.0 : 0.0); }

void Metrics::SetSigningKeyNotAfter(std::string_view kid, std::int64_t unix_seconds) {
  signing_key_not_after_->Add({{"kid", std::string(kid)}}).Set(static_cast<double>(unix_seconds));
}

void Metrics::IncIssuanceSession(std::string_view result) {
  issuance_sessions_->Add({{"result", std::string(result)}}).Increment();
}
void Metrics::IncIssuanceCheat() { issuance_cheats_->Increment(); }
void Metrics::IncIssuanceSignature() { issuance_signatures_->Increment(); }
void Metrics::IncLockout() { lockouts_->Increment(); }

std::string Metrics::TextExposition() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

MetricsExposer::MetricsExposer(const Metrics& metrics, const std::string& address,
                               std::uint16_t port)
    : address_(address) {
  std::string bind = address.find(':') != std::string::npos
                         ? "[" + address + "]:" + std::to_string(port)
                         : address + ":" + std::to_string(port);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/2);
    exposer_->RegisterCollectable(metrics.registry(), "/metrics");
    auto ports = exposer_->GetListeningPorts();
    if (ports.empty() || ports.front() <= 0 || ports.front() > 65535) {
      Fail(ErrorKind::kUnavailable, "metrics listener reports no port");
    }
    port_ = static_cast<std::uint16_t>(ports.front());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    Fail(ErrorKind::kUnavailable, "cannot listen for metrics on " + bind + ": " + e.what());
  }
}

MetricsExposer::~MetricsExposer() = default;

std::string MetricsExposer::url() const {
  std::string host = address_.find(':') != std::string::npos ? "[" + address_ + "]" : address_;
  return "http://" + host + ":" + std::to_string(port_) + "/metrics";
}

}  // namespace realdid::authority
