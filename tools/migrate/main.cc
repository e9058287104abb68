// realdid-migrate: applies (or, with --status, lists) the schema migrations.
//
//   realdid-migrate [--dsn DSN | --dsn-file FILE] [--dir DIR] [--status]
//
// The DSN (libpq connection string of realdid_owner) comes from --dsn, else from the first line of
// --dsn-file, else from the environment variable REALDID_DATABASE_DSN. Prefer the file or the
// environment: a --dsn argument holding a password is visible in the process list.
// Exit status: 0 success, 1 other failure, 2 usage, 3 migrations refused (edited, missing,
// malformed, duplicate, out of order), 4 database unavailable.
#include <openssl/crypto.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"
#include "db/db_error.h"
#include "db/migrate.h"
#include "db/pool.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRefused = 3;
constexpr int kExitUnavailable = 4;

int Usage(std::string_view problem) {
  if (!problem.empty()) std::cerr << "realdid-migrate: " << problem << "\n";
  std::cerr << "usage: realdid-migrate [--dsn DSN | --dsn-file FILE] [--dir DIR] [--status]\n"
               "  DSN defaults to $REALDID_DATABASE_DSN; DIR defaults to ./migrations\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using realdid::Secret;
  Secret dsn;
  std::string dir = "migrations";
  bool status = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--status") {
      status = true;
    } else if (arg == "--dir") {
      const char* v = value();
      if (v == nullptr) return Usage("--dir needs a value");
      dir = v;
    } else if (arg == "--dsn") {
      const char* v = value();
      if (v == nullptr) return Usage("--dsn needs a value");
      dsn = Secret::FromString(v);
    } else if (arg == "--dsn-file") {
      const char* v = value();
      if (v == nullptr) return Usage("--dsn-file needs a value");
      std::ifstream in(v);
      std::string line;
      if (!in || !std::getline(in, line)) return Usage("cannot read the --dsn-file");
      dsn = Secret::FromString(line);
      if (!line.empty()) OPENSSL_cleanse(line.data(), line.size());
    } else if (arg == "--help" || arg == "-h") {
      Usage("");
      return kExitOk;
    } else {
      return Usage("unknown argument " + std::string(arg));
    }
  }
  if (dsn.empty()) {
    const char* env = std::getenv("REALDID_DATABASE_DSN");
    if (env == nullptr || *env == '\0') {
      return Usage("no DSN (--dsn, --dsn-file or REALDID_DATABASE_DSN)");
    }
    dsn = Secret::FromString(env);
  }

  try {
    realdid::db::PoolConfig config;
    config.dsn = std::move(dsn);
    config.size = 1;
    realdid::db::Pool pool(std::move(config));
    realdid::db::Migrator migrator(pool, dir);
    std::cout << "database: " << pool.description() << "\n";
    if (status) {
      bool consistent = true;
      for (const auto& s : migrator.Status()) {
        std::cout << realdid::db::MigrationStateName(s.state) << "\t" << s.filename;
        if (!s.applied_at.empty()) std::cout << "\t" << s.applied_at;
        std::cout << "\n";
        using State = realdid::db::MigrationStatus::State;
        if (s.state != State::kApplied && s.state != State::kPending) consistent = false;
      }
      return consistent ? kExitOk : kExitRefused;
    }
    const auto applied = migrator.Apply();
    if (applied.empty()) std::cout << "up to date: nothing to apply\n";
    for (int v : applied) std::cout << "applied version " << v << "\n";
    return kExitOk;
  } catch (const realdid::db::MigrationError& e) {
    std::cerr << "realdid-migrate: refused: " << e.what() << "\n";
    return kExitRefused;
  } catch (const realdid::Error& e) {
    std::cerr << "realdid-migrate: " << realdid::ErrorKindName(e.kind()) << ": " << e.what() << "\n";
    return e.kind() == realdid::ErrorKind::kUnavailable ? kExitUnavailable : kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "realdid-migrate: " << e.what() << "\n";
    return kExitFailure;
  }
}
