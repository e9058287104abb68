// RFC 9457 problem documents: the ONE place where errors become client-facing HTTP answers.
//
// ProblemFromError maps every realdid::ErrorKind to a status and a problem type. For the internal
// kinds (kInternal, kCryptoFailure) the client sees only a generic detail plus the request id; the
// real detail is logged server-side (at error level, with the request id) and never sent.
// HttpProblem builds the problems the HTTP layer raises itself (400 for an unparsable request
// head, 404, 405, 408, 411, 413, 414, 415, 431, 503).
// Thread-safety: pure functions (ProblemFromError logs through the thread-safe Logger).
#pragma once

#include <string>
#include <string_view>

#include "authority/router.h"
#include "core/error.h"
#include "core/json.h"

namespace realdid::authority {

inline constexpr std::string_view kProblemContentType = "application/problem+json";

struct Problem {
  int status = 500;
  std::string type;         // URI reference, e.g. "urn:realdid:problem:not-found"
  std::string title;        // short, fixed per type
  std::string detail;       // human-readable; never internal detail for 5xx internals
  json::Object extensions;  // extra members (RFC 9457 section 3.2), e.g. "failed_checks"
};

// Maps an internal error to a problem. Logs the hidden detail of internal kinds with request_id.
Problem ProblemFromError(const Error& error, std::string_view request_id);

// A problem raised by the HTTP layer itself, for a status that has no ErrorKind of its own (405,
// 411, 415, 431) or for 404/413/503 with a specific detail. Unknown statuses map to 500.
Problem HttpProblem(int status, std::string detail);

// The status an ErrorKind maps to.
int StatusForKind(ErrorKind kind) noexcept;

// {"type":...,"title":...,"status":...,"detail":...,<extensions>,"request_id":...}
// (request_id omitted if empty).
std::string ProblemJson(const Problem& problem, std::string_view request_id);

// The HTTP answer carrying a problem (status, application/problem+json, body); a 503 carries
// Retry-After: 2 unless the caller appends its own.
HttpResponse ProblemResponse(const Problem& problem, std::string_view request_id);

}  // namespace realdid::authority
