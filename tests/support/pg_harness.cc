#include "tests/support/pg_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "db/migrate.h"

extern char** environ;

namespace realdid::testing {
namespace {

const std::string kPgBin = "/usr/lib/postgresql/15/bin/";
const char* kRunuser = "/usr/sbin/runuser";

std::string Tail(const std::filesystem::path& file, std::size_t max = 3000) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("pg harness: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("pg harness: cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string RandomPassword() { return ToHex(RandomBytes(16)); }

// Single-quoted for a libpq conninfo string.
std::string Quote(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// Single-quoted for /bin/sh (paths made by mkdtemp hold no quote, but be exact anyway).
std::string ShQuote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::filesystem::path SourceDir() {
  if (const char* env = std::getenv("REALDID_SOURCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef REALDID_DEFAULT_SOURCE_DIR
  return REALDID_DEFAULT_SOURCE_DIR;
#else
  return std::filesystem::current_path();
#endif
}

}  // namespace

std::filesystem::path PgHarness::RepoMigrationsDir() { return SourceDir() / "migrations"; }

void PgHarness::RunOrThrow(const std::string& what, const std::vector<std::string>& argv_in,
                           const std::vector<std::string>& extra_env, bool as_pg_user) const {
  std::vector<std::string> argv;
  if (as_pg_user && !run_as_.empty()) argv = {kRunuser, "-u", run_as_, "--"};
  argv.insert(argv.end(), argv_in.begin(), argv_in.end());
  // Everything the child needs is built before fork (no allocation after it).
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const auto& e : extra_env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string log = log_.string();
  const std::string cwd = dir_.string();

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("pg harness: fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("pg harness: " + what + " failed (status " +
                             std::to_string(status) + "); log tail:\n" + Tail(log_));
  }
}

void PgHarness::WriteServerConfig() const {
  std::ofstream conf(data_ / "realdid_test.conf", std::ios::trunc);
  conf << "listen_addresses = '127.0.0.1'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = '" << socket_dir_.string() << "'\n"
       << "unix_socket_permissions = 0700\n"
       << "password_encryption = 'scram-sha-256'\n"
       << "max_connections = 40\n"
       << "shared_buffers = 16MB\n"
       << "fsync = off\n"
       << "synchronous_commit = off\n"
       << "full_page_writes = off\n"
       << "log_min_messages = warning\n";
}

void PgHarness::StartWatchdog() {
  // The watchdog reads a pipe whose only writer is this process (O_CLOEXEC: postgres does not
  // inherit it). EOF without "done" means we died without cleaning up: it stops the server.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pg harness: pipe2 failed");
  std::string stop = (run_as_.empty() ? std::string() : std::string(kRunuser) + " -u " +
                                                            ShQuote(run_as_) + " -- ") +
                     kPgBin + "pg_ctl -D " + ShQuote(data_.string()) + " -m immediate -w stop";
  std::string script = "read -r line; if [ \"$line\" != done ]; then " + stop +
                       " >/dev/null 2>&1; rm -rf " + ShQuote(dir_.string()) + "; fi";
  std::vector<std::string> argv = {"/bin/sh", "-c", script};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("pg harness: fork failed");
  if (pid == 0) {
    ::setsid();  // survive a kill of the test's process group
    ::dup2(fds[0], STDIN_FILENO);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
    }
    ::execve(args[0], args.data(), environ);
    ::_exit(127);
  }
  ::close(fds[0]);
  watchdog_fd_ = fds[1];
  watchdog_pid_ = pid;
}

PgHarness::PgHarness() {
  if (::geteuid() == 0) {
    const char* env = std::getenv("REALDID_PG_USER");
    run_as_ = (env != nullptr && *env != '\0') ? env : "realdid";
    if (::getpwnam(run_as_.c_str()) == nullptr) {
      // Another test process may create it at the same moment: only the re-check below counts.
      const std::string cmd = "useradd --system --no-create-home --shell /usr/sbin/nologin " +
                              ShQuote(run_as_) + " >/dev/null 2>&1";
      [[maybe_unused]] const int rc = std::system(cmd.c_str());
    }
    const passwd* pw = ::getpwnam(run_as_.c_str());
    if (pw == nullptr) {
      throw std::runtime_error("pg harness: running as root, PostgreSQL needs an unprivileged user "
                               "and user '" + run_as_ + "' does not exist (useradd failed); create "
                               "it or set REALDID_PG_USER");
    }
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }

  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                      "/realdid-pg-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("pg harness: mkdtemp failed");
  dir_ = templ;
  data_ = dir_ / "data";
  socket_dir_ = dir_ / "sock";
  log_ = dir_ / "harness.log";
  try {
    StartWatchdog();  // from here on, a crash of the test binary still cleans up
    std::filesystem::create_directory(socket_dir_);
    ::chmod(socket_dir_.c_str(), 0700);
    if (!run_as_.empty()) {
      if (::chown(dir_.c_str(), uid_, gid_) != 0 || ::chown(socket_dir_.c_str(), uid_, gid_) != 0) {
        throw std::runtime_error("pg harness: chown of the temp folder failed");
      }
    }
    RunOrThrow("initdb",
               {kPgBin + "initdb", "-D", data_.string(), "-U", "postgres", "--auth-local=trust",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"},
               {}, true);
    {
      std::ofstream conf(data_ / "postgresql.conf", std::ios::app);
      conf << "\ninclude 'realdid_test.conf'\n";
    }
    // The port is free when we look; another process could take it before the server binds it.
    for (int attempt = 1;; ++attempt) {
      port_ = FreePort();
      WriteServerConfig();
      try {
        Start();
        break;
      } catch (const std::exception&) {
        if (attempt >= 3) throw;
      }
    }
    owner_password_ = Secret::FromString(RandomPassword());
    authority_password_ = Secret::FromString(RandomPassword());
    warrant_password_ = Secret::FromString(RandomPassword());
    const std::string roles = (SourceDir() / "migrations" / "bootstrap" / "roles.sql").string();
    RunOrThrow("bootstrap roles.sql",
               {kPgBin + "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socket_dir_.string(),
                "-p", std::to_string(port_), "-U", "postgres", "-d", "postgres", "-f", roles},
               {"REALDID_OWNER_PASSWORD=" + std::string(owner_password_.reveal_string()),
                "REALDID_AUTHORITY_PASSWORD=" + std::string(authority_password_.reveal_string()),
                "REALDID_WARRANT_PASSWORD=" + std::string(warrant_password_.reveal_string())},
               false);
  } catch (...) {
    Cleanup();
    throw;
  }
}

PgHarness::~PgHarness() { Cleanup(); }

void PgHarness::Cleanup() noexcept {
  if (running_) {
    try {
      Stop();
    } catch (...) {
      // Fall through: the watchdog stops it with -m immediate.
    }
  }
  if (!running_ && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (watchdog_fd_ >= 0) {
      [[maybe_unused]] const ssize_t n = ::write(watchdog_fd_, "done\n", 5);
    }
  }
  if (watchdog_fd_ >= 0) {
    ::close(watchdog_fd_);  // EOF: the watchdog exits (or cleans up if we did not)
    watchdog_fd_ = -1;
  }
  if (watchdog_pid_ > 0) {
    int status = 0;
    while (::waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
    }
    watchdog_pid_ = -1;
  }
  dir_.clear();
}

void PgHarness::Start() {
  RunOrThrow("pg_ctl start",
             {kPgBin + "pg_ctl", "-D", data_.string(), "-l", (dir_ / "server.log").string(), "-w",
              "-t", "60", "start"},
             {}, true);
  running_ = true;
}

void PgHarness::Stop() {
  RunOrThrow("pg_ctl stop", {kPgBin + "pg_ctl", "-D", data_.string(), "-m", "fast", "-w", "-t",
                             "60", "stop"},
             {}, true);
  running_ = false;
}

Secret PgHarness::Dsn(PgRole role) const {
  const std::string common = " dbname=realdid connect_timeout=2 application_name=realdid-test";
  switch (role) {
    case PgRole::kSuperuser:
      return Secret::FromString("host=" + Quote(socket_dir_.string()) +
                                " port=" + std::to_string(port_) + " user=postgres" + common);
    case PgRole::kOwner:
      return Secret::FromString("host=127.0.0.1 port=" + std::to_string(port_) +
                                " user=realdid_owner password=" +
                                Quote(owner_password_.reveal_string()) + common);
    case PgRole::kAuthority:
      return Secret::FromString("host=127.0.0.1 port=" + std::to_string(port_) +
                                " user=realdid_authority password=" +
                                Quote(authority_password_.reveal_string()) + common);
    case PgRole::kWarrant:
      return Secret::FromString("host=127.0.0.1 port=" + std::to_string(port_) +
                                " user=realdid_warrant password=" +
                                Quote(warrant_password_.reveal_string()) + common);
  }
  throw std::logic_error("pg harness: unknown role");
}

std::unique_ptr<db::Pool> PgHarness::MakePool(PgRole role, std::size_t size) const {
  db::PoolConfig config;
  config.dsn = Dsn(role);
  config.size = size;
  config.connect_timeout_seconds = 2;
  config.acquire_timeout = std::chrono::seconds(10);
  config.backoff_base = std::chrono::milliseconds(5);
  config.backoff_max = std::chrono::milliseconds(100);
  return std::make_unique<db::Pool>(std::move(config));
}

void PgHarness::Migrate(const std::filesystem::path& dir) const {
  auto pool = MakePool(PgRole::kOwner, 1);
  db::Migrator(*pool, dir).Apply();
}

}  // namespace realdid::testing
