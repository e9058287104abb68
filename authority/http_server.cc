#include "authority/http_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <istream>
#include <mutex>

#include "authority/http_connection.h"
#include "authority/log.h"
#include "authority/metrics.h"
#include "authority/problem.h"
#include "core/bytes.h"
#include "core/error.h"

namespace realdid::authority {

struct HttpsServer::Shared {
  HttpServerOptions options;
  std::shared_ptr<const Router> router;
  Metrics* metrics = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;      // guarded by mu
  bool stopping = false;  // guarded by mu
};

namespace {

using Clock = std::chrono::steady_clock;

std::string MethodLabel(const std::string& method) {
  static const char* const kKnown[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  for (const char* m : kKnown) {
    if (method == m) return method;
  }
  return "OTHER";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "application/json; charset=utf-8" -> "application/json"
std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(t.begin());
  return Lower(t);
}

bool MethodCarriesBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

// What the request head says about a body, read without throwing.
struct BodyInfo {
  bool chunked = false;
  std::int64_t length = -1;  // Content-Length, -1 when absent
  bool malformed = false;    // unparsable or negative Content-Length
  bool ambiguous = false;    // Transfer-Encoding not exactly chunked, or next to Content-Length
  bool present() const noexcept { return chunked || malformed || ambiguous || length > 0; }
};

BodyInfo InspectBody(const Poco::Net::HTTPServerRequest& req) {
  BodyInfo b;
  try {
    b.chunked = req.getChunkedTransferEncoding();
    // Request smuggling: a Transfer-Encoding other than exactly "chunked", or one next to a
    // Content-Length, makes the framing ambiguous.
    if (req.has("Transfer-Encoding") && (!b.chunked || req.has("Content-Length"))) {
      b.ambiguous = true;
    }
    if (req.hasContentLength()) {
      b.length = req.getContentLength64();
      if (b.length < 0) b.malformed = true;
    }
  } catch (...) {
    b.malformed = true;
  }
  if (b.malformed) b.length = -1;
  return b;
}

class InFlightGuard {
 public:
  explicit InFlightGuard(HttpsServer::Shared& s) : s_(s) {
    std::lock_guard lock(s_.mu);
    ++s_.in_flight;
    stopping_ = s_.stopping;
  }
  ~InFlightGuard() {
    std::lock_guard lock(s_.mu);
    --s_.in_flight;
    s_.cv.notify_all();
  }
  InFlightGuard(const InFlightGuard&) = delete;
  InFlightGuard& operator=(const InFlightGuard&) = delete;
  bool stopping() const noexcept { return stopping_; }

 private:
  HttpsServer::Shared& s_;
  bool stopping_ = false;
};

class DispatchHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit DispatchHandler(std::shared_ptr<HttpsServer::Shared> shared)
      : shared_(std::move(shared)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    // Nothing may escape: Poco would log and drop the connection without a problem document.
    try {
      Handle(req, resp);
    } catch (...) {
      try {
        LogError("request handling failed outside the handler");
      } catch (...) {
      }
    }
  }

 private:
  void Handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    InFlightGuard guard(*shared_);
    const HttpServerOptions& opt = shared_->options;
    auto start = Clock::now();
    HttpRequest request;
    request.request_id = ToHex(RandomBytes(8));
    request.method = req.getMethod();
    std::string route_label = "unmatched";
    bool keep_alive = true;
    BodyInfo body = InspectBody(req);
    bool body_consumed = !body.present();
    bool cacheable = false;
    HttpResponse out;
    try {
      if (guard.stopping()) {
        keep_alive = false;
        out = ProblemResponse(HttpProblem(503, "the server is shutting down; retry"),
                              request.request_id);
      } else {
        if (body.malformed) InvalidInput("malformed Content-Length");
        if (body.ambiguous) InvalidInput("ambiguous message framing (Transfer-Encoding)");
        Admit(req, resp, body, request, out, route_label, body_consumed, cacheable);
      }
    } catch (const Error& e) {
      out = ProblemResponse(ProblemFromError(e, request.request_id), request.request_id);
    } catch (const Poco::Exception& e) {
      Error wrapped(ErrorKind::kInternal, "Poco exception: " + e.displayText());
      out = ProblemResponse(ProblemFromError(wrapped, request.request_id), request.request_id);
    } catch (const std::exception& e) {
      Error wrapped(ErrorKind::kInternal, std::string("unexpected exception: ") + e.what());
      out = ProblemResponse(ProblemFromError(wrapped, request.request_id), request.request_id);
    } catch (...) {
      Error wrapped(ErrorKind::kInternal, "unknown exception");
      out = ProblemResponse(ProblemFromError(wrapped, request.request_id), request.request_id);
    }
    // An unread body would be parsed as the next request: close the connection instead (after a
    // lingering drain, so a client still sending reads this answer rather than a reset).
    if (!body_consumed) {
      keep_alive = false;
      MarkBodyUnread();
    }
    // Recorded before the answer leaves, so a client that saw the answer also sees the count.
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (shared_->metrics != nullptr) {
      shared_->metrics->ObserveHttpRequest(route_label, MethodLabel(request.method), out.status,
                                           seconds);
    }
    Send(resp, out, request.request_id, keep_alive, cacheable, opt.plain_http);
    LogInfo("request", {{"request_id", request.request_id},
                        {"listener", opt.name},
                        {"method", MethodLabel(request.method)},
                        {"route", route_label},
                        {"status", out.status},
                        {"duration_ms", static_cast<std::int64_t>(seconds * 1000.0)}});
  }

