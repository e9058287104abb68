// End-to-end tests of the HTTP layer over real TLS: the server runs in-process on a free port with
// a throwaway certificate; clients verify it against the test CA. /metrics is scraped over plain
// HTTP on loopback.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <utility>
#include <csignal>
#include <future>
#include <thread>

#include "authority/health.h"
#include "authority/http_server.h"
#include "authority/log.h"
#include "authority/metrics.h"
#include "authority/readiness.h"
#include "authority/router.h"
#include "authority/shutdown_signal.h"
#include "core/error.h"
#include "core/json.h"
#include "tests/authority/test_tls.h"

namespace realdid::authority {
namespace {

using realdid::testing::ClientResponse;

constexpr std::size_t kMaxBody = 1024;

class AuthorityServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::Global().SetLevel(LogLevel::kWarn);
    checks_.Add(
        "hsm", [] {}, std::chrono::seconds(5));
    checks_.Add(
        "database",
        [this] {
          if (!db_up_) Fail(ErrorKind::kUnavailable, "database down (test)");
        },
        std::chrono::seconds(5));
    auto router = std::make_shared<Router>();
    AddHealthRoutes(*router, checks_, &metrics_);
    router->Add(
        "POST", "/test/echo", [](const HttpRequest& r) { return HttpResponse::Json(200, r.body); },
        RouteOptions{.consumes = "application/json"});
    router->Add("GET", "/test/internal", [](const HttpRequest&) -> HttpResponse {
      Fail(ErrorKind::kInternal, "secret-internal-detail-91c");
    });
    router->Add("GET", "/test/crash", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("raw-exception-detail-4d2");
    });
    router->Add("GET", "/test/invalid", [](const HttpRequest&) -> HttpResponse {
      InvalidInput("field 'x' must be base64url");
    });
    router->Add("GET", "/test/slow", [this](const HttpRequest&) {
      entered_.set_value();
      release_future_.wait();
      return HttpResponse::Json(200, R"({"slow":"done"})");
    });
    HttpServerOptions opt;
    opt.listen_address = "127.0.0.1";
    opt.port = 0;
    opt.tls.cert_file = pki_.cert_file();
    opt.tls.key_file = pki_.key_file();
    opt.max_body_bytes = kMaxBody;
    opt.max_header_bytes = 4096;
    opt.max_connections = 8;
    opt.request_timeout = std::chrono::seconds(30);
    opt.drain_timeout = std::chrono::seconds(60);
    ConfigureServer(opt);
    server_ = std::make_unique<HttpsServer>(opt, router, &metrics_);
    server_->Start();
  }
  void TearDown() override {
    if (!released_) release_.set_value();
    server_.reset();
    Logger::Global().SetLevel(LogLevel::kInfo);
  }
  virtual void ConfigureServer(HttpServerOptions&) {}

  ClientResponse Request(const std::string& method, const std::string& path,
                         const std::string& body = "", const std::string& content_type = "",
                         bool chunked = false) {
    Poco::Net::HTTPSClientSession session("127.0.0.1", server_->port(),
                                          realdid::testing::ClientContext(pki_.ca_file()));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!content_type.empty()) req.setContentType(content_type);
    if (chunked) {
      req.setChunkedTransferEncoding(true);
    } else if (!body.empty() || method == "POST") {
      req.setContentLength64(static_cast<Poco::Int64>(body.size()));
    }
    std::ostream& os = session.sendRequest(req);
    os << body;
    return realdid::testing::ReadResponse(session);
  }

  std::string Scrape() {
    // Started on first use only: stopping the embedded web server takes about two seconds.
    if (!exposer_) exposer_ = std::make_unique<MetricsExposer>(metrics_, "127.0.0.1", 0);
    Poco::Net::HTTPClientSession session("127.0.0.1", exposer_->port());
    Poco::Net::HTTPRequest req("GET", "/metrics", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(req);
    ClientResponse r = realdid::testing::ReadResponse(session);
    EXPECT_EQ(r.status, 200);
    return r.body;
  }

  // Value of the series line that starts with `series ` in the exposition, or -1.
  static double SeriesValue(const std::string& text, const std::string& series) {
    std::size_t pos = 0;
    while ((pos = text.find(series + " ", pos)) != std::string::npos) {
      if (pos == 0 || text[pos - 1] == '\n') {
        return std::stod(text.substr(pos + series.size() + 1));
      }
      pos += series.size();
    }
    return -1;
  }

  realdid::testing::TestPki pki_;
  Metrics metrics_{"test-version"};
  ReadinessChecks checks_;
  std::atomic<bool> db_up_{true};
  std::promise<void> entered_;
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
  bool released_ = false;
  std::unique_ptr<HttpsServer> server_;
  std::unique_ptr<MetricsExposer> exposer_;
};

