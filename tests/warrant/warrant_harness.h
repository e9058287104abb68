// WarrantHarness: the real warrant component next to an E2eStack, for end-to-end tests (the
// warrant e2e test, the privacy e2e test). It enrols auditors (a client certificate from the
// stack's internal CA with role "auditor", a SoftHSM2 token of their own in the stack's token
// directory and a P-256 key made in it by the real `realdid-auditor keygen`), writes a genesis
// roster of the first ones and the component's configuration (listener with mutual TLS against
// the internal CA, the realdid_warrant database role, the escrow and issuance tokens), loads the
// roster with `realdid-warrant --genesis-roster` and starts `realdid-warrant` as a child process
// (stdout: its URL; stderr: <stack dir>/warrant.log). Requests go over HTTPS with an auditor's
// certificate, approvals through `realdid-auditor approve` (a signature by the auditor's token).
// Thread-safety: construct, use and destroy on the test's main thread (RunCli shares one scratch
// pair of files in the stack folder).
// Security contract: test-only; keys and PINs are the throwaway ones of the stack.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "tests/e2e/stack.h"
#include "wallet/https_client.h"

namespace realdid::testing {

// The whole content of a file (empty when it cannot be read).
std::string Slurp(const std::filesystem::path& p);
// Replaces a file with `s` and sets its permission bits to `mode`.
void WriteFile(const std::filesystem::path& p, const std::string& s, int mode = 0600);

struct Auditor {
  std::string name;
  ClientCert cert;
  std::string token;  // SoftHSM2 token label
  json::Value jwk;    // public key of the approval key in the token
};

class WarrantHarness {
 public:
  // Enrols one auditor per name, puts the first `genesis_count` on the genesis roster (M =
  // `approvals`), runs genesis and starts the component. `stack` must have options().admin and
  // outlive the harness. Throws std::runtime_error with the tools' output on failure.
  WarrantHarness(E2eStack& stack, const std::vector<std::string>& auditor_names,
                 std::size_t genesis_count, int approvals = 2);
  ~WarrantHarness();
  WarrantHarness(const WarrantHarness&) = delete;
  WarrantHarness& operator=(const WarrantHarness&) = delete;

  const std::string& url() const noexcept { return url_; }
  const std::vector<Auditor>& auditors() const noexcept { return auditors_; }
  const Auditor& auditor(std::size_t i) const { return auditors_.at(i); }
  std::filesystem::path log_file() const { return stack_.dir() / "warrant.log"; }
  // `realdid-warrant --genesis-roster` with the harness's roster (a second one must fail).
  RunResult Genesis() const;
  // What the constructor's genesis run wrote (stdout, then stderr).
  const std::string& genesis_output() const noexcept { return genesis_output_; }
  // SIGTERM and wait (the log is complete afterwards); returns what the process still wrote on
  // stdout after its URL line. Idempotent.
  std::string Stop();

  // An auditor's TLS arguments / token arguments for realdid-auditor.
  std::vector<std::string> Conn(const Auditor& a) const;
  std::vector<std::string> TokenArgs(const Auditor& a) const;
  // `realdid-auditor <cmd> <parts...>`, run to completion.
  RunResult Tool(const std::string& cmd, const std::vector<std::vector<std::string>>& parts) const;
  // SHA-256 of an auditor's certificate as the roster holds it (realdid-auditor cert-sha256).
  std::string CertSha256(const Auditor& a) const;

  // An HTTPS client to the component presenting `cert`/`key` (none when empty).
  std::unique_ptr<wallet::HttpsClient> Client(const std::string& cert, const std::string& key) const;
  std::unique_ptr<wallet::HttpsClient> Client(const Auditor& a) const;

  // Files a warrant as `author` (POST /v1/warrants); returns its id. Throws on a non-201 answer.
  std::int64_t File(const Auditor& author, const json::Value& scope,
                    const std::string& action = "resolve", std::int64_t ttl = 3600) const;
  // realdid-auditor approve, signed by the auditor's token.
  RunResult Approve(const Auditor& a, std::int64_t id) const;
  // Approvals by auditors(i) for each i; throws with the tool's stderr when one fails.
  void ApproveBy(std::int64_t id, std::initializer_list<std::size_t> who) const;
  // POST /v1/warrants/{id}/execute with an optional credential (presentation or issued form).
  wallet::HttpResponse Execute(const Auditor& a, std::int64_t id,
                               const std::optional<std::string>& credential) const;

  // The scope of a credential-scoped warrant: base64url SHA-256 of the issuer-signed JWT.
  static std::string CredentialHash(std::string_view sd_jwt);
  static json::Value CredentialScope(std::string_view sd_jwt);
  static json::Value PersonScope(std::int64_t person_id);
  static std::int64_t Now();

 private:
  Auditor MakeAuditor(const std::string& name) const;

  E2eStack& stack_;
  std::vector<Auditor> auditors_;
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
  std::string genesis_output_;
};

}  // namespace realdid::testing
