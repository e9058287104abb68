// A small HTTPS client for the wallet, the CLI and the benchmark (Poco NetSSL underneath; no Poco
// type in this header). One keep-alive connection per client object.
//
// Security contract: the server certificate is verified (VERIFY_STRICT, host name checked) against
// the CA file given and nothing else (the system store is not loaded); TLS 1.2 is the minimum. The
// client sends no identifying headers (no cookies, no User-Agent beyond Poco's none, no client
// certificate unless configured). Bearer tokens are passed as Secrets and never logged.
// Errors: a transport failure (connect, TLS, timeout) is Error(kUnavailable) "https: ...".
// Thread-safety: one thread at a time per HttpsClient; use one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

namespace realdid::wallet {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::optional<std::int64_t> retry_after;  // seconds, when the server sent Retry-After
  std::string etag;                          // the ETag header, when sent (else empty)
  std::string cache_control;                 // the Cache-Control header, when sent (else empty)
};

struct HttpsOptions {
  std::string ca_file;                  // PEM CA bundle that must have issued the server certificate
  std::string client_cert_file;         // optional client certificate (mutual TLS)
  std::string client_key_file;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // Optional: called after every exchange with the method, path, status and both bodies, e.g. to
  // write a transcript for docs/protocol.md. Bodies are what travelled on the wire; the bearer
  // secret (a header) is not passed.
  std::function<void(std::string_view method, std::string_view path, int status,
                     std::string_view request_body, std::string_view response_body)>
      transcript;
};

class HttpsClient {
 public:
  // base_url: https://host[:port] (a path prefix is allowed). Throws kInvalidInput on a bad URL.
  HttpsClient(std::string_view base_url, HttpsOptions options);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  const std::string& base_url() const noexcept { return base_url_; }
  HttpResponse Get(std::string_view path);
  HttpResponse Post(std::string_view path, std::string_view body, const Secret* bearer = nullptr,
                    std::string_view content_type = "application/json");
  // POST with additional request headers (e.g. the Privacy Pass RealDID-Attestation header).
  using Headers = std::vector<std::pair<std::string, std::string>>;
  HttpResponse PostWithHeaders(std::string_view path, std::string_view body,
                               std::string_view content_type, const Headers& headers);
  // GET with additional request headers (e.g. If-None-Match for cached revocation lists).
  HttpResponse GetWithHeaders(std::string_view path, const Headers& headers);

 private:
  struct Impl;
  HttpResponse Send(std::string_view method, std::string_view path, std::string_view body,
                    const Secret* bearer, std::string_view content_type,
                    const Headers* extra_headers = nullptr);
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

// A problem document (RFC 9457) from an error answer; fields empty when absent.
struct Problem {
  int status = 0;
  std::string type;
  std::string title;
  std::string detail;
  std::optional<std::int64_t> retry_after;
  std::string Describe() const;  // "<status> <type>: <title> (<detail>)"
};
Problem ParseProblem(const HttpResponse& r);

// The authority (or CTID) answered with an error status.
class ServerRefusal : public Error {
 public:
  ServerRefusal(std::string_view step, Problem problem);
  const Problem& problem() const noexcept { return problem_; }

 private:
  Problem problem_;
};

}  // namespace realdid::wallet