void ExpectProblem(const ClientResponse& r, int status, const std::string& type) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.content_type, "application/problem+json");
  json::Value v = json::Parse(r.body);
  EXPECT_EQ(v.at("status").as_int(), status);
  EXPECT_EQ(v.at("type").as_string(), type);
  EXPECT_FALSE(v.at("title").as_string().empty());
  EXPECT_FALSE(v.at("detail").as_string().empty());
  ASSERT_TRUE(r.headers.count("X-Request-Id"));
  EXPECT_EQ(v.at("request_id").as_string(), r.headers.at("X-Request-Id"));
  EXPECT_EQ(r.headers.at("Cache-Control"), "no-store");
}

TEST_F(AuthorityServerTest, HealthzOverVerifiedTls) {
  ClientResponse r = Request("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.headers["Cache-Control"], "no-store");
  EXPECT_EQ(r.headers["Strict-Transport-Security"], "max-age=63072000; includeSubDomains");
  EXPECT_EQ(r.headers["X-Content-Type-Options"], "nosniff");
  ASSERT_EQ(r.headers["X-Request-Id"].size(), 16u);
  EXPECT_NE(Request("GET", "/healthz").headers["X-Request-Id"], r.headers["X-Request-Id"]);
}

TEST_F(AuthorityServerTest, ClientTrustingAnotherCaRefusesTheServer) {
  Poco::Net::HTTPSClientSession session("127.0.0.1", server_->port(),
                                        realdid::testing::ClientContext(pki_.other_ca_file()));
  Poco::Net::HTTPRequest req("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
  EXPECT_THROW(session.sendRequest(req), Poco::Exception);
}

TEST_F(AuthorityServerTest, ErrorsAreProblemDocuments) {
  ExpectProblem(Request("GET", "/nope"), 404, "urn:realdid:problem:not-found");
  ClientResponse r405 = Request("DELETE", "/healthz");
  ExpectProblem(r405, 405, "urn:realdid:problem:method-not-allowed");
  EXPECT_EQ(r405.headers["Allow"], "GET");
  ExpectProblem(Request("POST", "/test/echo", "hello", "text/plain"), 415,
                "urn:realdid:problem:unsupported-media-type");
  ClientResponse bad = Request("GET", "/test/invalid");
  ExpectProblem(bad, 400, "urn:realdid:problem:invalid-input");
  EXPECT_EQ(json::Parse(bad.body).at("detail").as_string(), "field 'x' must be base64url");
}

TEST_F(AuthorityServerTest, InternalErrorsHideTheirDetail) {
  for (const char* path : {"/test/internal", "/test/crash"}) {
    ClientResponse r = Request("GET", path);
    ExpectProblem(r, 500, "urn:realdid:problem:internal");
    EXPECT_EQ(r.body.find("secret-internal-detail"), std::string::npos);
    EXPECT_EQ(r.body.find("raw-exception-detail"), std::string::npos);
    EXPECT_NE(r.body.find(r.headers["X-Request-Id"]), std::string::npos);
  }
}

TEST_F(AuthorityServerTest, BodyLimitEnforced) {
  std::string fits(kMaxBody, 'a');
  fits.front() = '"';
  fits.back() = '"';
  ClientResponse ok = Request("POST", "/test/echo", fits, "application/json");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, fits);
  // Declared length over the limit: refused before reading.
  ExpectProblem(Request("POST", "/test/echo", std::string(kMaxBody + 1, 'a'), "application/json"),
                413, "urn:realdid:problem:too-large");
  // Chunked request bodies are refused before reading (Poco's decoder would end a body silently
  // at a malformed chunk size), whatever their size.
  ExpectProblem(
      Request("POST", "/test/echo", std::string(kMaxBody + 1, 'b'), "application/json", true), 411,
      "urn:realdid:problem:length-required");
  ExpectProblem(Request("POST", "/test/echo", "[1,2]", "application/json", true), 411,
                "urn:realdid:problem:length-required");
}

TEST_F(AuthorityServerTest, HeaderLimitEnforced) {
  Poco::Net::HTTPSClientSession session("127.0.0.1", server_->port(),
                                        realdid::testing::ClientContext(pki_.ca_file()));
  Poco::Net::HTTPRequest req("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("X-Padding-1", std::string(3000, 'p'));
  req.set("X-Padding-2", std::string(3000, 'p'));
  session.sendRequest(req);
  ExpectProblem(realdid::testing::ReadResponse(session), 431,
                "urn:realdid:problem:headers-too-large");
}

TEST_F(AuthorityServerTest, ReadyzReportsFailedChecksByName) {
  ClientResponse ok = Request("GET", "/readyz");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"status":"ready","checks":["hsm","database"]})");
  EXPECT_EQ(SeriesValue(Scrape(), "realdid_ready"), 1.0);

  db_up_ = false;
  ClientResponse down = Request("GET", "/readyz");
  ExpectProblem(down, 503, "urn:realdid:problem:unavailable");
  json::Value v = json::Parse(down.body);
  EXPECT_EQ(v.at("failed_checks"), json::Value(json::Array{"database"}));
  EXPECT_EQ(down.body.find("database down (test)"), std::string::npos);  // no internal text
  EXPECT_EQ(SeriesValue(Scrape(), "realdid_ready"), 0.0);

  db_up_ = true;
  EXPECT_EQ(Request("GET", "/readyz").status, 200);
}

