#include "authority/backend_metrics.h"

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

}  // namespace realdid::authority
