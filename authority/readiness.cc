#include "authority/readiness.h"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <thread>

#include "authority/log.h"
#include "core/error.h"

namespace realdid::authority {

struct ReadinessChecks::Check {
  std::string name;
  Probe probe;
  std::chrono::milliseconds timeout{};

  std::mutex mu;
  std::condition_variable cv;
  bool running = false;          // guarded by mu
  std::uint64_t generation = 0;  // guarded by mu; bumps when a run finishes
  bool last_ok = false;          // guarded by mu
  std::thread worker;            // guarded by mu
};

ReadinessChecks::~ReadinessChecks() {
  std::vector<std::shared_ptr<Check>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  for (auto& c : checks) {
    std::thread t;
    {
      std::lock_guard lock(c->mu);
      t = std::move(c->worker);
    }
    if (t.joinable()) t.join();
  }
}

void ReadinessChecks::Add(std::string name, Probe probe, std::chrono::milliseconds timeout) {
  auto c = std::make_shared<Check>();
  c->name = std::move(name);
  c->probe = std::move(probe);
  c->timeout = timeout;
  std::lock_guard lock(mu_);
  checks_.push_back(std::move(c));
}

std::vector<std::string> ReadinessChecks::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& c : checks_) out.push_back(c->name);
  return out;
}

ReadinessChecks::Result ReadinessChecks::Run() {
  std::vector<std::shared_ptr<Check>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  // Start every probe that is not still running, then wait for each against its own deadline.
  auto start = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> started_gen(checks.size(), 0);
  for (std::size_t i = 0; i < checks.size(); ++i) {
    Check& c = *checks[i];
    std::unique_lock lock(c.mu);
    started_gen[i] = c.generation;
    if (c.running) continue;                   // join the evaluation already in progress
    if (c.worker.joinable()) c.worker.join();  // finished earlier; reap it
    c.running = true;
    std::shared_ptr<Check> keep = checks[i];
    c.worker = std::thread([keep] {
      bool ok = false;
      try {
        keep->probe();
        ok = true;
      } catch (const Error& e) {
        LogWarn("readiness check failed",
                {{"check", keep->name}, {"kind", ErrorKindName(e.kind())}, {"detail", e.detail()}});
      } catch (...) {
        LogWarn("readiness check failed", {{"check", keep->name}, {"kind", "unexpected"}});
      }
      std::lock_guard done(keep->mu);
      keep->running = false;
      keep->last_ok = ok;
      ++keep->generation;
      keep->cv.notify_all();
    });
  }
  Result result;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    Check& c = *checks[i];
    bool ok = false;
    {
      std::unique_lock lock(c.mu);
      bool finished =
          c.cv.wait_until(lock, start + c.timeout, [&] { return c.generation != started_gen[i]; });
      ok = finished && c.last_ok;
      if (!finished) LogWarn("readiness check timed out", {{"check", c.name}});
    }
    if (!ok) {
      result.ready = false;
      result.failed.push_back(c.name);
    }
  }
  return result;
}

}  // namespace realdid::authority