TEST_F(AuthorityServerTest, MetricsCountRequestsByRoutePattern) {
  const std::string healthz =
      R"(realdid_http_requests_total{method="GET",route="/healthz",status="200"})";
  const std::string unmatched =
      R"(realdid_http_requests_total{method="GET",route="unmatched",status="404"})";
  std::string before = Scrape();
  EXPECT_EQ(SeriesValue(before, healthz), -1);  // no request yet
  EXPECT_EQ(SeriesValue(before, R"(realdid_build_info{version="test-version"})"), 1.0);
  Request("GET", "/healthz");
  Request("GET", "/healthz");
  Request("GET", "/no/such/path/abc");
  std::string after = Scrape();
  EXPECT_EQ(SeriesValue(after, healthz), 2.0);
  EXPECT_EQ(SeriesValue(after, unmatched), 1.0);
  EXPECT_EQ(after.find("/no/such/path"), std::string::npos);  // raw paths never become labels
  EXPECT_EQ(SeriesValue(after, R"(realdid_http_request_duration_seconds_count{route="/healthz"})"),
            2.0);
  for (const char* family :
       {"realdid_hsm_recoveries_total", "realdid_db_queries_total",
        "realdid_db_query_duration_seconds", "realdid_ready", "realdid_build_info"}) {
    EXPECT_NE(after.find(std::string("# TYPE ") + family), std::string::npos) << family;
  }
}

// Raw OpenSSL client limited to [min, max] protocol versions; returns the negotiated version or 0.
int HandshakeVersion(std::uint16_t port, const std::string& ca_file, int min_version,
                     int max_version, const char* tls12_ciphers = nullptr) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);  // let the client offer old protocols at all
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL_CTX_set_cipher_list(ctx, tls12_ciphers != nullptr ? tls12_ciphers : "ALL:@SECLEVEL=0");
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int version = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) version = SSL_version(ssl);
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ERR_clear_error();
  ::close(fd);
  SSL_CTX_free(ctx);
  return version;
}

TEST_F(AuthorityServerTest, OnlyTls12And13WithAeadCiphers) {
  std::uint16_t port = server_->port();
  EXPECT_EQ(HandshakeVersion(port, pki_.ca_file(), TLS1_3_VERSION, TLS1_3_VERSION), TLS1_3_VERSION);
  EXPECT_EQ(HandshakeVersion(port, pki_.ca_file(), TLS1_2_VERSION, TLS1_2_VERSION), TLS1_2_VERSION);
  EXPECT_EQ(HandshakeVersion(port, pki_.ca_file(), TLS1_1_VERSION, TLS1_1_VERSION), 0);
  EXPECT_EQ(HandshakeVersion(port, pki_.ca_file(), TLS1_VERSION, TLS1_VERSION), 0);
  EXPECT_EQ(HandshakeVersion(port, pki_.ca_file(), TLS1_VERSION, TLS1_1_VERSION), 0);
  // TLS 1.2 with a CBC (non-AEAD) suite only, or without ECDHE: refused.
  EXPECT_EQ(HandshakeVersion(port, pki_.ca_file(), TLS1_2_VERSION, TLS1_2_VERSION,
                             "ECDHE-ECDSA-AES128-SHA256"),
            0);
  EXPECT_EQ(
      HandshakeVersion(port, pki_.ca_file(), TLS1_2_VERSION, TLS1_2_VERSION, "AES128-GCM-SHA256"),
      0);
  EXPECT_EQ(HandshakeVersion(port, pki_.ca_file(), TLS1_2_VERSION, TLS1_2_VERSION,
                             "ECDHE-ECDSA-AES128-GCM-SHA256"),
            TLS1_2_VERSION);
}