  // Header-size check, then routing and the handler.
  void Admit(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp,
             const BodyInfo& body, HttpRequest& request, HttpResponse& out,
             std::string& route_label, bool& body_consumed, bool& cacheable) {
    const HttpServerOptions& opt = shared_->options;
    // Header size: request line plus every "name: value\r\n".
    std::size_t header_bytes = req.getMethod().size() + req.getURI().size() + 12;
    for (const auto& [name, value] : req) {
      request.headers.emplace_back(name, value);
      header_bytes += name.size() + value.size() + 4;
    }
    if (header_bytes > opt.max_header_bytes) {
      out = ProblemResponse(HttpProblem(431, "request headers exceed " +
                                                 std::to_string(opt.max_header_bytes) + " bytes"),
                            request.request_id);
    } else {
      RouteAndHandle(req, resp, body, request, out, route_label, body_consumed, cacheable);
    }
  }

  void RouteAndHandle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp,
                      const BodyInfo& body, HttpRequest& request, HttpResponse& out,
                      std::string& route_label, bool& body_consumed, bool& cacheable) {
    const HttpServerOptions& opt = shared_->options;
    try {
      Poco::URI uri(req.getURI());
      request.path = uri.getPath();
      request.query = uri.getRawQuery();
    } catch (const Poco::Exception&) {
      InvalidInput("malformed request target");
    }
    RouteMatch match = shared_->router->Find(request.method, request.path);
    if (match.outcome == RouteMatch::Outcome::kNotFound) {
      out = ProblemResponse(HttpProblem(404, "no resource at this path"), request.request_id);
      return;
    }
    route_label = match.pattern;
    if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
      std::string allow;
      for (const std::string& m : match.allowed_methods) {
        if (!allow.empty()) allow += ", ";
        allow += m;
      }
      out = ProblemResponse(HttpProblem(405, "method " + MethodLabel(request.method) +
                                                 " not allowed; allowed: " + allow),
                            request.request_id);
      out.headers.emplace_back("Allow", allow);
      return;
    }
    const Route& route = *match.route;
    request.route = route.pattern;
    request.params = std::move(match.params);
    cacheable = route.options.cacheable;
    if (!opt.plain_http && (opt.tls.require_client_cert || opt.tls.request_client_cert)) {
      FillPeerCertificate(req, request);
    }
    request.peer_address = req.clientAddress().host().toString();

