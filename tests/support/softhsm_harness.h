// SoftHsmHarness: a hermetic SoftHSM2 installation for one test.
//
// The constructor creates a temporary directory with its own softhsm2.conf and token directory and
// points SOFTHSM2_CONF at it (setenv before any module is loaded; SoftHSM2 reads it at
// C_Initialize). InitToken() runs `softhsm2-util --init-token --free --label L --pin P --so-pin S`,
// the same command the project's scripts use. The destructor restores SOFTHSM2_CONF and deletes
// the directory. Unload every hsm::Module before the harness goes away.
// Thread-safety: use from the test's main thread only (it changes the process environment).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace realdid::testing {

class SoftHsmHarness {
 public:
  static constexpr const char* kUserPin = "1234-user";
  static constexpr const char* kSoPin = "5678-so";

  SoftHsmHarness();
  ~SoftHsmHarness();
  SoftHsmHarness(const SoftHsmHarness&) = delete;
  SoftHsmHarness& operator=(const SoftHsmHarness&) = delete;

  // Path of the SoftHSM2 module (REALDID_SOFTHSM2_MODULE overrides the Debian default).
  static std::string ModulePath();

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& conf() const { return conf_; }

  // Initialises a token in a free slot; fails the test (gtest ADD_FAILURE + throw) on error.
  void InitToken(const std::string& label, const std::string& user_pin = kUserPin,
                 const std::string& so_pin = kSoPin);
  // Writes `content` to a file in the harness directory and returns its path.
  std::filesystem::path WriteFile(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path conf_;
  std::optional<std::string> previous_conf_;
};

// Runs argv (no shell) with the current environment and returns the exit status (-1 if it could
// not run or was killed). Combined stdout+stderr go to *output when given.
int RunCommand(const std::vector<std::string>& argv, std::string* output = nullptr);

}  // namespace realdid::testing