bool CanConnect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

TEST_F(AuthorityServerTest, SigtermDrainsInFlightRequestBeforeStopping) {
  ShutdownSignal signals;
  std::uint16_t port = server_->port();
  // The service's main loop: wait for the signal, then stop with drain.
  auto controller = std::async(std::launch::async, [&] {
    int sig = signals.Wait();
    bool drained = server_->Stop();
    return std::make_pair(sig, drained);
  });
  auto client = std::async(std::launch::async, [&] { return Request("GET", "/test/slow"); });
  entered_.get_future().wait();  // the slow request is in the handler
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  // Stop() cannot finish while the request is in flight.
  EXPECT_EQ(controller.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  EXPECT_EQ(server_->in_flight(), 1);
  release_.set_value();
  released_ = true;
  auto [sig, drained] = controller.get();
  EXPECT_EQ(sig, SIGTERM);
  EXPECT_TRUE(drained);
  ClientResponse r = client.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"slow":"done"})");
  EXPECT_FALSE(CanConnect(port));  // no longer accepting
}

TEST_F(AuthorityServerTest, KeptAliveConnectionGets503WhileDraining) {
  Poco::Net::HTTPSClientSession kept("127.0.0.1", server_->port(),
                                     realdid::testing::ClientContext(pki_.ca_file()));
  kept.setKeepAlive(true);
  auto get = [&](const std::string& path) {
    Poco::Net::HTTPRequest req("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setKeepAlive(true);
    kept.sendRequest(req);
    return realdid::testing::ReadResponse(kept);
  };
  EXPECT_EQ(get("/healthz").status, 200);
  auto client = std::async(std::launch::async, [&] { return Request("GET", "/test/slow"); });
  entered_.get_future().wait();
  auto stopper = std::async(std::launch::async, [&] { return server_->Stop(); });
  while (!server_->draining()) std::this_thread::yield();
  ClientResponse r = get("/healthz");  // same connection, arriving during the drain
  ExpectProblem(r, 503, "urn:realdid:problem:unavailable");
  EXPECT_EQ(r.headers["Connection"], "Close");
  release_.set_value();
  released_ = true;
  EXPECT_TRUE(stopper.get());
  EXPECT_EQ(client.get().status, 200);
}

// Sends raw bytes over TLS (trusting the test CA) and returns everything the server answers.
std::string RawTlsExchange(std::uint16_t port, const std::string& ca_file,
                           const std::string& data) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      SSL_write(ssl, data.data(), static_cast<int>(data.size()));
      char buf[4096];
      int n = 0;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
        answer.append(buf, static_cast<std::size_t>(n));
    }
    SSL_free(ssl);
  }
  ERR_clear_error();
  ::close(fd);
  SSL_CTX_free(ctx);
  return answer;
}

