#include "db/pool.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <random>
#include <thread>

namespace realdid::db {
namespace detail {

struct Connection {
  // Declaration order matters: the error handler must be destroyed before its connection.
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::quiet_errorhandler> quiet;  // keeps server notices off stderr
  bool broken = false;

  bool Usable() const noexcept { return !broken && conn != nullptr && conn->is_open(); }
};

struct TxState {
  enum class Status { kActive, kFailed, kCommitted, kRolledBack };
  Connection* conn = nullptr;
  std::string what;
  std::unique_ptr<pqxx::transaction_base> txn;
  Status status = Status::kActive;
};

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// First line of a libpq/server message without the "ERROR:  " style prefix.
std::string FirstLine(std::string_view message) {
  message = message.substr(0, message.find('\n'));
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  ", "PANIC:  "}) {
    if (message.substr(0, prefix.size()) == prefix) message.remove_prefix(prefix.size());
  }
  while (!message.empty() && (message.back() == ' ' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  return std::string(message);
}

// Server message classes whose primary text names only SQL objects, never data values:
// 23 integrity (constraint names), 42 access rule / syntax, 40 rollback, 25 transaction state,
// 0A not supported, P0 raised by our own PL/pgSQL (which must not format values into messages).
bool MessageIsSafe(const std::string& sqlstate) {
  if (sqlstate.size() != 5) return false;
  const std::string_view cls = std::string_view(sqlstate).substr(0, 2);
  return cls == "23" || cls == "42" || cls == "40" || cls == "25" || cls == "0A" || cls == "P0";
}

std::string Detail(std::string_view what, std::string_view reason, const std::string& sqlstate,
                   std::string_view server_message = {}) {
  std::string d = "database: ";
  d += what;
  d += ": ";
  d += reason;
  if (!sqlstate.empty()) {
    d += " (SQLSTATE ";
    d += sqlstate;
    if (!server_message.empty() && MessageIsSafe(sqlstate)) {
      d += ": ";
      d += FirstLine(server_message);
    }
    d += ")";
  }
  return d;
}

bool ConnectionClass(const std::string& sqlstate) {
  // 08 connection exception; 57P01..57P03 server shutting down / restarting / not accepting.
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

// libpqxx 6.4 leaves sqlstate() empty on some of its typed exceptions; recover it from the type.
std::string SqlState(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) return "42501";
  if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) return "23505";
  if (dynamic_cast<const pqxx::not_null_violation*>(&e) != nullptr) return "23502";
  if (dynamic_cast<const pqxx::foreign_key_violation*>(&e) != nullptr) return "23503";
  if (dynamic_cast<const pqxx::check_violation*>(&e) != nullptr) return "23514";
  if (dynamic_cast<const pqxx::undefined_table*>(&e) != nullptr) return "42P01";
  if (dynamic_cast<const pqxx::undefined_column*>(&e) != nullptr) return "42703";
  if (dynamic_cast<const pqxx::undefined_function*>(&e) != nullptr) return "42883";
  if (dynamic_cast<const pqxx::syntax_error*>(&e) != nullptr) return "42601";
  if (dynamic_cast<const pqxx::plpgsql_raise*>(&e) != nullptr) return "P0001";
  if (dynamic_cast<const pqxx::plpgsql_error*>(&e) != nullptr) return "P0000";
  if (dynamic_cast<const pqxx::insufficient_resources*>(&e) != nullptr) return "53000";
  if (dynamic_cast<const pqxx::feature_not_supported*>(&e) != nullptr) return "0A000";
  if (dynamic_cast<const pqxx::data_exception*>(&e) != nullptr) return "22000";
  return "";
}

// Translates the exception being handled into a DbError. Call only inside a catch block.
[[noreturn]] void Rethrow(detail::Connection* conn, std::string_view what) {
  const auto mark_broken = [conn] {
    if (conn != nullptr) conn->broken = true;
  };
  try {
    throw;
  } catch (const DbError&) {
    throw;
  } catch (const pqxx::in_doubt_error&) {
    mark_broken();
    throw DbError(ErrorKind::kUnavailable, Detail(what, kCommitOutcomeUnknown, ""), "", false,
                  true);
  } catch (const pqxx::broken_connection&) {
    mark_broken();
    throw DbError(ErrorKind::kUnavailable, Detail(what, "connection lost", "08006"), "08006",
                  true);
  } catch (const pqxx::serialization_failure&) {
    throw DbError(ErrorKind::kUnavailable, Detail(what, "serialization failure", "40001"),
                  "40001", true);
  } catch (const pqxx::deadlock_detected&) {
    throw DbError(ErrorKind::kUnavailable, Detail(what, "deadlock detected", "40P01"), "40P01",
                  true);
  } catch (const pqxx::statement_completion_unknown&) {
    mark_broken();
    throw DbError(ErrorKind::kUnavailable, Detail(what, "statement outcome unknown", "40003"),
                  "40003", false);
  } catch (const pqxx::transaction_rollback&) {
    throw DbError(ErrorKind::kInternal, Detail(what, "transaction rolled back", "40000"), "40000",
                  false);
  } catch (const pqxx::sql_error& e) {
    const std::string state = SqlState(e);
    if (ConnectionClass(state) || (conn != nullptr && !conn->Usable())) {
      mark_broken();
      throw DbError(ErrorKind::kUnavailable, Detail(what, "connection lost", state), state, true);
    }
    if (state == "23505") {
      throw DbError(ErrorKind::kConflict, Detail(what, "unique violation", state, e.what()),
                    state, false);
    }
    if (state.rfind("53", 0) == 0) {
      throw DbError(ErrorKind::kUnavailable,
                    Detail(what, "server out of resources", state, e.what()), state, false);
    }
    if (state == "42501") {
      throw DbError(ErrorKind::kInternal, Detail(what, "permission denied", state, e.what()),
                    state, false);
    }
    throw DbError(ErrorKind::kInternal, Detail(what, "statement failed", state, e.what()), state,
                  false);
  } catch (const pqxx::failure&) {
    if (conn != nullptr && conn->conn != nullptr && !conn->conn->is_open()) {
      mark_broken();
      throw DbError(ErrorKind::kUnavailable, Detail(what, "connection lost", "08006"), "08006",
                    true);
    }
    throw DbError(ErrorKind::kInternal, Detail(what, "database library failure", ""), "", false);
  } catch (const pqxx::pqxx_exception&) {
    throw DbError(ErrorKind::kInternal, Detail(what, "database library usage error", ""), "",
                  false);
  }
}

// Parameters in libpq text format; the vector of pointers aliases `texts`.
struct TextParams {
  explicit TextParams(const Params& params) {
    texts.reserve(params.size());
    for (const Param& p : params) texts.push_back(p.ToText());
    pointers.reserve(texts.size());
    for (const auto& t : texts) pointers.push_back(t.has_value() ? t->c_str() : nullptr);
  }
  std::vector<std::optional<std::string>> texts;
  std::vector<const char*> pointers;
};

Result Convert(const pqxx::result& r) {
  auto data = std::make_shared<detail::ResultData>();
  const auto columns = r.columns();
  data->column_names.reserve(columns);
  data->column_types.reserve(columns);
  for (pqxx::row::size_type c = 0; c < columns; ++c) {
    data->column_names.emplace_back(r.column_name(c));
    data->column_types.push_back(static_cast<std::uint32_t>(r.column_type(c)));
  }
  data->rows = static_cast<std::size_t>(r.size());
  data->cells.reserve(data->rows * columns);
  for (const auto& row : r) {
    for (const auto& field : row) {
      if (field.is_null()) {
        data->cells.emplace_back(std::nullopt);
      } else {
        data->cells.emplace_back(std::string(field.c_str(), field.size()));
      }
    }
  }
  data->affected_rows = static_cast<std::uint64_t>(r.affected_rows());
  return Result(std::move(data));
}

Result ExecParams(pqxx::transaction_base& txn, std::string_view sql, const Params& params) {
  TextParams text(params);
  return Convert(
      txn.exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(text.pointers)));
}

std::unique_ptr<pqxx::transaction_base> BeginTxn(pqxx::connection& c, TxOptions o) {
  using pqxx::read_only;
  using pqxx::read_write;
  switch (o.isolation) {
    case Isolation::kReadCommitted:
      if (o.read_only) return std::make_unique<pqxx::transaction<pqxx::read_committed, read_only>>(c);
      return std::make_unique<pqxx::transaction<pqxx::read_committed, read_write>>(c);
    case Isolation::kRepeatableRead:
      if (o.read_only) return std::make_unique<pqxx::transaction<pqxx::repeatable_read, read_only>>(c);
      return std::make_unique<pqxx::transaction<pqxx::repeatable_read, read_write>>(c);
    case Isolation::kSerializable:
      if (o.read_only) return std::make_unique<pqxx::transaction<pqxx::serializable, read_only>>(c);
      return std::make_unique<pqxx::transaction<pqxx::serializable, read_write>>(c);
  }
  throw DbError(ErrorKind::kInternal, "database: unknown isolation level", "", false);
}

std::string Quote(std::string_view value) {
  std::string out = "'";
  for (char ch : value) {
    if (ch == '\'' || ch == '\\') out += '\\';
    out += ch;
  }
  out += "'";
  return out;
}

void Cleanse(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

std::string RetryReason(const DbError& e) {
  if (e.sqlstate() == "40001") return "serialization_failure";
  if (e.sqlstate() == "40P01") return "deadlock";
  return "connection_lost";
}

std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto delay = base;
  for (int i = 1; i < attempt && delay < max; ++i) delay *= 2;
  delay = std::min(delay, max);
  const auto ms = static_cast<std::int64_t>(delay.count());
  if (ms <= 1) return delay;
  std::uniform_int_distribution<std::int64_t> jitter(ms / 2, ms);  // "equal jitter"
  return std::chrono::milliseconds(jitter(rng));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tx

Tx::Tx(std::unique_ptr<detail::TxState> state) noexcept : state_(std::move(state)) {}
Tx::Tx(Tx&& other) noexcept = default;
Tx::~Tx() { Rollback(); }

bool Tx::committed() const noexcept {
  return state_ != nullptr && state_->status == detail::TxState::Status::kCommitted;
}

void Tx::Rollback() noexcept {
  if (state_ == nullptr || state_->txn == nullptr) return;
  try {
    if (state_->status == detail::TxState::Status::kActive ||
        state_->status == detail::TxState::Status::kFailed) {
      state_->txn->abort();
    }
  } catch (...) {
    // A broken connection cannot roll back; the server rolls back when the session ends.
    state_->conn->broken = true;
  }
  state_->txn.reset();
  if (state_->status != detail::TxState::Status::kCommitted) {
    state_->status = detail::TxState::Status::kRolledBack;
  }
}

Result Tx::Exec(std::string_view sql, const Params& params) {
  if (state_ == nullptr || state_->status != detail::TxState::Status::kActive) {
    throw DbError(ErrorKind::kInternal,
                  "database: " + (state_ ? state_->what : std::string("tx")) +
                      ": statement on a finished or failed transaction",
                  "", false);
  }
  try {
    return ExecParams(*state_->txn, sql, params);
  } catch (...) {
    state_->status = detail::TxState::Status::kFailed;
    Rethrow(state_->conn, state_->what);
  }
}

void Tx::ExecScript(std::string_view sql) {
  if (state_ == nullptr || state_->status != detail::TxState::Status::kActive) {
    throw DbError(ErrorKind::kInternal, "database: script on a finished or failed transaction", "",
                  false);
  }
  try {
    state_->txn->exec(std::string(sql));
  } catch (...) {
    state_->status = detail::TxState::Status::kFailed;
    Rethrow(state_->conn, state_->what);
  }
}

void Tx::Commit() {
  using Status = detail::TxState::Status;
  if (state_ == nullptr || state_->status != Status::kActive) {
    const bool failed = state_ != nullptr && state_->status == Status::kFailed;
    Rollback();
    throw DbError(ErrorKind::kInternal,
                  std::string("database: ") + (state_ ? state_->what : std::string("tx")) +
                      (failed ? ": commit after a failed statement" : ": commit of a finished "
                                                                        "transaction"),
                  "", false);
  }
  try {
    state_->txn->commit();
    state_->status = Status::kCommitted;
    state_->txn.reset();
  } catch (...) {
    state_->status = Status::kFailed;
    detail::Connection* conn = state_->conn;
    const std::string what = state_->what;
    bool in_doubt = false;
    try {
      throw;
    } catch (const pqxx::in_doubt_error&) {
      in_doubt = true;
    } catch (const pqxx::broken_connection&) {
      in_doubt = true;
    } catch (const std::exception&) {
      in_doubt = conn->conn == nullptr || !conn->conn->is_open();
    }
    if (in_doubt) {
      conn->broken = true;
      Rollback();
      throw DbError(ErrorKind::kUnavailable, Detail(what, kCommitOutcomeUnknown, ""), "", false,
                    true);
    }
    // The server answered the COMMIT with an error: the transaction is definitely rolled back.
    try {
      Rethrow(conn, what);
    } catch (...) {
      Rollback();
      throw;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Lease

Lease::Lease(Pool* pool, std::unique_ptr<detail::Connection> conn) noexcept
    : pool_(pool), conn_(std::move(conn)) {}
Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}
Lease::~Lease() { Release(); }

void Lease::Release() noexcept {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_));
  pool_ = nullptr;
  conn_.reset();
}

Tx Lease::Begin(std::string_view what, TxOptions options) {
  if (conn_ == nullptr) {
    throw DbError(ErrorKind::kInternal, "database: Begin on an empty lease", "", false);
  }
  auto state = std::make_unique<detail::TxState>();
  state->conn = conn_.get();
  state->what = std::string(what);
  try {
    state->txn = BeginTxn(*conn_->conn, options);
  } catch (...) {
    Rethrow(conn_.get(), what);
  }
  return Tx(std::move(state));
}

Result Lease::Exec(std::string_view what, std::string_view sql, const Params& params) {
  if (conn_ == nullptr) {
    throw DbError(ErrorKind::kInternal, "database: Exec on an empty lease", "", false);
  }
  try {
    pqxx::nontransaction ntx(*conn_->conn);
    return ExecParams(ntx, sql, params);
  } catch (...) {
    Rethrow(conn_.get(), what);
  }
}

// ---------------------------------------------------------------------------------------------
// Pool

Pool::Pool(PoolConfig config) : config_(std::move(config)) {
  if (config_.size == 0 || config_.max_attempts < 1 || config_.connect_timeout_seconds < 1 ||
      config_.acquire_timeout.count() < 0 || config_.backoff_base.count() < 0 ||
      config_.backoff_max < config_.backoff_base) {
    throw DbError(ErrorKind::kInvalidInput, "database: invalid pool configuration", "", false);
  }
  // Parse the DSN with libpq's own parser: validates it, finds the password (to redact it from
  // libpq messages) and lets us add connect_timeout whatever the DSN's syntax (URI or key=value).
  std::string raw(config_.dsn.reveal_string());
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(raw.c_str(), &parse_error);
  Cleanse(raw);
  if (options == nullptr) {
    // The parser's message may quote part of the DSN (and so the password): never pass it on.
    if (parse_error != nullptr) {
      OPENSSL_cleanse(parse_error, std::char_traits<char>::length(parse_error));
      PQfreemem(parse_error);
    }
    throw DbError(ErrorKind::kInvalidInput, "database: malformed connection string", "", false);
  }
  std::string normalized;
  bool has_timeout = false;
  std::string host, port, dbname, user;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    const std::string_view val = o->val;
    if (key == "password") password_ = Secret::FromString(val);
    if (key == "connect_timeout") has_timeout = true;
    if (key == "host" || key == "hostaddr") host = std::string(val);
    if (key == "port") port = std::string(val);
    if (key == "dbname") dbname = std::string(val);
    if (key == "user") user = std::string(val);
    normalized += std::string(key) + "=" + Quote(val) + " ";
    OPENSSL_cleanse(o->val, val.size());
  }
  PQconninfoFree(options);
  if (!has_timeout) {
    normalized += "connect_timeout=" + std::to_string(config_.connect_timeout_seconds) + " ";
  }
  config_.dsn = Secret::FromString(normalized);
  Cleanse(normalized);
  description_ = "host=" + (host.empty() ? std::string("(default)") : host) +
                 " port=" + (port.empty() ? std::string("(default)") : port) +
                 " dbname=" + (dbname.empty() ? std::string("(default)") : dbname) +
                 " user=" + (user.empty() ? std::string("(default)") : user);
}

Pool::~Pool() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

std::size_t Pool::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_;
}

