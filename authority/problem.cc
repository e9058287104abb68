#include "authority/problem.h"

#include "authority/log.h"
#include "core/json.h"

namespace realdid::authority {
namespace {

struct TypeInfo {
  const char* slug;
  const char* title;
};

TypeInfo InfoForStatus(int status) {
  switch (status) {
    case 400:
      return {"invalid-input", "Invalid input"};
    case 401:
      return {"unauthorized", "Authentication required"};
    case 403:
      return {"forbidden", "Forbidden"};
    case 404:
      return {"not-found", "Not found"};
    case 405:
      return {"method-not-allowed", "Method not allowed"};
    case 408:
      return {"request-timeout", "Request timeout"};
    case 409:
      return {"conflict", "Conflict"};
    case 411:
      return {"length-required", "Length required"};
    case 413:
      return {"too-large", "Request body too large"};
    case 414:
      return {"uri-too-long", "Request target too long"};
    case 415:
      return {"unsupported-media-type", "Unsupported media type"};
    case 422:
      return {"unprocessable", "Unprocessable content"};
    case 429:
      return {"rate-limited", "Too many requests"};
    case 431:
      return {"headers-too-large", "Request header fields too large"};
    case 503:
      return {"unavailable", "Service unavailable"};
    default:
      return {"internal", "Internal error"};
  }
}

Problem Make(int status, std::string detail) {
  TypeInfo info = InfoForStatus(status);
  if (std::string_view(info.slug) == "internal") status = 500;
  Problem p;
  p.status = status;
  p.type = std::string("urn:realdid:problem:") + info.slug;
  p.title = info.title;
  p.detail = std::move(detail);
  return p;
}

}  // namespace

int StatusForKind(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return 400;
    case ErrorKind::kUnauthorized:
      return 401;
    case ErrorKind::kForbidden:
      return 403;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kTooLarge:
      return 413;
    case ErrorKind::kRateLimited:
      return 429;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kCryptoFailure:
      return 500;
    case ErrorKind::kInternal:
      return 500;
  }
  return 500;
}

Problem ProblemFromError(const Error& error, std::string_view request_id) {
  ErrorKind kind = error.kind();
  if (kind == ErrorKind::kInternal || kind == ErrorKind::kCryptoFailure) {
    LogError(
        "internal error",
        {{"request_id", request_id}, {"kind", ErrorKindName(kind)}, {"detail", error.detail()}});
    Problem p = Make(500, "An internal error occurred. Quote request id " +
                              std::string(request_id) + " when reporting it.");
    return p;
  }
  if (kind == ErrorKind::kUnavailable) {
    // Which dependency is down is operator information; the client only learns to retry.
    LogWarn("dependency unavailable", {{"request_id", request_id}, {"detail", error.detail()}});
    return Make(503, "A dependency is temporarily unavailable; retry later.");
  }
  return Make(StatusForKind(kind), std::string(error.detail()));
}

Problem HttpProblem(int status, std::string detail) { return Make(status, std::move(detail)); }

std::string ProblemJson(const Problem& problem, std::string_view request_id) {
  json::Object obj;
  obj.emplace_back("type", json::Value(problem.type));
  obj.emplace_back("title", json::Value(problem.title));
  obj.emplace_back("status", json::Value(problem.status));
  obj.emplace_back("detail", json::Value(problem.detail));
  for (const json::Member& m : problem.extensions) {
    if (m.first == "type" || m.first == "title" || m.first == "status" || m.first == "detail" ||
        m.first == "request_id") {
      continue;
    }
    obj.push_back(m);
  }
  if (!request_id.empty()) obj.emplace_back("request_id", json::Value(request_id));
  return json::Serialize(json::Value(std::move(obj)));
}

}  // namespace realdid::authority

namespace realdid::authority {

HttpResponse ProblemResponse(const Problem& problem, std::string_view request_id) {
  HttpResponse r;
  r.status = problem.status;
  r.content_type = std::string(kProblemContentType);
  r.body = ProblemJson(problem, request_id);
  // Every 503 tells the client when to retry; a caller that knows better (the CTID breaker's
  // remaining open time) appends its own Retry-After, which replaces this one when sent.
  if (problem.status == 503) r.headers.emplace_back("Retry-After", "2");
  return r;
}

}  // namespace realdid::authority
