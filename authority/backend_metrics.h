// Prometheus adapters for the observer interfaces of hsm/ and db/, so that those layers stay free
// of any metrics library.
//
// HsmMetrics feeds realdid_hsm_operations_total / realdid_hsm_operation_duration_seconds /
// realdid_hsm_recoveries_total; DbMetrics feeds realdid_db_queries_total /
// realdid_db_query_duration_seconds. Labels are the fixed token label and operation names.
// CtidMetrics feeds realdid_ctid_requests_total{result} / realdid_ctid_request_duration_seconds /
// realdid_ctid_breaker_open and logs breaker transitions (no identity data reaches it).
// Thread-safety: thread-safe and non-throwing, as both observer contracts require.
#pragma once

#include "authority/metrics.h"
#include "ctid/observer.h"
#include "db/pool.h"
#include "hsm/observer.h"

namespace realdid::authority {

class HsmMetrics final : public hsm::OpObserver {
 public:
  explicit HsmMetrics(Metrics& metrics) : metrics_(metrics) {}
  void OnOp(std::string_view token, std::string_view op, bool ok, double seconds) noexcept override;
  void OnRecovery(std::string_view token) noexcept override;

 private:
  Metrics& metrics_;
};

class DbMetrics final : public db::QueryObserver {
 public:
  explicit DbMetrics(Metrics& metrics) : metrics_(metrics) {}
  void OnQuery(std::string_view what, bool ok, double seconds) noexcept override;
  void OnPoolWait(double seconds) noexcept override;

 private:
  Metrics& metrics_;
};

class CtidMetrics final : public ctid::GatewayObserver {
 public:
  explicit CtidMetrics(Metrics& metrics) : metrics_(metrics) {}
  void OnRequest(std::string_view result, double seconds) noexcept override;
  void OnBreakerState(ctid::BreakerState state) noexcept override;

 private:
  Metrics& metrics_;
};

}  // namespace realdid::authority
