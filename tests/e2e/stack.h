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
  // Extra environment for the authority process, e.g. "REALDID_SERVER_REQUEST_TIMEOUT=2s"
  // (configuration overrides, authority/config.h).
  std::vector<std::string> authority_env;
  // Start the operator/auditor listener ([admin], mutual TLS) with an internal client CA made by
  // scripts/pki.sh; IssueClientCert() then issues and enrols client certificates.
  bool admin = false;
};

// A client certificate issued by the stack's internal CA (scripts/pki.sh): PEM files, key 0600.
struct ClientCert {
  std::string cert_file;
  std::string key_file;
};

// A finished child process: exit code (-1 when ended by a signal) and its captured output.
struct RunResult {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] is a path) to completion with stdout and stderr captured separately through
// files in `scratch` (stdin from `in_file` when given). One call at a time per scratch folder.
RunResult RunCli(const std::vector<std::string>& argv, const std::filesystem::path& scratch,
                 const std::string& in_file = {});

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

  // The stack's PostgreSQL cluster and SoftHSM2 directory (fault tests stop/start them).
  PgHarness& pg() const noexcept { return *pg_; }
  SoftHsmHarness& softhsm() const noexcept { return *softhsm_; }
  // Kills the authority with `sig` (SIGKILL: no cleanup at all) and waits for it; then
  // StartAuthority() brings it up again with the same configuration, port and URL.
  void KillAuthority(int sig);
  void StartAuthority();
  // A further authority process with the same configuration (database, token, keys) on its own
  // port; returns its URL. Stopped with the stack.
  std::string StartExtraAuthority();

  // --- operator/auditor API (options.admin) ---
  // https://127.0.0.1:<port> of the admin listener (empty without options.admin).
  const std::string& admin_url() const noexcept { return admin_url_; }
  // The internal CA that issues operator/auditor/administrator certificates (PEM; its key is
  // next to it). The warrant component may trust the same file.
  std::string client_ca_file() const { return (dir_ / "pki" / "ca.pem").string(); }
  // libpq connection string of realdid_owner (0600), for scripts/pki.sh add / realdid-admin.
  std::string owner_dsn_file() const { return (dir_ / "owner-dsn").string(); }
  // Issues a client certificate with CN `cn` from the internal CA (scripts/pki.sh issue) into
  // <dir>/certs/<cn>.{pem,key}; when role is "operator", "auditor" or "administrator" also enrols
  // it as a principal (scripts/pki.sh add -> realdid-admin); an empty role only issues it.
  // Throws std::runtime_error with the tool's output on failure.
  ClientCert IssueClientCert(const std::string& role, const std::string& cn) const;
  // TLS options for the admin listener: trusts the stack CA, presents `cert` (none when null).
  wallet::HttpsOptions AdminTls(const ClientCert* cert) const;
  // Path of a file in the source tree (REALDID_SOURCE_DIR/<rel>).
  static std::string SourcePath(const std::string& rel);

  std::string AuthorityLog() const;
  std::string CtidLog() const;

  // Path of a binary in the build tree (REALDID_BINARY_DIR/<rel>).
  static std::string Binary(const std::string& rel);
  // argv of `realdid wallet issue` for CTID resident `index` against this stack, wallet to `out`.
  std::vector<std::string> WalletIssueArgv(std::uint64_t index, const std::string& out) const;

 private:
  StackOptions options_;
  std::filesystem::path dir_;
  std::unique_ptr<SoftHsmHarness> softhsm_;
  std::unique_ptr<PgHarness> pg_;
  std::unique_ptr<ChildProcess> ctid_;
  std::unique_ptr<ChildProcess> authority_;
  std::vector<std::unique_ptr<ChildProcess>> extra_authorities_;
  std::string authority_url_;
  std::string ctid_url_;
  std::string admin_url_;
};

}  // namespace realdid::testing
