// Router: maps (method, path) to a handler. Later issues extend the service by adding routes.
//
// Patterns are absolute paths whose segments are literals or "{name}" (one non-empty segment,
// captured into HttpRequest::params). Literal segments win over captures. A path that matches a
// pattern but not the method yields kMethodNotAllowed with the allowed methods (for 405 + Allow).
// Handlers receive a fully read, size-checked body and return an HttpResponse, or throw
// realdid::Error (mapped to a problem document by the HTTP layer; no exception escapes it).
// Thread-safety: build the router before serving; Find() is then safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace realdid::authority {

struct HttpRequest {
  std::string method;
  std::string path;                                          // decoded path, without query
  std::string query;                                         // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;
  std::string request_id;
  std::string route;                          // matched pattern
  std::map<std::string, std::string> params;  // captured {name} segments
  // Verified client certificate (mTLS listeners only; empty otherwise): DER and subject DN.
  std::vector<std::uint8_t> peer_certificate_der;
  std::string peer_subject;
  // IP address of the TCP peer (no port), e.g. "127.0.0.1".
  std::string peer_address;

  // Case-insensitive header lookup; first occurrence.
  std::optional<std::string> Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static HttpResponse Json(int status, std::string body);
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct RouteOptions {
  // When set, a request with a body must carry this media type (else 415), e.g. "application/json".
  std::optional<std::string> consumes;
  // Per-route body limit; 0 = the server's max_body_bytes. Never raises the server limit.
  std::size_t max_body_bytes = 0;
  // Whether the answer may be cached (default: "Cache-Control: no-store").
  bool cacheable = false;
};

struct Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;
  Handler handler;
  RouteOptions options;
};

struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::vector<std::string> allowed_methods;  // for kMethodNotAllowed (sorted)
  std::string pattern;                       // matched pattern (found or method-not-allowed)
};

class Router {
 public:
  // Throws Error(kInvalidInput) on a malformed pattern or a duplicate (method, pattern).
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  RouteMatch Find(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace realdid::authority
