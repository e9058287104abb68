#include "authority/access_limiter.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"

namespace realdid::authority {

std::int64_t AccessLimiter::SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

AccessLimiter::AccessLimiter(AccessLimitSettings settings, NowMs now)
    : settings_(settings), now_(std::move(now)) {
  if (settings_.rate_per_minute < 1 || settings_.burst < 1 || settings_.max_sources < 1 ||
      settings_.ctid_failures < 1 || settings_.ctid_failure_window < 1 ||
      settings_.ctid_block < 1) {
    InvalidInput("access limits must be positive");
  }
  if (!now_) InvalidInput("access limiter: no clock");
}

AccessLimiter::Entry& AccessLimiter::Touch(std::string_view source, std::int64_t now) {
  auto it = entries_.find(std::string(source));
  if (it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  if (entries_.size() >= settings_.max_sources) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.emplace_front(source);
  Entry e;
  e.tokens = static_cast<double>(settings_.burst);
  e.refilled_ms = now;
  e.window_start_ms = now;
  e.lru = lru_.begin();
  return entries_.emplace(lru_.front(), e).first->second;
}

AccessLimiter::Decision AccessLimiter::Admit(std::string_view source) {
  if (!settings_.enabled) return {};
  const std::int64_t now = now_();
  std::lock_guard lock(mu_);
  Entry& e = Touch(source, now);
  if (e.blocked_until_ms > now) {
    const std::int64_t wait_ms = e.blocked_until_ms - now;
    return {false, static_cast<int>(std::max<std::int64_t>(1, (wait_ms + 999) / 1000)),
            "ctid_failures"};
  }
  const double per_ms = static_cast<double>(settings_.rate_per_minute) / 60000.0;
  if (now > e.refilled_ms) {
    e.tokens = std::min(static_cast<double>(settings_.burst),
                        e.tokens + static_cast<double>(now - e.refilled_ms) * per_ms);
    e.refilled_ms = now;
  }
  if (e.tokens >= 1.0) {
    e.tokens -= 1.0;
    return {};
  }
  const double wait_ms = (1.0 - e.tokens) / per_ms;
  const auto secs = static_cast<std::int64_t>(std::ceil(wait_ms / 1000.0));
  return {false, static_cast<int>(std::clamp<std::int64_t>(secs, 1, 86400)), "rate"};
}

void AccessLimiter::RecordCtidFailure(std::string_view source) {
  if (!settings_.enabled) return;
  const std::int64_t now = now_();
  std::lock_guard lock(mu_);
  Entry& e = Touch(source, now);
  if (now - e.window_start_ms >= settings_.ctid_failure_window * 1000) {
    e.window_start_ms = now;
    e.failures = 0;
  }
  ++e.failures;
  if (e.failures >= settings_.ctid_failures) {
    e.blocked_until_ms = now + settings_.ctid_block * 1000;
    e.failures = 0;
    e.window_start_ms = now;
  }
}

std::size_t AccessLimiter::tracked_sources() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace realdid::authority
