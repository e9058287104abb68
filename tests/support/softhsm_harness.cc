#include "tests/support/softhsm_harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace realdid::testing {

SoftHsmHarness::SoftHsmHarness() {
  std::string templ = (std::filesystem::temp_directory_path() / "realdid-softhsm-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  std::filesystem::create_directory(dir_ / "tokens");
  conf_ = dir_ / "softhsm2.conf";
  std::ofstream(conf_) << "directories.tokendir = " << (dir_ / "tokens").string() << "\n"
                       << "objectstore.backend = file\n"
                       << "log.level = ERROR\n"
                       << "slots.removable = false\n";
  if (const char* prev = std::getenv("SOFTHSM2_CONF"); prev != nullptr) previous_conf_ = prev;
  setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
}

SoftHsmHarness::~SoftHsmHarness() {
  if (previous_conf_) {
    setenv("SOFTHSM2_CONF", previous_conf_->c_str(), 1);
  } else {
    unsetenv("SOFTHSM2_CONF");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string SoftHsmHarness::ModulePath() {
  if (const char* m = std::getenv("REALDID_SOFTHSM2_MODULE"); m != nullptr && *m != '\0') return m;
  return "/usr/lib/softhsm/libsofthsm2.so";
}

void SoftHsmHarness::InitToken(const std::string& label, const std::string& user_pin,
                               const std::string& so_pin) {
  std::string out;
  int rc = RunCommand({"softhsm2-util", "--init-token", "--free", "--label", label, "--pin", user_pin,
                       "--so-pin", so_pin},
                      &out);
  if (rc != 0) {
    ADD_FAILURE() << "softhsm2-util --init-token failed (" << rc << "): " << out;
    throw std::runtime_error("softhsm2-util failed");
  }
}

std::filesystem::path SoftHsmHarness::WriteFile(const std::string& name, const std::string& content) const {
  std::filesystem::path p = dir_ / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

int RunCommand(const std::vector<std::string>& argv, std::string* output) {
  if (argv.empty()) return -1;
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  if (output != nullptr) *output = out;
  if (err != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace realdid::testing
