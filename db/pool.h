// realdid::db::Pool — a fixed-size pool of PostgreSQL connections with scoped transactions.
//
// Pool hands out move-only Leases (one connection each, returned on destruction). A Lease begins
// Tx objects: a Tx is a scoped transaction whose destructor rolls back unless Commit() ran, and
// Commit() is meant to be its last statement. Statements take `$n` parameters only (Tx::Exec runs
// exactly one statement through the extended protocol, so stacked queries are impossible).
// Pool::Run(what, fn) is the normal entry point: it leases a connection, runs fn(Tx&) in a fresh
// transaction, commits, and retries the whole thing a bounded number of times, with exponential
// backoff and jitter, on serialization failure (40001), deadlock (40P01) and a connection lost
// before COMMIT. A connection lost during COMMIT is an in-doubt commit: it is never retried and
// surfaces as DbError(kUnavailable, "commit outcome unknown", in_doubt() == true). fn may run more
// than once: it must have no effect outside the database that a repeat would duplicate.
// Broken connections are dropped and replaced on the next lease; connections open lazily, so a
// Pool can be built while the server is down (Ping() then throws kUnavailable).
//
// Thread-safety: Pool is thread-safe. A Lease and its Tx belong to one thread at a time. The Pool
// must outlive its Leases, and a Lease its Tx.
// Security contract: the connection string is a Secret (it may hold a password); it is never
// logged and never appears in an error. Errors carry no parameter values (see db_error.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "db/db_error.h"
#include "db/result.h"

namespace realdid::db {

// Metrics hook, implemented by the service (e.g. with Prometheus). All methods are called from the
// thread doing the work and must be cheap, thread-safe and never throw.
struct QueryObserver {
  virtual ~QueryObserver() = default;
  // One call per Pool::Run: its label, whether it committed, and its total wall time (all attempts).
  virtual void OnQuery(std::string_view what, bool ok, double seconds) noexcept = 0;
  // Time spent waiting for a connection (including opening one).
  virtual void OnPoolWait(double seconds) noexcept = 0;
  // A transaction is being retried; reason is "serialization_failure", "deadlock" or
  // "connection_lost".
  virtual void OnRetry(std::string_view /*what*/, std::string_view /*reason*/) noexcept {}
};

struct PoolConfig {
  Secret dsn;                       // libpq connection string (key=value or URI); may hold a password
  std::size_t size = 4;             // maximum number of open connections (>= 1)
  int connect_timeout_seconds = 5;  // added as connect_timeout unless the DSN sets one (>= 1)
  std::chrono::milliseconds acquire_timeout{5000};  // wait for a free connection, then kUnavailable
  int max_attempts = 5;             // Run: attempts per transaction, including the first (>= 1)
  std::chrono::milliseconds backoff_base{10};       // first retry waits ~base, doubling each time
  std::chrono::milliseconds backoff_max{500};
  std::shared_ptr<QueryObserver> observer;          // optional
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  Isolation isolation = Isolation::kReadCommitted;
  bool read_only = false;
};

namespace detail {
struct Connection;  // a libpqxx connection; defined in pool.cc
struct TxState;     // a libpqxx transaction; defined in pool.cc
}  // namespace detail

class Pool;

class Tx {
 public:
  Tx(Tx&& other) noexcept;
  Tx& operator=(Tx&&) = delete;
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  ~Tx();  // rolls back unless committed; never throws

  // Runs one statement with `$1..$n` parameters. Any failure marks the Tx failed: a failed Tx can
  // only be rolled back (Commit throws), because PostgreSQL has aborted it.
  Result Exec(std::string_view sql, const Params& params = {});
  // Runs a multi-statement script without parameters (simple protocol). For migrations only.
  void ExecScript(std::string_view sql);
  // Commits. Throws DbError: retryable() on serialization failure at commit, in_doubt() when the
  // connection was lost during COMMIT. After Commit (successful or not) the Tx is finished.
  void Commit();
  // Rolls back now (the destructor does the same).
  void Rollback() noexcept;
  bool committed() const noexcept;

 private:
  friend class Lease;
  explicit Tx(std::unique_ptr<detail::TxState> state) noexcept;
  std::unique_ptr<detail::TxState> state_;
};

class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();  // returns the connection (or drops it if broken); never throws

  // Begins a transaction labelled `what` (the label appears in errors and metrics).
  Tx Begin(std::string_view what, TxOptions options = {});
  // Runs one parameterized statement outside any transaction (autocommit), e.g. session-level
  // advisory locks. Same error mapping as Tx::Exec.
  Result Exec(std::string_view what, std::string_view sql, const Params& params = {});
  bool valid() const noexcept { return conn_ != nullptr; }

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<detail::Connection> conn) noexcept;
  void Release() noexcept;
  Pool* pool_ = nullptr;
  std::unique_ptr<detail::Connection> conn_;
};

class Pool {
 public:
  // Validates the configuration (throws DbError(kInvalidInput) on a malformed DSN or bad sizes,
  // without echoing the DSN). Opens no connection.
  explicit Pool(PoolConfig config);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Waits up to acquire_timeout for a connection; opens one if needed. Throws
  // DbError(kUnavailable) when the pool is exhausted or the server cannot be reached.
  Lease Acquire();

  // Runs `SELECT 1` on a pooled connection (replacing a stale one once). For readiness probes.
  // Throws DbError(kUnavailable) when the server is down.
  void Ping();

  // Runs fn(Tx&) in a transaction with commit and bounded retries (see the file comment).
  template <class F>
  auto Run(std::string_view what, TxOptions options, F&& fn) -> std::invoke_result_t<F&, Tx&> {
    using R = std::invoke_result_t<F&, Tx&>;
    if constexpr (std::is_void_v<R>) {
      RunImpl(what, options, [&fn](Tx& tx) { fn(tx); });
    } else {
      std::optional<R> out;
      RunImpl(what, options, [&fn, &out](Tx& tx) { out.emplace(fn(tx)); });
      return std::move(*out);
    }
  }
  template <class F>
  auto Run(std::string_view what, F&& fn) -> std::invoke_result_t<F&, Tx&> {
    return Run(what, TxOptions{}, std::forward<F>(fn));
  }

  // host, port, dbname and user of the DSN, for log lines. Never the password.
  const std::string& description() const noexcept { return description_; }
  std::size_t size() const noexcept { return config_.size; }
  // Connections currently open (idle + leased). For tests and gauges.
  std::size_t open_connections() const;

 private:
  friend class Lease;
  void RunImpl(std::string_view what, TxOptions options, const std::function<void(Tx&)>& body);
  std::unique_ptr<detail::Connection> Connect();
  void Return(std::unique_ptr<detail::Connection> conn) noexcept;

  PoolConfig config_;     // immutable after construction; config_.dsn is the normalized DSN
  Secret password_;       // only to redact libpq messages that might echo it
  std::string description_;

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<detail::Connection>> idle_;  // guarded by mutex_
  std::size_t open_ = 0;                                   // guarded by mutex_
};

}  // namespace realdid::db