    bool has_length = body.length >= 0;
    bool chunked = body.chunked;
    if (route.options.consumes && (body.present() || MethodCarriesBody(request.method))) {
      std::string got = MediaType(req.getContentType());
      if (got != Lower(*route.options.consumes)) {
        out = ProblemResponse(HttpProblem(415, "expected Content-Type " + *route.options.consumes),
                              request.request_id);
        return;
      }
    }
    std::size_t limit = opt.max_body_bytes;
    if (route.options.max_body_bytes != 0) limit = std::min(limit, route.options.max_body_bytes);
    if (has_length && body.length > static_cast<std::int64_t>(limit)) {
      out = ProblemResponse(
          HttpProblem(413, "request body exceeds " + std::to_string(limit) + " bytes"),
          request.request_id);
      return;
    }
    if (chunked) {
      // Poco's chunked decoder ends a body silently at a malformed chunk size, so a truncated
      // body could pass as complete: request bodies must carry a Content-Length.
      out = ProblemResponse(HttpProblem(411, "chunked request bodies are not accepted; send a "
                                             "Content-Length"),
                            request.request_id);
      return;
    }
    if (has_length) {
      // Only now, when the request is admitted, does the client get its "100 Continue".
      if (req.getExpectContinue()) resp.sendContinue();
      std::istream& in = req.stream();
      char buf[8192];
      try {
        while (in) {
          in.read(buf, sizeof buf);
          auto n = static_cast<std::size_t>(in.gcount());
          if (n == 0) break;
          if (request.body.size() + n > limit) {
            out = ProblemResponse(
                HttpProblem(413, "request body exceeds " + std::to_string(limit) + " bytes"),
                request.request_id);
            return;  // body_consumed stays false: the connection is closed
          }
          request.body.append(buf, n);
        }
      } catch (const Poco::Exception&) {
        // Cut by the request deadline, or the peer went away.
        if (RequestTimedOut()) {
          out = ProblemResponse(HttpProblem(408, "the request did not arrive in time"),
                                request.request_id);
          return;
        }
        InvalidInput("the request body cannot be read");
      }
      if (RequestTimedOut()) {
        out = ProblemResponse(HttpProblem(408, "the request did not arrive in time"),
                              request.request_id);
        return;
      }
      if (request.body.size() != static_cast<std::size_t>(body.length)) {
        InvalidInput("request body shorter than Content-Length");
      }
      body_consumed = true;
    } else if (MethodCarriesBody(request.method)) {
      // Whatever follows is of unknown length: answer and close the connection.
      body_consumed = false;
      out = ProblemResponse(HttpProblem(411, "a Content-Length or chunked body is required"),
                            request.request_id);
      return;
    }
    MarkRequestRead();  // the deadline covers arrival only, not the handler's own work
    out = route.handler(request);
  }

  // Fills the verified client certificate, if the listener requires one and the peer sent it.
  static void FillPeerCertificate(Poco::Net::HTTPServerRequest& req, HttpRequest& request) {
    const Poco::Net::StreamSocket* own = CurrentConnectionSocket();
    if (own == nullptr) return;
    (void)req;
    Poco::Net::SecureStreamSocket socket(*own);  // throws if not a TLS socket
    if (!socket.havePeerCertificate()) return;
    Poco::Net::X509Certificate cert = socket.peerCertificate();
    request.peer_subject = cert.subjectName();
    const X509* x = cert.certificate();
    int len = i2d_X509(x, nullptr);
    if (len <= 0) Fail(ErrorKind::kInternal, "cannot encode the client certificate");
    request.peer_certificate_der.resize(static_cast<std::size_t>(len));
    unsigned char* out = request.peer_certificate_der.data();
    if (i2d_X509(x, &out) != len)
      Fail(ErrorKind::kInternal, "cannot encode the client certificate");
  }

  static void Send(Poco::Net::HTTPServerResponse& resp, const HttpResponse& out,
                   const std::string& request_id, bool keep_alive, bool cacheable,
                   bool plain_http) {
    try {
      resp.setStatus(std::to_string(out.status));
      resp.setReason(Poco::Net::HTTPResponse::getReasonForStatus(
          static_cast<Poco::Net::HTTPResponse::HTTPStatus>(out.status)));
      resp.setContentType(out.content_type);
      resp.setContentLength64(static_cast<Poco::Int64>(out.body.size()));
      resp.set("X-Request-Id", request_id);
      resp.set("Cache-Control", cacheable && out.status < 400 ? "public, max-age=60" : "no-store");
      if (!plain_http) {
        resp.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
      }
      resp.set("X-Content-Type-Options", "nosniff");
      resp.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
      resp.set("Referrer-Policy", "no-referrer");
      for (const auto& [k, v] : out.headers) resp.set(k, v);
      if (!keep_alive) resp.setKeepAlive(false);
      resp.sendBuffer(out.body.data(), out.body.size());
    } catch (...) {
      LogDebug("response not delivered", {{"request_id", request_id}});
    }
  }

  std::shared_ptr<HttpsServer::Shared> shared_;
};

class DispatchFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit DispatchFactory(std::shared_ptr<HttpsServer::Shared> shared)
      : shared_(std::move(shared)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& /*request*/) override {
    return new DispatchHandler(shared_);
  }

 private:
  std::shared_ptr<HttpsServer::Shared> shared_;
};

}  // namespace

HttpServerOptions HttpServerOptions::FromConfig(const ServerConfig& server) {
  HttpServerOptions o;
  o.name = "public";
  o.listen_address = server.listen_address;
  o.port = server.port;
  o.tls.cert_file = server.tls_cert_file;
  o.tls.key_file = server.tls_key_file;
  o.tls.ca_file = server.tls_ca_file;
  o.tls.require_client_cert = false;
  o.max_body_bytes = server.max_body_bytes;
  o.max_header_bytes = server.max_header_bytes;
  o.max_connections = server.max_connections;
  o.request_timeout = server.request_timeout;
  o.drain_timeout = server.drain_timeout;
  return o;
}

