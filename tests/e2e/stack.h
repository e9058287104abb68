// E2eStack: the whole RealDID stack for end-to-end tests, from real parts only:
//  - a throwaway PostgreSQL 15 cluster with the migrations applied (tests/support/pg_harness.h);
//  - a SoftHSM2 token directory with an issuance and an escrow token, keys made by the real
//    `realdid-ceremony` binary (tests/support/softhsm_harness.h);
//  - throwaway TLS material: a CA, a server certificate for the authority and one for ctid-sim, a
//    client certificate for the authority -> CTID mutual TLS (and for ctid-sim's control endpoint);
//  - the real `ctid-sim` and `realdid-authority` binaries, started as child processes with a
//    generated configuration; each prints its URL on stdout, logs go to files in the stack folder.
// Everything is torn down (SIGTERM, then SIGKILL) when the stack is destroyed.
// Thread-safety: construct and destroy on the test's main thread; accessors are const.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/pg_harness.h"
#include "tests/support/softhsm_harness.h"
#include "wallet/client.h"
#include "wallet/https_client.h"

namespace realdid::testing {

// A child process with its stdout first line read; stopped with SIGTERM on destruction.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& stderr_log,
               const std::vector<std::string>& extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Reads one stdout line (blocking; empty at EOF).
  std::string ReadLine();
  pid_t pid() const noexcept { return pid_; }
  // SIGTERM, wait; returns the exit status (or -1).
  int Stop();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

struct StackOptions {
  int rsa_bits = 3072;
  int k = 32;
  int min_k = 16;
  std::uint64_t ctid_population = 100000;
};

class E2eStack {
 public:
  explicit E2eStack(StackOptions options = {});
  ~E2eStack();
  E2eStack(const E2eStack&) = delete;
  E2eStack& operator=(const E2eStack&) = delete;

  const std::filesystem::path& dir() const noexcept { return dir_; }
  const std::string& authority_url() const noexcept { return authority_url_; }
  const std::string& ctid_url() const noexcept { return ctid_url_; }
  std::string ca_file() const { return (dir_ / "ca.pem").string(); }
  std::string keys_manifest() const { return (dir_ / "keys" / "keys.json").string(); }
  pid_t authority_pid() const noexcept { return authority_ ? authority_->pid() : -1; }
  const StackOptions& options() const noexcept { return options_; }

  wallet::HttpsOptions AuthorityTls() const;
  wallet::HttpsOptions CtidTls() const;
  // The client certificate that ctid-sim's control endpoint requires.
  wallet::HttpsOptions CtidControlTls() const;
  // POST /v1/sim/control {"failure_percent":p}.
  void SetCtidFailurePercent(int percent) const;

  std::string AuthorityLog() const;
  std::string CtidLog() const;

  // Path of a binary in the build tree (REALDID_BINARY_DIR/<rel>).
  static std::string Binary(const std::string& rel);

 private:
  StackOptions options_;
  std::filesystem::path dir_;
  std::unique_ptr<SoftHsmHarness> softhsm_;
  std::unique_ptr<PgHarness> pg_;
  std::unique_ptr<ChildProcess> ctid_;
  std::unique_ptr<ChildProcess> authority_;
  std::string authority_url_;
  std::string ctid_url_;
};

}  // namespace realdid::testing
