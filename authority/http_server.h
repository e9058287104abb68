// HttpsServer: one HTTPS listener (Poco TCPServer over a TLS 1.2/1.3 SecureServerSocket) that
// dispatches every request through a Router.
//
// Per request it: assigns a random request id (X-Request-Id), enforces the header-size limit (431),
// routes (404/405 + Allow), checks the media type of bodies (415), requires a length for bodies
// (411: a Content-Length; chunked request bodies are refused, since Poco's decoder ends a body
// silently at a malformed chunk size), enforces the body limit (413: from Content-Length, before
// reading), calls the handler, maps any exception to an RFC 9457 problem (problem.h; no
// exception escapes), adds security headers (Cache-Control: no-store, Strict-Transport-Security,
// X-Content-Type-Options, Content-Security-Policy, Referrer-Policy), records metrics labelled with
// the route pattern, and writes one structured access-log line (no raw path, no query, no body).
// Stop() stops accepting (closes the listening socket), waits for in-flight requests up to the
// drain timeout, answers requests that arrive on kept-alive connections meanwhile with 503, then
// closes the remaining connections (aborting the ones still busy if the drain timed out).
// The connection layer (authority/http_connection.h) answers what never reaches a handler with
// problem documents too: an unparsable request head (400; over 100 header fields or a field over
// 8 KiB: 431; a request target over 16 KiB: 414); a request that has not arrived whole within
// request_timeout (wall clock, head and body: 408, then close; slow clients). Answers that leave
// a body unread close the connection after a bounded lingering drain, so a client still sending
// an oversized body reads its 413. Connections: at most max_connections are served at once and as
// many wait queued; beyond that a new connection is closed at accept. Per-socket operations also
// time out after request_timeout; an idle kept-alive connection after min(request_timeout, 15 s).
// Framing: a Transfer-Encoding other than exactly "chunked", or next to a Content-Length, is 400.
// Every 503 carries Retry-After. SIGPIPE is ignored process-wide once a server starts (a peer that
// goes away costs an EPIPE on its connection, not the process).
// Plain HTTP (options.plain_http) exists only for the benchmark-only loopback listener
// (authority/bench_listener.h): the constructor refuses it on any address that is not loopback,
// and such a listener sends no Strict-Transport-Security and never reads a client certificate.
// Thread-safety: Start/Stop from one controlling thread; handlers run on the server's pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "authority/config.h"
#include "authority/router.h"
#include "authority/tls.h"

namespace Poco {
class ThreadPool;
namespace Net {
class TCPServer;
}  // namespace Net
}  // namespace Poco

namespace realdid::authority {

class Metrics;
class ConnectionRegistry;

struct HttpServerOptions {
  std::string name = "public";  // listener name for logs
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;
  TlsOptions tls;
  // Benchmark only: no TLS (tls is ignored). Refused unless listen_address is a loopback address.
  bool plain_http = false;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  int max_connections = 64;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(20)};

  // The public listener from [server] (no client certificates).
  static HttpServerOptions FromConfig(const ServerConfig& server);
};

class HttpsServer {
 public:
  // metrics may be null (no metrics recorded). Builds the TLS context and binds the socket; throws
  // Error(kInvalidInput) on bad TLS files or plain HTTP on a non-loopback address,
  // Error(kUnavailable) if the address cannot be bound.
  HttpsServer(HttpServerOptions options, std::shared_ptr<const Router> router, Metrics* metrics);
  // Stops (with drain) if still running; waits for handler threads to finish.
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  void Start();
  // Returns true when every in-flight request finished within the drain timeout.
  bool Stop();

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const;  // https://address:port (http:// for plain_http)
  int in_flight() const;
  bool draining() const;  // Stop() has begun

  struct Shared;  // state shared with request handlers (implementation detail)

 private:
  HttpServerOptions options_;
  std::shared_ptr<Shared> shared_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  bool stopped_ = false;
  std::unique_ptr<Poco::ThreadPool> pool_;  // outlives server_
  std::unique_ptr<Poco::Net::ServerSocket> listener_;  // a SecureServerSocket unless plain_http
  std::shared_ptr<ConnectionRegistry> connections_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
};

}  // namespace realdid::authority
