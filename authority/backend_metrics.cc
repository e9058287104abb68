#include "authority/backend_metrics.h"

#include "authority/log.h"

namespace realdid::authority {

void HsmMetrics::OnOp(std::string_view token, std::string_view op, bool ok,
                      double seconds) noexcept {
  try {
    metrics_.ObserveHsmOperation(token, op, ok, seconds);
  } catch (...) {
  }
}

void HsmMetrics::OnRecovery(std::string_view /*token*/) noexcept {
  try {
    metrics_.IncHsmRecoveries();
  } catch (...) {
  }
}

void DbMetrics::OnQuery(std::string_view /*what*/, bool ok, double seconds) noexcept {
  try {
    metrics_.ObserveDbQuery(ok, seconds);
  } catch (...) {
  }
}

void DbMetrics::OnPoolWait(double /*seconds*/) noexcept {}

void CtidMetrics::OnRequest(std::string_view result, double seconds) noexcept {
  try {
    metrics_.ObserveCtidRequest(result, result == "breaker_open" ? -1.0 : seconds);
  } catch (...) {
  }
}

void CtidMetrics::OnBreakerState(ctid::BreakerState state) noexcept {
  try {
    metrics_.SetCtidBreakerOpen(state != ctid::BreakerState::kClosed);
    if (state == ctid::BreakerState::kOpen) {
      LogWarn("ctid circuit breaker opened", {{"state", ctid::BreakerStateName(state)}});
    } else {
      LogInfo("ctid circuit breaker state", {{"state", ctid::BreakerStateName(state)}});
    }
  } catch (...) {
  }
}

}  // namespace realdid::authority
