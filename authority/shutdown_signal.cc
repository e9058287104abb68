#include "authority/shutdown_signal.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>

#include "core/error.h"

namespace realdid::authority {
namespace {

std::atomic<int> g_write_fd{-1};
std::atomic<bool> g_installed{false};
struct sigaction g_old_term {};
struct sigaction g_old_int {};

extern "C" void OnShutdownSignal(int sig) {
  int saved = errno;
  int fd = g_write_fd.load();
  if (fd >= 0) {
    auto byte = static_cast<unsigned char>(sig);
    ssize_t ignored = ::write(fd, &byte, 1);
    (void)ignored;
  }
  errno = saved;
}

}  // namespace

ShutdownSignal::ShutdownSignal() {
  if (g_installed.exchange(true)) Fail(ErrorKind::kInternal, "ShutdownSignal already installed");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    g_installed = false;
    Fail(ErrorKind::kInternal, "ShutdownSignal: pipe2 failed");
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  g_write_fd = write_fd_;
  struct sigaction sa {};
  sa.sa_handler = OnShutdownSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &sa, &g_old_term);
  ::sigaction(SIGINT, &sa, &g_old_int);
}

ShutdownSignal::~ShutdownSignal() {
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  ::sigaction(SIGINT, &g_old_int, nullptr);
  g_write_fd = -1;
  ::close(read_fd_);
  ::close(write_fd_);
  g_installed = false;
}

int ShutdownSignal::Wait() {
  for (;;) {
    unsigned char byte = 0;
    ssize_t n = ::read(read_fd_, &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    Fail(ErrorKind::kInternal, "ShutdownSignal: read failed");
  }
}

void ShutdownSignal::Notify() {
  unsigned char byte = 0;
  ssize_t ignored = ::write(write_fd_, &byte, 1);
  (void)ignored;
}

}  // namespace realdid::authority
