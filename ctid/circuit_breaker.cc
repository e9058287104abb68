#include "ctid/circuit_breaker.h"

#include <string>

#include "core/error.h"

namespace realdid::ctid {

std::string_view BreakerStateName(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "unknown";
}

void CircuitBreaker::Validate(const BreakerConfig& c) {
  if (c.failure_threshold < 1) InvalidInput("ctid breaker: failure_threshold must be >= 1");
  if (c.window_size < 1) InvalidInput("ctid breaker: window_size must be >= 1");
  if (c.window_min_calls < 1 || c.window_min_calls > c.window_size) {
    InvalidInput("ctid breaker: window_min_calls must be in 1..window_size");
  }
  if (!(c.failure_ratio > 0.0 && c.failure_ratio <= 1.0)) {
    InvalidInput("ctid breaker: failure_ratio must be in (0, 1]");
  }
  if (c.open_duration.count() <= 0) InvalidInput("ctid breaker: open_duration must be > 0");
}

CircuitBreaker::CircuitBreaker(BreakerConfig config, Clock clock, Listener listener)
    : config_(config),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      listener_(std::move(listener)) {
  Validate(config_);
}

void CircuitBreaker::TransitionLocked(BreakerState next) {
  if (next == state_) return;
  state_ = next;
  consecutive_failures_ = 0;
  window_.clear();
  window_failures_ = 0;
  probe_out_ = false;
  if (next == BreakerState::kOpen) open_until_ = clock_() + config_.open_duration;
  if (listener_) listener_(next);
}

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen:
      if (clock_() < open_until_) return false;
      TransitionLocked(BreakerState::kHalfOpen);
      probe_out_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probe_out_) return false;
      probe_out_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::PushResultLocked(bool failed) {
  window_.push_back(failed);
  if (failed) ++window_failures_;
  while (window_.size() > static_cast<std::size_t>(config_.window_size)) {
    if (window_.front()) --window_failures_;
    window_.pop_front();
  }
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kHalfOpen) {
    TransitionLocked(BreakerState::kClosed);
    return;
  }
  if (state_ != BreakerState::kClosed) return;  // a late result of a call admitted before opening
  consecutive_failures_ = 0;
  PushResultLocked(false);
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kHalfOpen) {
    TransitionLocked(BreakerState::kOpen);
    return;
  }
  if (state_ != BreakerState::kClosed) return;
  ++consecutive_failures_;
  PushResultLocked(true);
  const auto calls = static_cast<double>(window_.size());
  const bool ratio_tripped =
      window_.size() >= static_cast<std::size_t>(config_.window_min_calls) &&
      static_cast<double>(window_failures_) >= config_.failure_ratio * calls;
  if (consecutive_failures_ >= config_.failure_threshold || ratio_tripped) {
    TransitionLocked(BreakerState::kOpen);
  }
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::chrono::milliseconds CircuitBreaker::RemainingOpen() const {
  std::lock_guard lock(mu_);
  if (state_ != BreakerState::kOpen) return std::chrono::milliseconds(0);
  auto now = clock_();
  if (now >= open_until_) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(open_until_ - now);
}

}  // namespace realdid::ctid