TEST_F(AuthorityServerTest, PostWithoutLengthIs411AndConnectionCloses) {
  // No Content-Length, no chunking: the server must not wait for EOF; it answers 411 and closes
  // (SSL_read returning 0 ends RawTlsExchange).
  std::string answer = RawTlsExchange(
      server_->port(), pki_.ca_file(),
      "POST /test/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 411 Length Required\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Type: application/problem+json"), std::string::npos);
  EXPECT_NE(answer.find("Connection: Close\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"("type":"urn:realdid:problem:length-required")"), std::string::npos);
}

TEST_F(AuthorityServerTest, MalformedContentLengthIsRefused) {
  auto send = [&](const char* length) {
    return RawTlsExchange(
        server_->port(), pki_.ca_file(),
        std::string("POST /test/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                    "application/json\r\nContent-Length: ") +
            length + "\r\n\r\n{}");
  };
  std::string negative = send("-5");
  EXPECT_EQ(negative.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << negative;
  EXPECT_NE(negative.find(R"("detail":"malformed Content-Length")"), std::string::npos);
  EXPECT_NE(negative.find("Connection: Close\r\n"), std::string::npos);
  // Not a number: refused while the head is parsed, before any handler runs, still with a problem
  // document (Poco's own connection answered a bodiless 400 or dropped the connection).
  std::string abc = send("abc");
  EXPECT_EQ(abc.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << abc;
  EXPECT_NE(abc.find("Content-Type: application/problem+json"), std::string::npos) << abc;
  EXPECT_NE(abc.find(R"("detail":"malformed Content-Length")"), std::string::npos) << abc;
  EXPECT_NE(abc.find("Connection: Close\r\n"), std::string::npos) << abc;
}

TEST_F(AuthorityServerTest, UnparsableHeadsGetProblemDocuments) {
  auto head = [&](const std::string& raw) {
    return RawTlsExchange(server_->port(), pki_.ca_file(), raw);
  };
  struct Case {
    std::string raw;
    std::string status_line;
    std::string type;
  };
  const std::string line = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n";
  std::string many = line;
  for (int i = 0; i < 120; ++i) many += "X-F" + std::to_string(i) + ": v\r\n";
  const std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400", "invalid-input"},
      {"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", "HTTP/1.1 400", "invalid-input"},
      {line + "NoColonHere\r\n\r\n", "HTTP/1.1 400", "invalid-input"},
      {line + " folded: value\r\n\r\n", "HTTP/1.1 400", "invalid-input"},
      {line + "X-Ctl: a\x01b\r\n\r\n", "HTTP/1.1 400", "invalid-input"},
      {line + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", "HTTP/1.1 400",
       "invalid-input"},
      {line + "X-Long: " + std::string(9000, 'v') + "\r\n\r\n", "HTTP/1.1 431",
       "headers-too-large"},
      {many + "\r\n", "HTTP/1.1 431", "headers-too-large"},
      {"GET /healthz?" + std::string(20000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 414", "uri-too-long"},
  };
  for (const Case& c : cases) {
    std::string answer = head(c.raw);
    EXPECT_EQ(answer.rfind(c.status_line, 0), 0u) << c.raw.substr(0, 60) << "\n" << answer;
    EXPECT_NE(answer.find("Content-Type: application/problem+json"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\"type\":\"urn:realdid:problem:" + c.type + "\""), std::string::npos)
        << answer;
  }
  // The server still serves.
  EXPECT_EQ(Request("GET", "/healthz").status, 200);
}

// Dribbles `data` one byte every 100 ms after a fast prefix, until the server answers or closes
// (or 60 s pass: then `cut` is false). Returns whether it was cut and what arrived.
std::pair<bool, std::string> Dribble(std::uint16_t port, const std::string& ca_file,
                                     const std::string& data, std::size_t fast_prefix) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool cut = false;
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      SSL_write(ssl, data.data(), static_cast<int>(fast_prefix));
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      for (std::size_t i = fast_prefix; std::chrono::steady_clock::now() < give_up; ++i) {
        pollfd p{fd, POLLIN, 0};
        if (SSL_pending(ssl) > 0 || ::poll(&p, 1, 100) > 0) {
          cut = true;
          break;
        }
        if (SSL_write(ssl, &data[i % data.size()], 1) <= 0) {
          cut = true;
          break;
        }
      }
      char buf[4096];
      int n = 0;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) answer.append(buf, static_cast<std::size_t>(n));
    }
    SSL_free(ssl);
  }
  ERR_clear_error();
  ::close(fd);
  SSL_CTX_free(ctx);
  return {cut, answer};
}

class AuthoritySlowClientTest : public AuthorityServerTest {
 protected:
  void ConfigureServer(HttpServerOptions& opt) override {
    opt.request_timeout = std::chrono::seconds(1);
  }
};

TEST_F(AuthoritySlowClientTest, RequestDeadlineCutsADribbledHeadOrBody) {
  // The per-read socket timeout (1 s here) never fires for a client sending a byte every 100 ms;
  // the request deadline does. The answer is a 408 problem when TLS still allows one; the
  // connection closes in any case.
  const std::string body(900, ' ');  // below kMaxBody
  const std::string req = "POST /test/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                          "application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t prefix : {std::size_t{3}, req.size() - body.size() + 1}) {
    auto [cut, answer] = Dribble(server_->port(), pki_.ca_file(), req, prefix);
    EXPECT_TRUE(cut) << "prefix " << prefix;
    if (!answer.empty()) {
      EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
      EXPECT_NE(answer.find("urn:realdid:problem:request-timeout"), std::string::npos) << answer;
    }
  }
  // A prompt request on a fresh connection is served as usual.
  EXPECT_EQ(Request("GET", "/healthz").status, 200);
}

