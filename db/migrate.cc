#include "db/migrate.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace realdid::db {
namespace {

// Key of the session-level advisory lock that serializes migration runners ("realdid1").
constexpr std::int64_t kMigrationLockKey = 0x7265616C64696431;

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY CHECK (version > 0),"
    " name text NOT NULL,"
    " checksum bytea NOT NULL CHECK (octet_length(checksum) = 32),"
    " applied_at timestamptz NOT NULL DEFAULT now())";

using Problem = MigrationError::Problem;

Bytes Sha256(std::string_view data) {
  Bytes out(32);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw Error(ErrorKind::kInternal, "migrations: SHA-256 failed");
  }
  return out;
}

std::string FileName(int version, const std::string& name) {
  std::string v = std::to_string(version);
  if (v.size() < 4) v.insert(0, 4 - v.size(), '0');
  return v + "_" + name + ".sql";
}

// Parses "NNNN_name.sql"; nullopt when malformed.
std::optional<std::pair<int, std::string>> ParseName(std::string_view file) {
  constexpr std::string_view kExt = ".sql";
  if (file.size() <= 4 + 1 + kExt.size()) return std::nullopt;
  if (file.substr(file.size() - kExt.size()) != kExt) return std::nullopt;
  int version = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (file[i] < '0' || file[i] > '9') return std::nullopt;
    version = version * 10 + (file[i] - '0');
  }
  if (version == 0 || file[4] != '_') return std::nullopt;
  const std::string_view name = file.substr(5, file.size() - 5 - kExt.size());
  if (name.empty() || name.size() > 100) return std::nullopt;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return std::nullopt;
  }
  return std::make_pair(version, std::string(name));
}

struct AppliedRow {
  int version;
  std::string name;
  Bytes checksum;
  std::string applied_at;
};

std::vector<AppliedRow> ReadApplied(const Result& r) {
  std::vector<AppliedRow> rows;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const Row row = r[i];
    const std::int64_t v = row.GetInt64("version");
    if (v <= 0 || v > 9999) throw Error(ErrorKind::kInternal, "migrations: bad version row");
    rows.push_back(AppliedRow{static_cast<int>(v), row.GetString("name"),
                              row.GetBytes("checksum"), row.GetString("applied_at")});
  }
  return rows;
}

constexpr const char* kSelectApplied =
    "SELECT version, name, checksum, applied_at::text AS applied_at FROM schema_migrations "
    "ORDER BY version";

// Compares files with applied rows. Fills `status` (sorted by version) and returns the first
// problem as an error to throw (or nullopt).
std::optional<MigrationError> Compare(const std::vector<MigrationFile>& files,
                                      const std::vector<AppliedRow>& applied,
                                      std::vector<MigrationStatus>* status) {
  std::map<int, const MigrationFile*> by_version;
  for (const auto& f : files) by_version[f.version] = &f;
  std::map<int, const AppliedRow*> applied_by_version;
  int newest_applied = 0;
  for (const auto& a : applied) {
    applied_by_version[a.version] = &a;
    newest_applied = std::max(newest_applied, a.version);
  }
  std::optional<MigrationError> problem;
  std::map<int, MigrationStatus> out;
  for (const auto& a : applied) {
    const std::string recorded = FileName(a.version, a.name);
    auto it = by_version.find(a.version);
    MigrationStatus s{a.version, recorded, MigrationStatus::State::kApplied, a.applied_at};
    if (it == by_version.end() || it->second->name != a.name) {
      s.state = MigrationStatus::State::kMissing;
      if (!problem) {
        problem.emplace(Problem::kMissingFile, recorded,
                        "migrations: applied migration " + recorded +
                            " is missing from the migrations directory" +
                            (it == by_version.end() ? std::string()
                                                    : " (renamed to " + it->second->filename + ")"));
      }
    } else if (it->second->sha256 != a.checksum) {
      s.state = MigrationStatus::State::kEdited;
      if (!problem) {
        problem.emplace(Problem::kChecksumMismatch, recorded,
                        "migrations: applied migration " + recorded +
                            " was edited after it was applied (checksum mismatch); write a new "
                            "migration instead");
      }
    }
    out[a.version] = s;
  }
  for (const auto& f : files) {
    if (applied_by_version.count(f.version) != 0) continue;
    MigrationStatus s{f.version, f.filename, MigrationStatus::State::kPending, ""};
    if (f.version < newest_applied) {
      s.state = MigrationStatus::State::kOutOfOrder;
      if (!problem) {
        problem.emplace(Problem::kOutOfOrder, f.filename,
                        "migrations: " + f.filename +
                            " is older than the newest applied migration (" +
                            std::to_string(newest_applied) + "); renumber it");
      }
    }
    out[f.version] = s;
  }
  if (status != nullptr) {
    status->clear();
    for (auto& [v, s] : out) status->push_back(std::move(s));
  }
  return problem;
}

