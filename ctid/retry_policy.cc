#include "ctid/retry_policy.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace realdid::ctid {

std::string_view FailureClassName(FailureClass failure) noexcept {
  switch (failure) {
    case FailureClass::kConnect: return "connect_error";
    case FailureClass::kSend: return "send_error";
    case FailureClass::kReceive: return "receive_error";
    case FailureClass::kServerError: return "server_error";
    case FailureClass::kClientError: return "client_error";
    case FailureClass::kBadResponse: return "bad_response";
  }
  return "unknown";
}

bool IsRetryable(FailureClass failure) noexcept {
  return failure == FailureClass::kConnect || failure == FailureClass::kServerError;
}

void ValidateRetryConfig(const RetryConfig& c) {
  if (c.max_attempts < 1 || c.max_attempts > 10) {
    InvalidInput("ctid retry: max_attempts must be in 1..10");
  }
  if (c.initial_backoff.count() < 0) InvalidInput("ctid retry: initial_backoff must be >= 0");
  if (c.max_backoff < c.initial_backoff) {
    InvalidInput("ctid retry: max_backoff must be >= initial_backoff");
  }
  if (!(c.multiplier >= 1.0 && c.multiplier <= 100.0)) {
    InvalidInput("ctid retry: multiplier must be in 1..100");
  }
  if (!(c.jitter >= 0.0 && c.jitter <= 1.0)) InvalidInput("ctid retry: jitter must be in 0..1");
}

std::chrono::milliseconds BackoffDelay(const RetryConfig& c, int retry, double uniform01) {
  if (retry < 1) retry = 1;
  const double cap = static_cast<double>(c.max_backoff.count());
  double d = static_cast<double>(c.initial_backoff.count()) * std::pow(c.multiplier, retry - 1);
  d = std::min(d, cap);
  const double u = std::clamp(uniform01, 0.0, 1.0);
  const double waited = d * (1.0 - c.jitter) + d * c.jitter * u;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(std::min(waited, cap))));
}

}  // namespace realdid::ctid
