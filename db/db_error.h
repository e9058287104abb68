// realdid::db::DbError — the database layer's refinement of realdid::Error.
//
// Every failure that leaves db/ is a DbError (callers may catch it as realdid::Error). Mapping:
//   unique violation (23505)                          -> kConflict
//   connection trouble, pool exhausted, server down    -> kUnavailable
//   commit outcome unknown (connection lost in COMMIT) -> kUnavailable, in_doubt() == true
//   everything else                                    -> kInternal
// retryable() says the whole transaction may safely be run again (serialization failure 40001,
// deadlock 40P01, connection lost before COMMIT). An in-doubt commit is never retryable.
// Security contract: the detail holds the caller's statement label, the SQLSTATE and, for error
// classes whose server text names only SQL objects, the first line of the server message. It never
// holds parameter values, the connection string or a password.
// Thread-safety: immutable value type.
#pragma once

#include <string>
#include <utility>

#include "core/error.h"

namespace realdid::db {

class DbError : public realdid::Error {
 public:
  DbError(ErrorKind kind, const std::string& detail, std::string sqlstate, bool retryable,
          bool in_doubt = false)
      : realdid::Error(kind, detail),
        sqlstate_(std::move(sqlstate)),
        retryable_(retryable),
        in_doubt_(in_doubt) {}

  // Five-character SQLSTATE, or empty when the failure did not come from the server.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // True when running the whole transaction again is safe and may succeed.
  bool retryable() const noexcept { return retryable_; }
  // True when the connection was lost during COMMIT: the transaction may or may not be durable.
  bool in_doubt() const noexcept { return in_doubt_; }

 private:
  std::string sqlstate_;
  bool retryable_;
  bool in_doubt_;
};

// The exact detail text of an in-doubt commit (stable, for operators and alerts).
inline constexpr const char* kCommitOutcomeUnknown = "commit outcome unknown";

}  // namespace realdid::db
