// Clock: where the issuance service reads "now" (Unix seconds, UTC). Injected everywhere so tests
// control time (session expiry, lockouts, the issuance day). SystemClock reads the real clock.
// Thread-safety: implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace realdid::issuance {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t Now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace realdid::issuance
