// AccessLimiter: per-source admission control on the public listener, in front of every request
// that can lead to a CTID call (nonce, session start, history), BRIEF sections 6 and issue 5.
//
// Two rules per source address (HttpRequest::peer_address, the TCP peer):
//  - a token bucket: `burst` requests at once, refilled at `rate_per_minute`; an empty bucket
//    answers 429 with Retry-After = seconds until the next token;
//  - a penalty box for failed real-name checks: `ctid_failures` failures (CTID said no, or the
//    nonce/token was bad) within `ctid_failure_window` block the source for `ctid_block`
//    seconds (429 with Retry-After), before any CTID call.
// Memory is bounded: at most max_sources sources are tracked; when full, the least recently seen
// source is forgotten (an attacker who controls more addresses than that is not limited per
// address anyway). State is in-process: each node limits on its own (documented in
// docs/operations.md; N nodes behind a load balancer admit up to N times the rate).
// Thread-safety: all member functions are thread-safe (one mutex; O(1) per call).
// Security contract: addresses are kept only in memory and never logged here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace realdid::authority {

struct AccessLimitSettings {
  bool enabled = true;
  std::int64_t rate_per_minute = 60;  // bucket refill (>= 1)
  std::int64_t burst = 20;            // bucket capacity (>= 1)
  std::size_t max_sources = 100000;   // tracked sources (>= 1)
  std::int64_t ctid_failures = 10;    // failures within the window that block the source (>= 1)
  std::int64_t ctid_failure_window = 600;  // seconds
  std::int64_t ctid_block = 900;           // seconds
};

class AccessLimiter {
 public:
  // Monotonic milliseconds; injected so tests control time.
  using NowMs = std::function<std::int64_t()>;
  static std::int64_t SteadyNowMs();

  // Throws Error(kInvalidInput) on non-positive settings.
  explicit AccessLimiter(AccessLimitSettings settings, NowMs now = &AccessLimiter::SteadyNowMs);

  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;       // >= 1 when refused
    std::string_view reason;           // "rate" | "ctid_failures" when refused
  };
  // Called before a request that may reach CTID: checks the penalty box, then takes a token.
  Decision Admit(std::string_view source);
  // A failed real-name check from this source.
  void RecordCtidFailure(std::string_view source);

  const AccessLimitSettings& settings() const noexcept { return settings_; }
  std::size_t tracked_sources() const;

 private:
  struct Entry {
    double tokens = 0;
    std::int64_t refilled_ms = 0;
    std::int64_t window_start_ms = 0;
    std::int64_t failures = 0;
    std::int64_t blocked_until_ms = 0;
    std::list<std::string>::iterator lru;
  };
  Entry& Touch(std::string_view source, std::int64_t now);  // requires mu_

  const AccessLimitSettings settings_;
  const NowMs now_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;                       // most recent first; guarded by mu_
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace realdid::authority
