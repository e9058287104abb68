// ReadinessChecks: named probes (HSM ping, database ping, ...) evaluated for GET /readyz.
//
// Each probe runs on its own thread with its own timeout; a probe passes when it returns and fails
// when it throws or does not finish in time. A probe still running from an earlier evaluation is
// not started again: this evaluation waits for that run (within its own timeout), so a hung
// dependency cannot pile up threads. Failure details are logged (realdid::Error detail only; never
// sent to clients); the result names only the failed checks. The destructor waits for probes still
// running. Thread-safety: Add() before serving; Run() may be called concurrently from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace realdid::authority {

class ReadinessChecks {
 public:
  using Probe = std::function<void()>;  // throws on failure

  struct Result {
    bool ready = true;
    std::vector<std::string> failed;  // names of failed checks, in registration order
  };

  ReadinessChecks() = default;
  ~ReadinessChecks();
  ReadinessChecks(const ReadinessChecks&) = delete;
  ReadinessChecks& operator=(const ReadinessChecks&) = delete;

  void Add(std::string name, Probe probe, std::chrono::milliseconds timeout);
  Result Run();
  std::vector<std::string> names() const;

 private:
  struct Check;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Check>> checks_;  // guarded by mu_ (the vector; Check has its own)
};

}  // namespace realdid::authority
