#include "tests/warrant/warrant_harness.h"

#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "core/base64url.h"
#include "core/hash.h"

namespace realdid::testing {

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::filesystem::path& p, const std::string& s, int mode) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
  std::filesystem::permissions(p, static_cast<std::filesystem::perms>(mode));
}

WarrantHarness::WarrantHarness(E2eStack& stack, const std::vector<std::string>& auditor_names,
                               std::size_t genesis_count, int approvals)
    : stack_(stack) {
  if (!stack.options().admin) throw std::runtime_error("WarrantHarness needs StackOptions::admin");
  const std::filesystem::path& dir = stack.dir();
  for (const std::string& n : auditor_names) auditors_.push_back(MakeAuditor(n));

  json::Array list;
  for (std::size_t i = 0; i < genesis_count && i < auditors_.size(); ++i) {
    json::Value e = json::Object{};
    e.set("label", auditors_[i].name);
    e.set("cert_sha256", CertSha256(auditors_[i]));
    e.set("public_jwk", auditors_[i].jwk);
    list.push_back(std::move(e));
  }
  json::Value roster = json::Object{};
  roster.set("v", 1);
  roster.set("auditors", std::move(list));
  WriteFile(dir / "genesis-roster.json", json::Serialize(roster), 0644);

  WriteFile(dir / "warrant-db-dsn", std::string(stack.pg().Dsn(PgRole::kWarrant).reveal_string()));
  std::ostringstream ini;
  ini << "[server]\nlisten_address = 127.0.0.1\nport = 0\n"
      << "tls_cert_file = " << (dir / "authority.pem").string() << "\n"
      << "tls_key_file = " << (dir / "authority.key").string() << "\n"
      << "tls_ca_file = " << stack.client_ca_file() << "\n"
      << "drain_timeout = 2s\n"
      << "[db]\ndsn_file = " << (dir / "warrant-db-dsn").string() << "\n"
      << "[hsm]\nmodule_path = " << SoftHsmHarness::ModulePath() << "\n"
      << "token_label = realdid-escrow\npin_file = " << (dir / "hsm-pin").string() << "\n"
      << "keys_manifest = " << stack.keys_manifest() << "\n"
      << "[identity]\ntoken_label = realdid-issuance\npin_file = " << (dir / "hsm-pin").string()
      << "\n"
      << "[warrant]\napprovals = " << approvals << "\n[log]\nlevel = info\n";
  WriteFile(dir / "warrant.ini", ini.str(), 0644);

  RunResult g = Genesis();
  if (g.rc != 0) throw std::runtime_error("genesis: " + g.err);
  genesis_output_ = g.out + g.err;

  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{E2eStack::Binary("warrant/realdid-warrant"), "--config",
                               (dir / "warrant.ini").string()},
      log_file());
  std::string line = process_->ReadLine();
  if (line.rfind("warrant https://", 0) != 0) {
    throw std::runtime_error("realdid-warrant did not start: " + line + "\n" + Slurp(log_file()));
  }
  url_ = line.substr(8);
}

WarrantHarness::~WarrantHarness() = default;

RunResult WarrantHarness::Genesis() const {
  return RunCli({E2eStack::Binary("warrant/realdid-warrant"), "--config",
                 (stack_.dir() / "warrant.ini").string(), "--genesis-roster",
                 (stack_.dir() / "genesis-roster.json").string()},
                stack_.dir());
}

std::string WarrantHarness::Stop() {
  if (!process_) return {};
  process_->Stop();
  std::string rest;
  for (std::string line = process_->ReadLine(); !line.empty(); line = process_->ReadLine()) {
    rest += line + "\n";
  }
  process_.reset();
  return rest;
}

std::vector<std::string> WarrantHarness::Conn(const Auditor& a) const {
  return {"--url", url_, "--ca", stack_.ca_file(), "--cert", a.cert.cert_file, "--key",
          a.cert.key_file};
}

std::vector<std::string> WarrantHarness::TokenArgs(const Auditor& a) const {
  return {"--module", SoftHsmHarness::ModulePath(), "--token", a.token, "--pin-file",
          (stack_.dir() / "hsm-pin").string()};
}

