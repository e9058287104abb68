// ShutdownSignal: turns SIGTERM / SIGINT into an event the main thread can wait for.
//
// The constructor installs async-signal-safe handlers (they only write one byte to a self-pipe);
// Wait() blocks until a signal (or Notify()) arrives and returns the signal number (0 for Notify).
// The destructor restores the previous handlers. Only one instance may exist at a time.
// Thread-safety: Wait() from one thread; Notify() from any thread.
#pragma once

namespace realdid::authority {

class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  int Wait();
  void Notify();

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

}  // namespace realdid::authority
