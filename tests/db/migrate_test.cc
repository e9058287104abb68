// Migration runner against a real PostgreSQL, and the realdid-migrate command.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "db/migrate.h"
#include "db/pool.h"
#include "tests/support/pg_harness.h"
#include "tests/support/vectors.h"

namespace realdid::db {
namespace {

using realdid::testing::PgHarness;
using realdid::testing::PgRole;

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = pg_.dir() / "migrations-copy";
    std::filesystem::create_directory(dir_);
    for (const auto& e : std::filesystem::directory_iterator(PgHarness::RepoMigrationsDir())) {
      if (e.is_regular_file()) std::filesystem::copy_file(e.path(), dir_ / e.path().filename());
    }
    pool_ = pg_.MakePool(PgRole::kOwner, 2);
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << text;
  }
  std::int64_t Applied() {
    return pool_->Run("n", [](Tx& tx) {
      return tx.Exec("SELECT count(*) AS n FROM schema_migrations").One().GetInt64("n");
    });
  }
  template <class F>
  void ExpectRefused(MigrationError::Problem problem, const std::string& file, F&& f) {
    try {
      f();
      ADD_FAILURE() << "not refused";
    } catch (const MigrationError& e) {
      EXPECT_EQ(e.problem(), problem) << e.what();
      EXPECT_EQ(e.file(), file);
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
  }
  PgHarness pg_;
  std::filesystem::path dir_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(MigrateTest, SecondRunIsANoop) {
  Migrator m(*pool_, dir_);
  const auto first = m.Apply();
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.front(), 1);
  const auto n = Applied();
  EXPECT_TRUE(m.Apply().empty());
  EXPECT_EQ(Applied(), n);
  for (const auto& s : m.Status()) EXPECT_EQ(s.state, MigrationStatus::State::kApplied);
  // The recorded checksum is the file's SHA-256.
  const auto files = LoadMigrations(dir_);
  const Bytes recorded = pool_->Run("sum", [](Tx& tx) {
    return tx.Exec("SELECT checksum FROM schema_migrations WHERE version = 1").One().GetBytes(0);
  });
  EXPECT_EQ(recorded, files.front().sha256);
}

TEST_F(MigrateTest, EditedAppliedFileIsRefused) {
  Migrator(*pool_, dir_).Apply();
  {
    std::ofstream(dir_ / "0001_foundation.sql", std::ios::app) << "\n-- harmless looking edit\n";
  }
  ExpectRefused(MigrationError::Problem::kChecksumMismatch, "0001_foundation.sql",
                [&] { Migrator(*pool_, dir_).Apply(); });
  const auto status = Migrator(*pool_, dir_).Status();
  ASSERT_FALSE(status.empty());
  EXPECT_EQ(status.front().state, MigrationStatus::State::kEdited);
}

TEST_F(MigrateTest, MissingAppliedFileIsRefused) {
  Write("0900_extra.sql", "CREATE TABLE extra (x int);");
  Migrator(*pool_, dir_).Apply();
  std::filesystem::remove(dir_ / "0900_extra.sql");
  ExpectRefused(MigrationError::Problem::kMissingFile, "0900_extra.sql",
                [&] { Migrator(*pool_, dir_).Apply(); });
}

TEST_F(MigrateTest, OlderPendingFileIsRefused) {
  Write("0900_late.sql", "CREATE TABLE late (x int);");
  Migrator(*pool_, dir_).Apply();
  Write("0800_forgotten.sql", "CREATE TABLE forgotten (x int);");
  ExpectRefused(MigrationError::Problem::kOutOfOrder, "0800_forgotten.sql",
                [&] { Migrator(*pool_, dir_).Apply(); });
}

TEST_F(MigrateTest, MalformedNameIsRefusedBeforeAnythingRuns) {
  Write("12_bad.sql", "CREATE TABLE bad (x int);");
  ExpectRefused(MigrationError::Problem::kMalformedName, "12_bad.sql",
                [&] { Migrator(*pool_, dir_).Apply(); });
  EXPECT_TRUE(pool_->Run("exists", [](Tx& tx) {
    return tx.Exec("SELECT to_regclass('schema_migrations') IS NULL AS absent").One().GetBool(0);
  }));
}

TEST_F(MigrateTest, FailingMigrationIsRolledBackAndNamed) {
  // Every migration before the broken one applies; the broken one leaves nothing behind.
  int last_good = 0;
  for (const auto& f : LoadMigrations(dir_)) last_good = std::max(last_good, f.version);
  Write("0900_broken.sql", "CREATE TABLE half (x int);\nSELECT no_such_column FROM half;");
  try {
    Migrator(*pool_, dir_).Apply();
    FAIL() << "broken migration applied";
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("0900_broken.sql"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(pool_->Run("half", [](Tx& tx) {
    return tx.Exec("SELECT to_regclass('half') IS NULL AS absent").One().GetBool(0);
  }));
  EXPECT_EQ(pool_->Run("v", [](Tx& tx) {
    return tx.Exec("SELECT max(version) AS v FROM schema_migrations").One().GetInt64(0);
  }), last_good);
}

TEST_F(MigrateTest, ConcurrentRunnersSerialize) {
  Write("0900_slow.sql", "SELECT pg_sleep(0.2); CREATE TABLE slow (x int);");
  const auto files = LoadMigrations(dir_).size();
  std::vector<int> a, b;
  auto pool_b = pg_.MakePool(PgRole::kOwner, 1);
  std::thread ta([&] { a = Migrator(*pool_, dir_).Apply(); });
  std::thread tb([&] { b = Migrator(*pool_b, dir_).Apply(); });
  ta.join();
  tb.join();
  EXPECT_EQ(a.size() + b.size(), files);
  EXPECT_TRUE(a.empty() || b.empty());
  EXPECT_EQ(Applied(), static_cast<std::int64_t>(files));
}

// The command-line tool: exit status 0 then 0 (no-op), 3 with the file named when edited.
TEST_F(MigrateTest, CommandLineTool) {
  const char* bin_dir = std::getenv("REALDID_BINARY_DIR");
  if (bin_dir == nullptr) GTEST_SKIP() << "REALDID_BINARY_DIR not set";
  const std::string tool = std::string(bin_dir) + "/tools/migrate/realdid-migrate";
  ASSERT_TRUE(std::filesystem::exists(tool)) << tool;
  ::setenv("REALDID_DATABASE_DSN", std::string(pg_.Dsn(PgRole::kOwner).reveal_string()).c_str(),
           1);
  const std::string out = (pg_.dir() / "tool.out").string();
  const auto run = [&](const std::string& args) {
    const int rc = std::system((tool + " --dir '" + dir_.string() + "' " + args + " >'" + out +
                                "' 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  EXPECT_EQ(run(""), 0) << realdid::testing::ReadFile(out);
  EXPECT_EQ(run(""), 0);
  EXPECT_NE(realdid::testing::ReadFile(out).find("nothing to apply"), std::string::npos);
  EXPECT_EQ(run("--status"), 0);
  { std::ofstream(dir_ / "0001_foundation.sql", std::ios::app) << "-- edit\n"; }
  EXPECT_EQ(run(""), 3);
  const std::string text = realdid::testing::ReadFile(out);
  EXPECT_NE(text.find("0001_foundation.sql"), std::string::npos) << text;
  EXPECT_EQ(text.find(std::string(pg_.Dsn(PgRole::kOwner).reveal_string())), std::string::npos);
  EXPECT_EQ(run("--status"), 3);
  ::unsetenv("REALDID_DATABASE_DSN");
}

}  // namespace
}  // namespace realdid::db
