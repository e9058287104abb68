#include "tests/e2e/stack.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/json.h"
#include "tests/authority/test_tls.h"

namespace realdid::testing {
namespace {

void WriteText(const std::filesystem::path& p, std::string_view content, mode_t mode) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  if (::chmod(p.c_str(), mode) != 0) throw std::runtime_error("chmod " + p.string());
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& stderr_log,
                           const std::vector<std::string>& extra_env) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    // A server child must not outlive the test binary, even when it aborts (sanitizers).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(p[1], STDOUT_FILENO);
    int err = ::open(stderr_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(p[1]);
  out_fd_ = p[0];
}

ChildProcess::~ChildProcess() {
  Stop();
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::string ChildProcess::ReadLine() {
  std::string line;
  char c = 0;
  while (::read(out_fd_, &c, 1) == 1) {
    if (c == '\n') return line;
    line.push_back(c);
  }
  return line;
}

int ChildProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {  // up to 30 s, then SIGKILL
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

std::string E2eStack::Binary(const std::string& rel) {
  std::filesystem::path base;
  if (const char* d = std::getenv("REALDID_BINARY_DIR"); d != nullptr && *d != '\0') {
    base = d;
  } else {
    base = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
  }
  return (base / rel).string();
}

E2eStack::E2eStack(StackOptions options) : options_(options) {
  char tmpl[] = "/tmp/realdid-e2e-XXXXXX";
  char* d = ::mkdtemp(tmpl);
  if (d == nullptr) throw std::runtime_error("mkdtemp");
  dir_ = d;

  // TLS: one CA; the authority's and ctid-sim's server certificates; the authority's client cert.
  EvpKeyPtr ca_key = NewP256Key();
  X509Ptr ca = MakeCert(ca_key.get(), "RealDID E2E CA", nullptr, nullptr, true, 1);
  WritePem(dir_ / "ca.pem", ca.get());
  long serial = 2;
  for (const char* name : {"authority", "ctid", "authority-client"}) {
    EvpKeyPtr k = NewP256Key();
    X509Ptr c = MakeCert(k.get(), name, ca.get(), ca_key.get(), false, serial++);
    WritePem(dir_ / (std::string(name) + ".pem"), c.get());
    WritePem(dir_ / (std::string(name) + ".key"), k.get());
    ::chmod((dir_ / (std::string(name) + ".key")).c_str(), 0600);
  }

  // HSM tokens and the real key ceremony.
  softhsm_ = std::make_unique<SoftHsmHarness>();
  softhsm_->InitToken("realdid-issuance");
  softhsm_->InitToken("realdid-escrow");
  WriteText(dir_ / "hsm-pin", std::string(SoftHsmHarness::kUserPin) + "\n", 0600);
  std::filesystem::create_directories(dir_ / "keys");
  std::string out;
  int rc = RunCommand({Binary("tools/ceremony/realdid-ceremony"), "--module",
                       SoftHsmHarness::ModulePath(), "--issuance-token", "realdid-issuance",
                       "--issuance-pin-file", (dir_ / "hsm-pin").string(), "--escrow-token",
                       "realdid-escrow", "--escrow-pin-file", (dir_ / "hsm-pin").string(), "--out",
                       (dir_ / "keys").string(), "--rsa-bits", std::to_string(options_.rsa_bits)},
                      &out);
  if (rc != 0) throw std::runtime_error("realdid-ceremony failed: " + out);

  // PostgreSQL with the migrations.
  pg_ = std::make_unique<PgHarness>();
  pg_->Migrate();
  Secret dsn = pg_->Dsn(PgRole::kAuthority);
  WriteText(dir_ / "db-dsn", dsn.reveal_string(), 0600);

  // ctid-sim.
  ctid_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{Binary("tools/ctid-sim/ctid-sim"), "--cert",
                               (dir_ / "ctid.pem").string(), "--key", (dir_ / "ctid.key").string(),
                               "--client-ca", (dir_ / "ca.pem").string(), "--listen",
                               "127.0.0.1:0", "--population",
                               std::to_string(options_.ctid_population)},
      dir_ / "ctid-sim.log");
  std::string line = ctid_->ReadLine();
  if (line.rfind("ctid-sim https://", 0) != 0) {
    throw std::runtime_error("ctid-sim did not start: '" + line + "'\n" + CtidLog());
  }
  ctid_url_ = line.substr(9);

  // realdid-authority.
  std::uint16_t port = FreePort();
  authority_url_ = "https://127.0.0.1:" + std::to_string(port);
  std::ostringstream ini;
  ini << "[server]\nlisten_address = 127.0.0.1\nport = " << port << "\n"
      << "tls_cert_file = " << (dir_ / "authority.pem").string() << "\n"
      << "tls_key_file = " << (dir_ / "authority.key").string() << "\n"
      << "max_body_bytes = 1048576\ndrain_timeout = 5s\n"
      << "[metrics]\nport = 0\n"
      << "[hsm]\nmodule_path = " << SoftHsmHarness::ModulePath() << "\n"
      << "token_label = realdid-issuance\npin_file = " << (dir_ / "hsm-pin").string() << "\n"
      << "keys_manifest = " << keys_manifest() << "\n"
      << "[db]\ndsn_file = " << (dir_ / "db-dsn").string() << "\n"
      << "[issuance]\niss = " << authority_url_ << "\nk = " << options_.k
      << "\nmin_k = " << options_.min_k << "\n"
      << "[ctid]\nbase_url = " << ctid_url_ << "\nca_file = " << ca_file() << "\n"
      << "client_cert_file = " << (dir_ / "authority-client.pem").string() << "\n"
      << "client_key_file = " << (dir_ / "authority-client.key").string() << "\n"
      << "[log]\nlevel = info\n"
      // Every test client comes from 127.0.0.1: per-source limits off by default in tests
      // (tests of the limits set REALDID_LIMITS_* through authority_env, which wins).
      << "[limits]\nburst = 100000\nrate_per_minute = 1000000\nctid_failures = 100000\n";
  if (options_.admin) {
    // The internal client CA (scripts/pki.sh) and the owner DSN that enrols principals.
    rc = RunCommand({SourcePath("scripts/pki.sh"), "init-ca", (dir_ / "pki").string(),
                     "RealDID E2E internal CA"},
                    &out);
    if (rc != 0) throw std::runtime_error("pki.sh init-ca failed: " + out);
    WriteText(owner_dsn_file(), pg_->Dsn(PgRole::kOwner).reveal_string(), 0600);
    std::filesystem::create_directories(dir_ / "certs");
    ini << "[admin]\nlisten_address = 127.0.0.1\nport = " << FreePort() << "\n"
        << "tls_cert_file = " << (dir_ / "authority.pem").string() << "\n"
        << "tls_key_file = " << (dir_ / "authority.key").string() << "\n"
        << "client_ca_file = " << client_ca_file() << "\n";
  }
  WriteText(dir_ / "authority.ini", ini.str(), 0644);
  StartAuthority();
}

void E2eStack::StartAuthority() {
  if (authority_) throw std::runtime_error("the authority is already running");
  authority_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{Binary("authority/realdid-authority"), "--config",
                               (dir_ / "authority.ini").string()},
      dir_ / "authority.log", options_.authority_env);
  std::string line = authority_->ReadLine();
  if (line.rfind("public https://", 0) != 0) {
    throw std::runtime_error("realdid-authority did not start: '" + line + "'\n" + AuthorityLog());
  }
  (void)authority_->ReadLine();  // metrics URL
  if (options_.admin) {
    line = authority_->ReadLine();
    if (line.rfind("admin https://", 0) != 0) {
      throw std::runtime_error("admin listener did not start: '" + line + "'\n" + AuthorityLog());
    }
    admin_url_ = line.substr(6);
  }
}

void E2eStack::KillAuthority(int sig) {
  if (!authority_) return;
  ::kill(authority_->pid(), sig);
  authority_.reset();  // waits (SIGTERM after the signal is harmless to a dead process)
}

std::string E2eStack::StartExtraAuthority() {
  std::uint16_t port = FreePort();
  std::vector<std::string> env = options_.authority_env;
  env.push_back("REALDID_SERVER_PORT=" + std::to_string(port));
  env.push_back("REALDID_ADMIN_PORT=");  // one admin listener per stack: the first authority's
  const std::filesystem::path log =
      dir_ / ("authority-" + std::to_string(extra_authorities_.size() + 2) + ".log");
  auto child = std::make_unique<ChildProcess>(
      std::vector<std::string>{Binary("authority/realdid-authority"), "--config",
                               (dir_ / "authority.ini").string()},
      log, env);
  std::string line = child->ReadLine();
  if (line.rfind("public https://", 0) != 0) {
    throw std::runtime_error("extra realdid-authority did not start: '" + line + "'\n" + Slurp(log));
  }
  (void)child->ReadLine();  // metrics URL
  extra_authorities_.push_back(std::move(child));
  return "https://127.0.0.1:" + std::to_string(port);
}

E2eStack::~E2eStack() {
  extra_authorities_.clear();
  authority_.reset();
  ctid_.reset();
  pg_.reset();
  softhsm_.reset();
  std::error_code ec;
  if (std::getenv("REALDID_KEEP_E2E") == nullptr) std::filesystem::remove_all(dir_, ec);
}

wallet::HttpsOptions E2eStack::AuthorityTls() const {
  wallet::HttpsOptions o;
  o.ca_file = ca_file();
  return o;
}
wallet::HttpsOptions E2eStack::CtidTls() const { return AuthorityTls(); }
wallet::HttpsOptions E2eStack::CtidControlTls() const {
  wallet::HttpsOptions o = AuthorityTls();
  o.client_cert_file = (dir_ / "authority-client.pem").string();
  o.client_key_file = (dir_ / "authority-client.key").string();
  return o;
}

void E2eStack::SetCtidFailurePercent(int percent) const {
  wallet::HttpsClient c(ctid_url_, CtidControlTls());
  wallet::HttpResponse r =
      c.Post("/v1/sim/control", "{\"failure_percent\":" + std::to_string(percent) + "}");
  if (r.status != 200) throw std::runtime_error("ctid-sim control: " + r.body);
}

std::string E2eStack::SourcePath(const std::string& rel) {
  std::filesystem::path base;
  if (const char* d = std::getenv("REALDID_SOURCE_DIR"); d != nullptr && *d != '\0') {
    base = d;
  } else {
    base = REALDID_E2E_SOURCE_DIR;
  }
  return (base / rel).string();
}

ClientCert E2eStack::IssueClientCert(const std::string& role, const std::string& cn) const {
  if (!options_.admin) throw std::runtime_error("IssueClientCert needs StackOptions::admin");
  const std::string prefix = (dir_ / "certs" / cn).string();
  std::string out;
  int rc = RunCommand({SourcePath("scripts/pki.sh"), "issue", (dir_ / "pki").string(), prefix, cn},
                      &out);
  if (rc != 0) throw std::runtime_error("pki.sh issue failed: " + out);
  ClientCert c{prefix + ".pem", prefix + ".key"};
  if (!role.empty()) {
    rc = RunCommand({"/usr/bin/env", "REALDID_ADMIN=" + Binary("tools/admin/realdid-admin"),
                     SourcePath("scripts/pki.sh"), "add", owner_dsn_file(), c.cert_file, role,
                     (dir_ / "pki").string()},
                    &out);
    if (rc != 0) throw std::runtime_error("pki.sh add failed: " + out);
  }
  return c;
}

wallet::HttpsOptions E2eStack::AdminTls(const ClientCert* cert) const {
  wallet::HttpsOptions o = AuthorityTls();
  if (cert != nullptr) {
    o.client_cert_file = cert->cert_file;
    o.client_key_file = cert->key_file;
  }
  return o;
}

std::string E2eStack::AuthorityLog() const { return Slurp(dir_ / "authority.log"); }
std::string E2eStack::CtidLog() const { return Slurp(dir_ / "ctid-sim.log"); }

RunResult RunCli(const std::vector<std::string>& argv, const std::filesystem::path& scratch,
                 const std::string& in_file) {
  auto out_p = scratch / "run.out";
  auto err_p = scratch / "run.err";
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(out_p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err_p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (!in_file.empty()) {
      int i = ::open(in_file.c_str(), O_RDONLY);
      ::dup2(i, 0);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out_p);
  r.err = Slurp(err_p);
  return r;
}

std::vector<std::string> E2eStack::WalletIssueArgv(std::uint64_t index,
                                                   const std::string& out) const {
  return {Binary("tools/realdid/realdid"), "wallet", "issue", "--authority", authority_url_,
          "--ca", ca_file(), "--ctid", ctid_url_, "--ctid-ca", ca_file(),
          "--resident", std::to_string(index), "--out", out};
}

}  // namespace realdid::testing
