// Schema migrations: applies migrations/NNNN_name.sql files in version order.
//
// Each pending file runs in its own transaction together with the row that records it in
// schema_migrations (version, name, SHA-256 checksum, applied_at), so a file is applied entirely
// or not at all. Applying twice is a no-op. Before touching anything, Apply() refuses (throws
// MigrationError naming the file) when: a file name is malformed (a *.sql file, or a file starting
// with a digit, that is not NNNN_[a-z0-9_]+.sql with NNNN >= 0001), two files share a version, an
// applied migration's file was edited (checksum mismatch) or is missing/renamed, or a pending file
// is older than the newest applied one (out of order). Concurrent runners serialize on a
// session-level pg_advisory_lock, so two deploys cannot interleave.
// Migration files must not contain BEGIN/COMMIT; they are trusted code run by the schema owner.
// Thread-safety: a Migrator is used by one thread; concurrent Migrators (any process) are safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "db/pool.h"

namespace realdid::db {

class MigrationError : public realdid::Error {
 public:
  enum class Problem {
    kUnreadable,        // directory or file cannot be read
    kMalformedName,     // file name not NNNN_name.sql
    kDuplicateVersion,  // two files with one version
    kChecksumMismatch,  // applied file was edited
    kMissingFile,       // applied file was deleted or renamed
    kOutOfOrder,        // pending file older than the newest applied one
  };
  MigrationError(Problem problem, std::string file, const std::string& detail)
      : realdid::Error(problem == Problem::kUnreadable || problem == Problem::kMalformedName ||
                               problem == Problem::kDuplicateVersion
                           ? ErrorKind::kInvalidInput
                           : ErrorKind::kConflict,
                       detail),
        problem_(problem),
        file_(std::move(file)) {}
  Problem problem() const noexcept { return problem_; }
  // The offending file name (e.g. "0002_audit.sql").
  const std::string& file() const noexcept { return file_; }

 private:
  Problem problem_;
  std::string file_;
};

struct MigrationFile {
  int version = 0;
  std::string name;      // "foundation" for 0001_foundation.sql
  std::string filename;  // "0001_foundation.sql"
  std::string sql;
  Bytes sha256;          // of the file's bytes
};

// Reads and validates every migration file in dir (not recursive), sorted by version.
// Throws MigrationError for unreadable, malformed or duplicate files.
std::vector<MigrationFile> LoadMigrations(const std::filesystem::path& dir);

struct MigrationStatus {
  enum class State { kApplied, kPending, kEdited, kMissing, kOutOfOrder };
  int version = 0;
  std::string filename;
  State state = State::kPending;
  std::string applied_at;  // empty unless applied
};

class Migrator {
 public:
  // pool must connect as the schema owner (realdid_owner) and outlive the Migrator.
  Migrator(Pool& pool, std::filesystem::path dir);

  // Applies all pending migrations; returns the versions applied (empty when up to date).
  // Throws MigrationError (refusal, nothing applied) or DbError (a migration failed; the ones
  // before it stay applied, that one is rolled back).
  std::vector<int> Apply();

  // The state of every file and every applied row, without changing anything.
  std::vector<MigrationStatus> Status();

 private:
  Pool& pool_;
  std::filesystem::path dir_;
};

std::string_view MigrationStateName(MigrationStatus::State state) noexcept;

}  // namespace realdid::db
