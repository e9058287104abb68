// CircuitBreaker: stops calling CTID while it is failing, so that a dead gateway costs the service
// neither threads nor time, and lets one probe through after a cool-down.
//
// States: closed (calls flow; results are counted) -> open after `failure_threshold` consecutive
// failures, or when the last `window_size` results hold at least `window_min_calls` results of
// which a share >= `failure_ratio` failed -> after `open_duration` the next Allow() moves to
// half-open and admits exactly one probe (every other call is refused while the probe is out) ->
// the probe's success closes the breaker (counters reset), its failure opens it again for a fresh
// cool-down. The clock is injectable so tests drive the cool-down without sleeping.
// Thread-safety: all methods are thread-safe. The state listener runs under the breaker's lock: it
// must be quick, must not call back into the breaker, and must not throw.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>

namespace realdid::ctid {

struct BreakerConfig {
  int failure_threshold = 5;    // consecutive failures that open a closed breaker (>= 1)
  int window_size = 20;         // results remembered for the failure ratio (>= 1)
  int window_min_calls = 10;    // the ratio applies once the window holds this many (1..window_size)
  double failure_ratio = 0.5;   // open when failures / results in the window >= this (0 < r <= 1)
  std::chrono::milliseconds open_duration{std::chrono::seconds(10)};  // cool-down (> 0)
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
std::string_view BreakerStateName(BreakerState state) noexcept;  // "closed", "open", "half_open"

class CircuitBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Clock = std::function<TimePoint()>;
  using Listener = std::function<void(BreakerState)>;

  // Throws Error(kInvalidInput) naming the field when the configuration is out of range.
  explicit CircuitBreaker(BreakerConfig config, Clock clock = nullptr, Listener listener = nullptr);

  // Whether one call may go out now (see the state machine above). Every admitted call must be
  // followed by exactly one RecordSuccess() or RecordFailure().
  bool Allow();
  void RecordSuccess();
  void RecordFailure();

  BreakerState state() const;
  // Time left in the current cool-down (zero unless open).
  std::chrono::milliseconds RemainingOpen() const;

  static void Validate(const BreakerConfig& config);

 private:
  void TransitionLocked(BreakerState next);
  void PushResultLocked(bool failed);

  const BreakerConfig config_;
  const Clock clock_;
  const Listener listener_;

  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;  // guarded by mu_
  int consecutive_failures_ = 0;                // guarded by mu_
  std::deque<bool> window_;                     // guarded by mu_ (true = failure)
  int window_failures_ = 0;                     // guarded by mu_
  TimePoint open_until_{};                      // guarded by mu_
  bool probe_out_ = false;                      // guarded by mu_
};

}  // namespace realdid::ctid
