// Locating ../shared/vectors for known-answer tests.
//
// The published vectors live in ../shared/vectors beside the checkout (override: REALDID_VECTORS_DIR).
// Where the folder is missing a vector test is skipped, except under CI=true, where it fails.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace realdid::testing {

inline std::optional<std::filesystem::path> VectorsDir() {
  if (const char* env = std::getenv("REALDID_VECTORS_DIR"); env != nullptr && *env != '\0') {
    if (std::filesystem::is_directory(env)) return std::filesystem::path(env);
    return std::nullopt;
  }
  const char* src = std::getenv("REALDID_SOURCE_DIR");
  std::filesystem::path root = src != nullptr ? std::filesystem::path(src) : std::filesystem::current_path();
  auto dir = root / ".." / "shared" / "vectors";
  if (std::filesystem::is_directory(dir)) return std::filesystem::weakly_canonical(dir);
  return std::nullopt;
}

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace realdid::testing

// Use at the top of a vector test: yields the path of the named vector file, or skips (fails in CI).
#define REALDID_VECTOR_FILE(var, name)                                                     \
  std::filesystem::path var;                                                               \
  do {                                                                                     \
    auto realdid_dir_ = ::realdid::testing::VectorsDir();                                  \
    if (!realdid_dir_ || !std::filesystem::exists(*realdid_dir_ / (name))) {               \
      if (::realdid::testing::InCi()) FAIL() << "vector file missing under CI: " << (name); \
      GTEST_SKIP() << "vector file not found: " << (name);                                 \
    }                                                                                      \
    var = *realdid_dir_ / (name);                                                          \
  } while (0)