std::unique_ptr<detail::Connection> Pool::Connect() {
  auto c = std::make_unique<detail::Connection>();
  std::string dsn(config_.dsn.reveal_string());
  try {
    c->conn = std::make_unique<pqxx::connection>(dsn);
  } catch (const std::exception& e) {
    Cleanse(dsn);
    std::string reason = FirstLine(e.what());
    if (!password_.empty() && reason.find(password_.reveal_string()) != std::string::npos) {
      reason = "connection refused by libpq";
    }
    throw DbError(ErrorKind::kUnavailable,
                  "database: cannot connect to " + description_ + ": " + reason, "08001", true);
  }
  Cleanse(dsn);
  c->quiet = std::make_unique<pqxx::quiet_errorhandler>(*c->conn);
  try {
    pqxx::nontransaction ntx(*c->conn);
    ntx.exec("SET bytea_output = 'hex'");
  } catch (...) {
    Rethrow(c.get(), "connect");
  }
  return c;
}

Lease Pool::Acquire() {
  const auto start = Clock::now();
  const auto report = [this, start] {
    if (config_.observer) config_.observer->OnPoolWait(SecondsSince(start));
  };
  std::unique_ptr<detail::Connection> conn;
  {
    std::unique_lock lock(mutex_);
    const bool ready = available_.wait_until(lock, start + config_.acquire_timeout, [this] {
      return !idle_.empty() || open_ < config_.size;
    });
    if (!ready) {
      lock.unlock();
      report();
      throw DbError(ErrorKind::kUnavailable, "database: connection pool exhausted", "", false);
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserve a slot for the connection opened below
    }
  }
  if (conn != nullptr && !conn->Usable()) conn.reset();  // keep its slot, replace it
  if (conn == nullptr) {
    try {
      conn = Connect();
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        --open_;
      }
      available_.notify_one();
      report();
      throw;
    }
  }
  report();
  return Lease(this, std::move(conn));
}