// Holds the session-level migration lock on a lease; releases it on destruction.
class AdvisoryLock {
 public:
  explicit AdvisoryLock(Lease& lease) : lease_(lease) {
    lease_.Exec("migrate lock", "SELECT pg_advisory_lock($1)", {kMigrationLockKey});
  }
  ~AdvisoryLock() {
    try {
      lease_.Exec("migrate unlock", "SELECT pg_advisory_unlock($1)", {kMigrationLockKey});
    } catch (...) {
      // The connection is gone; the server released the lock with the session.
    }
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

 private:
  Lease& lease_;
};

}  // namespace

std::string_view MigrationStateName(MigrationStatus::State state) noexcept {
  switch (state) {
    case MigrationStatus::State::kApplied: return "applied";
    case MigrationStatus::State::kPending: return "pending";
    case MigrationStatus::State::kEdited: return "EDITED";
    case MigrationStatus::State::kMissing: return "MISSING";
    case MigrationStatus::State::kOutOfOrder: return "OUT-OF-ORDER";
  }
  return "?";
}

std::vector<MigrationFile> LoadMigrations(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw MigrationError(Problem::kUnreadable, dir.string(),
                         "migrations: " + dir.string() + " is not a readable directory");
  }
  std::vector<MigrationFile> files;
  std::map<int, std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;  // bootstrap/ and other folders are not migrations
    const std::string file = entry.path().filename().string();
    const bool looks_like_migration =
        (!file.empty() && file[0] >= '0' && file[0] <= '9') ||
        (file.size() >= 4 && file.substr(file.size() - 4) == ".sql");
    if (!looks_like_migration) continue;  // README.md and the like
    auto parsed = ParseName(file);
    if (!parsed) {
      throw MigrationError(Problem::kMalformedName, file,
                           "migrations: malformed migration file name " + file +
                               " (expected NNNN_lowercase_name.sql, NNNN >= 0001)");
    }
    if (auto it = seen.find(parsed->first); it != seen.end()) {
      throw MigrationError(Problem::kDuplicateVersion, file,
                           "migrations: " + file + " and " + it->second +
                               " have the same version");
    }
    seen[parsed->first] = file;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      throw MigrationError(Problem::kUnreadable, file, "migrations: cannot read " + file);
    }
    MigrationFile m;
    m.version = parsed->first;
    m.name = parsed->second;
    m.filename = file;
    m.sql = text.str();
    m.sha256 = Sha256(m.sql);
    files.push_back(std::move(m));
  }
  std::sort(files.begin(), files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
  return files;
}

Migrator::Migrator(Pool& pool, std::filesystem::path dir) : pool_(pool), dir_(std::move(dir)) {}

std::vector<int> Migrator::Apply() {
  const std::vector<MigrationFile> files = LoadMigrations(dir_);
  Lease lease = pool_.Acquire();
  AdvisoryLock lock(lease);
  lease.Exec("migrate init", kCreateTable);
  const std::vector<AppliedRow> applied =
      ReadApplied(lease.Exec("migrate read", kSelectApplied));
  if (auto problem = Compare(files, applied, nullptr)) throw MigrationError(std::move(*problem));

  std::vector<int> done;
  for (const auto& f : files) {
    const bool already = std::any_of(applied.begin(), applied.end(),
                                     [&f](const AppliedRow& a) { return a.version == f.version; });
    if (already) continue;
    Tx tx = lease.Begin("migrate " + f.filename);
    tx.ExecScript(f.sql);
    tx.Exec("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            {f.version, f.name, f.sha256});
    tx.Commit();
    done.push_back(f.version);
  }
  return done;
}

std::vector<MigrationStatus> Migrator::Status() {
  const std::vector<MigrationFile> files = LoadMigrations(dir_);
  Lease lease = pool_.Acquire();
  std::vector<AppliedRow> applied;
  const Result exists = lease.Exec("migrate status", "SELECT to_regclass('schema_migrations') IS "
                                                     "NOT NULL AS present");
  if (exists.One().GetBool("present")) {
    applied = ReadApplied(lease.Exec("migrate status", kSelectApplied));
  }
  std::vector<MigrationStatus> status;
  Compare(files, applied, &status);
  return status;
}

}  // namespace realdid::db