HttpsServer::HttpsServer(HttpServerOptions options, std::shared_ptr<const Router> router,
                         Metrics* metrics)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  if (!router) InvalidInput("HttpsServer: router required");
  if (options_.max_connections < 1) InvalidInput("HttpsServer: max_connections must be >= 1");
  shared_->options = options_;
  shared_->router = std::move(router);
  shared_->metrics = metrics;

  if (options_.plain_http) {
    // Benchmark only (authority/bench_listener.h): never reachable from another host.
    if (!IsLoopbackAddress(options_.listen_address)) {
      InvalidInput("HttpsServer: plain HTTP is refused on the non-loopback address " +
                   options_.listen_address);
    }
    try {
      auto plain = std::make_unique<Poco::Net::ServerSocket>();
      plain->bind(Poco::Net::SocketAddress(options_.listen_address, options_.port),
                  /*reuseAddress=*/true, /*reusePort=*/false);
      plain->listen(128);
      listener_ = std::move(plain);
    } catch (const Poco::Exception& e) {
      Fail(ErrorKind::kUnavailable, "cannot listen on " + options_.listen_address + ":" +
                                        std::to_string(options_.port) + ": " + e.displayText());
    }
  } else {
    Poco::Net::Context::Ptr ctx = MakeServerTlsContext(options_.tls);
    // A TCP end-of-stream without close_notify reads as an orderly end instead of a fatal TLS
    // error, so that the connection layer can still answer 408 after it cut a slow request's read
    // side. Requests are framed by Content-Length (chunked bodies are refused), so a truncated
    // request still fails as truncated; it cannot pass as complete.
    SSL_CTX_set_options(ctx->sslContext(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    listener_ = std::make_unique<Poco::Net::SecureServerSocket>(
        MakeTlsListener(options_.listen_address, options_.port, ctx));
  }
  port_ = listener_->address().port();

  auto params = Poco::makeAuto<Poco::Net::HTTPServerParams>();
  params->setMaxThreads(options_.max_connections);
  params->setMaxQueued(options_.max_connections);
  auto timeout_us = std::chrono::duration_cast<std::chrono::microseconds>(options_.request_timeout);
  params->setTimeout(Poco::Timespan(timeout_us.count()));
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(std::min<std::int64_t>(timeout_us.count(), 15000000)));
  params->setMaxKeepAliveRequests(1000);
  params->setServerName("");
  params->setSoftwareVersion("");
  pool_ = std::make_unique<Poco::ThreadPool>(1, options_.max_connections + 1, 60);
  connections_ = std::make_shared<ConnectionRegistry>(options_.request_timeout);
  server_ = std::make_unique<Poco::Net::TCPServer>(
      MakeConnectionFactory(connections_, params,
                            Poco::Net::HTTPRequestHandlerFactory::Ptr(new DispatchFactory(shared_)),
                            options_.name),
      *pool_, *listener_, params);
}

HttpsServer::~HttpsServer() {
  try {
    if (running_) Stop();
    server_.reset();
    if (pool_) pool_->joinAll();
  } catch (...) {
  }
}

void HttpsServer::Start() {
  if (running_ || stopped_) Fail(ErrorKind::kInternal, "HttpsServer: already started");
  // A peer that closes while we write (a client refused early, a reset) must cost an EPIPE on
  // that connection, not the process: TLS writes go through send() without MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  server_->start();
  running_ = true;
  LogInfo("listener started", {{"listener", options_.name}, {"url", url()}});
}

bool HttpsServer::Stop() {
  if (!running_) return true;
  running_ = false;
  stopped_ = true;
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
  }
  server_->stop();  // joins the acceptor thread
  try {
    listener_->close();  // refuse new connections instead of leaving them in the backlog
  } catch (...) {
  }
  bool drained = false;
  {
    std::unique_lock lock(shared_->mu);
    drained =
        shared_->cv.wait_for(lock, options_.drain_timeout, [&] { return shared_->in_flight == 0; });
  }
  // Close kept-alive connections; abort the ones still busy if the drain timed out.
  connections_->StopAll(/*abort=*/!drained);
  int left = in_flight();
  if (drained) {
    LogInfo("listener stopped", {{"listener", options_.name}});
  } else {
    LogWarn("listener stopped before all requests finished",
            {{"listener", options_.name}, {"in_flight", left}});
  }
  return drained;
}

std::string HttpsServer::url() const {
  std::string host = options_.listen_address.find(':') != std::string::npos
                         ? "[" + options_.listen_address + "]"
                         : options_.listen_address;
  return (options_.plain_http ? "http://" : "https://") + host + ":" + std::to_string(port_);
}

bool HttpsServer::draining() const {
  std::lock_guard lock(shared_->mu);
  return shared_->stopping;
}

int HttpsServer::in_flight() const {
  std::lock_guard lock(shared_->mu);
  return shared_->in_flight;
}

}  // namespace realdid::authority