void Pool::Return(std::unique_ptr<detail::Connection> conn) noexcept {
  std::vector<std::unique_ptr<detail::Connection>> drop;
  {
    std::lock_guard lock(mutex_);
    if (conn->Usable()) {
      idle_.push_back(std::move(conn));
    } else {
      // One broken connection usually means the server restarted or the network failed: the idle
      // ones are as stale. Drop them all so the next leases reconnect instead of failing.
      drop.push_back(std::move(conn));
      for (auto& idle : idle_) drop.push_back(std::move(idle));
      idle_.clear();
      open_ -= drop.size();
    }
  }
  available_.notify_all();
  // `drop` closes its connections here, outside the lock.
}

void Pool::Ping() {
  for (int attempt = 1;; ++attempt) {
    Lease lease = Acquire();
    try {
      lease.Exec("ping", "SELECT 1");
      return;
    } catch (const DbError& e) {
      // A stale connection (server restarted since it was opened) is dropped; try one fresh one.
      if (!e.retryable() || attempt >= 2) {
        throw DbError(ErrorKind::kUnavailable, std::string(e.detail()), e.sqlstate(), false);
      }
    }
  }
}

void Pool::RunImpl(std::string_view what, TxOptions options,
                   const std::function<void(Tx&)>& body) {
  const auto start = Clock::now();
  bool ok = false;
  struct Report {
    QueryObserver* observer;
    std::string_view what;
    const bool& ok;
    Clock::time_point start;
    ~Report() {
      if (observer != nullptr) observer->OnQuery(what, ok, SecondsSince(start));
    }
  } report{config_.observer.get(), what, ok, start};

  for (int attempt = 1;; ++attempt) {
    try {
      Lease lease = Acquire();
      Tx tx = lease.Begin(what, options);
      body(tx);
      if (!tx.committed()) tx.Commit();
      ok = true;
      return;
    } catch (const DbError& e) {
      if (!e.retryable() || e.in_doubt() || attempt >= config_.max_attempts) throw;
      if (config_.observer) config_.observer->OnRetry(what, RetryReason(e));
    }
    std::this_thread::sleep_for(Backoff(attempt, config_.backoff_base, config_.backoff_max));
  }
}

}  // namespace realdid::db
