// GatewayObserver: how the CTID adapter reports what it does, so ctid/ stays free of any metrics or
// logging library (the authority implements it with Prometheus and its JSON logger).
//
// OnRequest is called once per HTTP attempt with its result and latency, and once per call refused
// by the open breaker. `result` is one of a fixed set (safe as a metric label): "match",
// "mismatch", "invalid_token" (CTID answered), "connect_error", "send_error", "receive_error",
// "server_error", "client_error", "bad_response" (retry_policy.h), "breaker_open" (refused
// without calling CTID; seconds = 0). OnBreakerState is called on every state transition.
// Nothing identifying is ever passed.
// Thread-safety: implementations must be thread-safe and must not throw (both are noexcept).
// OnBreakerState runs under the breaker's lock: it must be quick and must not call the gateway.
#pragma once

#include <string_view>

#include "ctid/circuit_breaker.h"

namespace realdid::ctid {

class GatewayObserver {
 public:
  virtual ~GatewayObserver() = default;
  virtual void OnRequest(std::string_view result, double seconds) noexcept = 0;
  virtual void OnBreakerState(BreakerState state) noexcept = 0;
};

}  // namespace realdid::ctid
