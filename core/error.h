// realdid::Error — the one internal error type that crosses every component.
//
// Contract: an Error has a Kind (what went wrong, which decides the HTTP status at the edge) and a
// detail text. The detail is written for an operator and MUST NOT contain secret material (keys,
// PINs, session secrets, identity data, plaintexts). For Kind::kInvalidInput and the other client
// kinds the HTTP layer may show the detail to the client; for internal kinds it never does.
// Thread-safety: immutable value type.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace realdid {

enum class ErrorKind {
  kInvalidInput,     // malformed or out-of-range input from a caller (4xx)
  kUnauthorized,     // missing or invalid authentication (401)
  kForbidden,        // authenticated but not allowed (403)
  kNotFound,         // no such object (404)
  kConflict,         // state conflict, e.g. write-once value already set differently (409)
  kTooLarge,         // input over a configured limit (413)
  kRateLimited,      // too many requests (429)
  kUnavailable,      // a dependency (HSM, database, CTID) is down; retry later (503)
  kCryptoFailure,    // a cryptographic check failed on our own output (internal, 500)
  kInternal,         // a bug or an unexpected state (500)
};

std::string_view ErrorKindName(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& detail) : std::runtime_error(detail), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }
  std::string_view detail() const noexcept { return what(); }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void Fail(ErrorKind kind, const std::string& detail) { throw Error(kind, detail); }
[[noreturn]] inline void InvalidInput(const std::string& detail) {
  throw Error(ErrorKind::kInvalidInput, detail);
}

}  // namespace realdid
