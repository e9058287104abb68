// PgHarness: a real, throwaway PostgreSQL 15 cluster for one test.
//
// The constructor runs initdb in a fresh temp folder, starts the server on a free TCP port of
// 127.0.0.1 (its unix socket inside the temp folder), and runs migrations/bootstrap/roles.sql as
// the cluster superuser with a random password per LOGIN role. Stop()/Start() take the same
// cluster down and up again (tests of outages). The destructor stops the server (pg_ctl stop -m
// fast) and deletes the folder; a watchdog process does the same (-m immediate) if the test
// binary dies without running destructors, so no server outlives the test.
// PostgreSQL refuses to run as root: when geteuid() == 0 the server runs as REALDID_PG_USER
// (default "realdid"; created with useradd --system if missing) through runuser.
// Authentication: the superuser "postgres" connects only through the private unix socket (trust;
// the socket folder is mode 0700); every other role over TCP with SCRAM-SHA-256 and its password,
// exactly as in production.
// Thread-safety: construct/Stop/Start/destroy from one thread; Dsn() may be called from any.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::testing {

enum class PgRole { kSuperuser, kOwner, kAuthority, kWarrant };

class PgHarness {
 public:
  // Throws std::runtime_error (with the tail of the relevant log) when the cluster cannot start.
  PgHarness();
  ~PgHarness();
  PgHarness(const PgHarness&) = delete;
  PgHarness& operator=(const PgHarness&) = delete;

  void Stop();   // pg_ctl stop -m fast
  void Start();  // pg_ctl start, same data directory and port
  bool running() const noexcept { return running_; }

  std::uint16_t port() const noexcept { return port_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  // The server's own log file (pg_ctl -l), e.g. for statement-logging checks.
  std::filesystem::path server_log() const { return dir_ / "server.log"; }
  // libpq connection string for a role on the test database "realdid" (the superuser's goes
  // through the unix socket).
  Secret Dsn(PgRole role) const;
  // A pool for a role (connect timeout 2 s, short backoff).
  std::unique_ptr<db::Pool> MakePool(PgRole role, std::size_t size = 2) const;
  // Applies the migrations in dir (default: the repository's migrations/) as realdid_owner.
  void Migrate(const std::filesystem::path& dir = RepoMigrationsDir()) const;

  static std::filesystem::path RepoMigrationsDir();

 private:
  void RunOrThrow(const std::string& what, const std::vector<std::string>& argv,
                  const std::vector<std::string>& extra_env, bool as_pg_user) const;
  void WriteServerConfig() const;
  void StartWatchdog();
  void Cleanup() noexcept;

  std::filesystem::path dir_;
  std::filesystem::path data_;
  std::filesystem::path socket_dir_;
  std::filesystem::path log_;  // initdb/pg_ctl/psql output
  std::uint16_t port_ = 0;
  bool running_ = false;
  std::string run_as_;  // empty unless root
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  Secret owner_password_;
  Secret authority_password_;
  Secret warrant_password_;
  int watchdog_fd_ = -1;
  pid_t watchdog_pid_ = -1;
};

}  // namespace realdid::testing