RunResult WarrantHarness::Tool(const std::string& cmd,
                               const std::vector<std::vector<std::string>>& parts) const {
  std::vector<std::string> argv = {E2eStack::Binary("tools/auditor/realdid-auditor"), cmd};
  for (const auto& p : parts) argv.insert(argv.end(), p.begin(), p.end());
  return RunCli(argv, stack_.dir());
}

Auditor WarrantHarness::MakeAuditor(const std::string& name) const {
  Auditor a;
  a.name = name;
  a.cert = stack_.IssueClientCert("auditor", name);
  a.token = "auditor-" + name;
  stack_.softhsm().InitToken(a.token);
  RunResult r = Tool("keygen", {TokenArgs(a)});
  if (r.rc != 0) throw std::runtime_error("keygen: " + r.err);
  a.jwk = json::Parse(r.out.substr(0, r.out.find('\n')));
  return a;
}

std::string WarrantHarness::CertSha256(const Auditor& a) const {
  RunResult r = Tool("cert-sha256", {{a.cert.cert_file}});
  if (r.rc != 0) throw std::runtime_error("cert-sha256: " + r.err);
  return r.out.substr(0, r.out.find('\n'));
}

std::unique_ptr<wallet::HttpsClient> WarrantHarness::Client(const std::string& cert,
                                                            const std::string& key) const {
  wallet::HttpsOptions o;
  o.ca_file = stack_.ca_file();
  o.client_cert_file = cert;
  o.client_key_file = key;
  return std::make_unique<wallet::HttpsClient>(url_, o);
}

std::unique_ptr<wallet::HttpsClient> WarrantHarness::Client(const Auditor& a) const {
  return Client(a.cert.cert_file, a.cert.key_file);
}

std::int64_t WarrantHarness::File(const Auditor& author, const json::Value& scope,
                                  const std::string& action, std::int64_t ttl) const {
  json::Value body = json::Object{};
  body.set("legal_basis", "Criminal Procedure Law art. 152");
  body.set("case_reference", "CASE-2026-0001");
  body.set("scope", scope);
  body.set("action", action);
  body.set("expires_at", Now() + ttl);
  wallet::HttpResponse r = Client(author)->Post("/v1/warrants", json::Serialize(body));
  if (r.status != 201) throw std::runtime_error("file: " + std::to_string(r.status) + r.body);
  return json::Parse(r.body).at("id").as_int();
}

RunResult WarrantHarness::Approve(const Auditor& a, std::int64_t id) const {
  return Tool("approve", {Conn(a), TokenArgs(a), {std::to_string(id)}});
}

void WarrantHarness::ApproveBy(std::int64_t id, std::initializer_list<std::size_t> who) const {
  for (std::size_t i : who) {
    RunResult r = Approve(auditors_.at(i), id);
    if (r.rc != 0) {
      throw std::runtime_error("approval of warrant " + std::to_string(id) + " by " +
                               auditors_.at(i).name + ": " + r.err);
    }
  }
}

wallet::HttpResponse WarrantHarness::Execute(const Auditor& a, std::int64_t id,
                                             const std::optional<std::string>& credential) const {
  json::Value body = json::Object{};
  if (credential) body.set("credential", *credential);
  return Client(a)->Post("/v1/warrants/" + std::to_string(id) + "/execute", json::Serialize(body));
}

std::string WarrantHarness::CredentialHash(std::string_view sd_jwt) {
  return b64url::Encode(hash::Sha256(sd_jwt.substr(0, sd_jwt.find('~'))));
}

json::Value WarrantHarness::CredentialScope(std::string_view sd_jwt) {
  json::Value s = json::Object{};
  s.set("credential_sha256", CredentialHash(sd_jwt));
  return s;
}

json::Value WarrantHarness::PersonScope(std::int64_t person_id) {
  json::Value s = json::Object{};
  s.set("person_id", person_id);
  return s;
}

std::int64_t WarrantHarness::Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace realdid::testing