TEST_F(AuthorityServerTest, UnreadBodyIsNeverParsedAsTheNextRequest) {
  // A 404 for a request with a body the server did not read: the connection closes, so the
  // smuggled second request in the body is never answered.
  std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  std::string answer = RawTlsExchange(server_->port(), pki_.ca_file(),
                                      "POST /nope HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
                                          std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  EXPECT_EQ(answer.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << answer;
  EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: Close\r\n"), std::string::npos) << answer;
}

class AuthorityShortDrainTest : public AuthorityServerTest {
 protected:
  void ConfigureServer(HttpServerOptions& opt) override {
    opt.drain_timeout = std::chrono::milliseconds(100);
  }
};

TEST_F(AuthorityShortDrainTest, StopGivesUpAfterDrainTimeout) {
  auto client = std::async(std::launch::async, [&] {
    try {
      return Request("GET", "/test/slow").status;
    } catch (const Poco::Exception&) {
      return -1;  // the connection was aborted
    }
  });
  entered_.get_future().wait();
  EXPECT_FALSE(server_->Stop());  // the handler only finishes after we release it below
  release_.set_value();
  released_ = true;
  client.get();
}

TEST(AuthorityMutualTlsTest, ListenerRequiresAndExposesClientCertificate) {
  realdid::testing::TestPki pki;
  auto router = std::make_shared<Router>();
  router->Add("GET", "/whoami", [](const HttpRequest& r) {
    return HttpResponse::Json(
        200, json::Serialize(json::Value(json::Object{
                 {"subject", r.peer_subject},
                 {"der_bytes", static_cast<std::int64_t>(r.peer_certificate_der.size())}})));
  });
  HttpServerOptions opt;
  opt.name = "operator";
  opt.tls.cert_file = pki.cert_file();
  opt.tls.key_file = pki.key_file();
  opt.tls.ca_file = pki.ca_file();
  opt.tls.require_client_cert = true;
  HttpsServer server(opt, router, nullptr);
  server.Start();

  auto call = [&](Poco::Net::Context::Ptr ctx) {
    Poco::Net::HTTPSClientSession session("127.0.0.1", server.port(), ctx);
    Poco::Net::HTTPRequest req("GET", "/whoami", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(req);
    return realdid::testing::ReadResponse(session);
  };
  // With a certificate issued by the configured CA (the test leaf has clientAuth).
  Poco::Net::Context::Params params;
  params.caLocation = pki.ca_file();
  params.certificateFile = pki.cert_file();
  params.privateKeyFile = pki.key_file();
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  Poco::Net::Context::Ptr with_cert =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  ClientResponse r = call(with_cert);
  EXPECT_EQ(r.status, 200);
  json::Value v = json::Parse(r.body);
  EXPECT_NE(v.at("subject").as_string().find("CN=localhost"), std::string::npos) << r.body;
  EXPECT_GT(v.at("der_bytes").as_int(), 100);
  // Without a client certificate the handshake is refused.
  EXPECT_THROW(call(realdid::testing::ClientContext(pki.ca_file())), Poco::Exception);
  EXPECT_TRUE(server.Stop());
}

TEST(AuthorityMutualTlsTest, RequiresCaFile) {
  realdid::testing::TestPki pki;
  TlsOptions tls;
  tls.cert_file = pki.cert_file();
  tls.key_file = pki.key_file();
  tls.require_client_cert = true;
  EXPECT_THROW(MakeServerTlsContext(tls), Error);
  tls.require_client_cert = false;
  tls.key_file = pki.ca_file();  // not a key
  EXPECT_THROW(MakeServerTlsContext(tls), Error);
}

}  // namespace
}  // namespace realdid::authority
