// Database layer checks that need no server: parameter encoding, DSN validation, migration names.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "db/db_error.h"
#include "db/migrate.h"
#include "db/pool.h"
#include "db/result.h"

namespace realdid::db {
namespace {

TEST(ParamTest, TextEncodings) {
  EXPECT_EQ(Param(std::nullopt).ToText(), std::nullopt);
  EXPECT_EQ(Param(std::optional<std::string>()).ToText(), std::nullopt);
  EXPECT_EQ(*Param("abc").ToText(), "abc");
  EXPECT_EQ(*Param(std::string("")).ToText(), "");
  EXPECT_EQ(*Param(-42).ToText(), "-42");
  EXPECT_EQ(*Param(std::int64_t{9223372036854775807}).ToText(), "9223372036854775807");
  EXPECT_EQ(*Param(true).ToText(), "true");
  EXPECT_EQ(*Param(false).ToText(), "false");
  EXPECT_EQ(*Param(Bytes{0x00, 0xff, 0x10}).ToText(), "\\x00ff10");
  EXPECT_EQ(*Param(Bytes{}).ToText(), "\\x");
}

TEST(ParamTest, TextWithNulIsRefused) {
  const std::string with_nul("a\0b", 3);
  try {
    Param p(with_nul);
    FAIL() << "accepted a NUL byte";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  }
}

TEST(PoolConfigTest, MalformedDsnIsRefusedWithoutEchoingIt) {
  PoolConfig config;
  config.dsn = Secret::FromString("host=localhost password=TopSecret99 garbage");
  try {
    Pool pool(std::move(config));
    FAIL() << "accepted a malformed DSN";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_EQ(std::string(e.what()).find("TopSecret99"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("garbage"), std::string::npos) << e.what();
  }
}

TEST(PoolConfigTest, DescriptionHasNoPassword) {
  PoolConfig config;
  config.dsn = Secret::FromString("postgresql://alice:TopSecret99@db.example:6543/realdid");
  Pool pool(std::move(config));  // no connection is opened
  EXPECT_EQ(pool.description(), "host=db.example port=6543 dbname=realdid user=alice");
  EXPECT_EQ(pool.open_connections(), 0u);
}

TEST(PoolConfigTest, BadSizesAreRefused) {
  PoolConfig config;
  config.dsn = Secret::FromString("host=localhost");
  config.size = 0;
  EXPECT_THROW(Pool{std::move(config)}, DbError);
}

class MigrationNamesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("realdid-mig-" + ToHex(RandomBytes(6)));
    std::filesystem::create_directories(dir_ / "bootstrap");
    Write("bootstrap/roles.sql", "SELECT 1;");  // subfolders are not migrations
    Write("README.md", "notes");                // nor non-SQL files
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(MigrationNamesTest, LoadsSortedWithSha256) {
  Write("0002_second.sql", "");
  Write("0001_first.sql", "abc");
  const auto files = LoadMigrations(dir_);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].version, 1);
  EXPECT_EQ(files[0].name, "first");
  EXPECT_EQ(files[0].filename, "0001_first.sql");
  // FIPS 180-2 known answers: SHA-256("abc") and SHA-256("").
  EXPECT_EQ(ToHex(files[0].sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(files[1].sha256),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(MigrationNamesTest, MalformedNamesAreRefused) {
  for (const char* bad : {"1_init.sql", "0001-init.sql", "0001_Init.sql", "0000_zero.sql",
                          "0001_.sql", "00012_x.sql", "0001_init.sql~", "0001_a b.sql",
                          "init.sql"}) {
    SCOPED_TRACE(bad);
    Write(bad, "SELECT 1;");
    try {
      LoadMigrations(dir_);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const MigrationError& e) {
      EXPECT_EQ(e.problem(), MigrationError::Problem::kMalformedName);
      EXPECT_EQ(e.file(), bad);
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos);
    }
    std::filesystem::remove(dir_ / bad);
  }
  EXPECT_TRUE(LoadMigrations(dir_).empty());
}

TEST_F(MigrationNamesTest, DuplicateVersionsAreRefused) {
  Write("0001_a.sql", "SELECT 1;");
  Write("0001_b.sql", "SELECT 1;");
  try {
    LoadMigrations(dir_);
    FAIL() << "accepted two files with one version";
  } catch (const MigrationError& e) {
    EXPECT_EQ(e.problem(), MigrationError::Problem::kDuplicateVersion);
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  }
}

TEST(MigrationDirTest, MissingDirectoryIsRefused) {
  EXPECT_THROW(LoadMigrations("/nonexistent/realdid/migrations"), MigrationError);
}

}  // namespace
}  // namespace realdid::db
