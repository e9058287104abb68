// Concurrency: many clients at once over real TLS (kept-alive connections), concurrent readiness
// evaluations, and exact request counts in the metrics afterwards. Run under ThreadSanitizer in CI.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "authority/health.h"
#include "authority/http_server.h"
#include "authority/log.h"
#include "authority/metrics.h"
#include "authority/readiness.h"
#include "core/json.h"
#include "tests/authority/test_tls.h"

namespace realdid::authority {
namespace {

double SeriesValue(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

TEST(AuthorityConcurrencyTest, ParallelClientsAreAllAnsweredAndCounted) {
  Logger::Global().SetLevel(LogLevel::kWarn);
  realdid::testing::TestPki pki;
  Metrics metrics("c");
  ReadinessChecks checks;
  std::atomic<int> probes{0};
  checks.Add(
      "hsm", [&] { ++probes; }, std::chrono::seconds(10));
  checks.Add(
      "database", [&] { ++probes; }, std::chrono::seconds(10));
  auto router = std::make_shared<Router>();
  AddHealthRoutes(*router, checks, &metrics);
  router->Add(
      "POST", "/test/echo", [](const HttpRequest& r) { return HttpResponse::Json(200, r.body); },
      RouteOptions{.consumes = "application/json"});
  HttpServerOptions opt;
  opt.tls.cert_file = pki.cert_file();
  opt.tls.key_file = pki.key_file();
  opt.max_connections = 8;
  HttpsServer server(opt, router, &metrics);
  server.Start();

  constexpr int kThreads = 6;
  constexpr int kPerThread = 20;
  std::atomic<int> ok_health{0};
  std::atomic<int> ok_ready{0};
  std::atomic<int> ok_echo{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Poco::Net::HTTPSClientSession session("127.0.0.1", server.port(),
                                            realdid::testing::ClientContext(pki.ca_file()));
      session.setKeepAlive(true);
      for (int i = 0; i < kPerThread; ++i) {
        int kind = (t + i) % 3;
        Poco::Net::HTTPRequest req(kind == 2 ? "POST" : "GET",
                                   kind == 0   ? "/healthz"
                                   : kind == 1 ? "/readyz"
                                               : "/test/echo",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
        req.setKeepAlive(true);
        std::string body = "[" + std::to_string(t) + "," + std::to_string(i) + "]";
        if (kind == 2) {
          req.setContentType("application/json");
          req.setContentLength64(static_cast<Poco::Int64>(body.size()));
        }
        std::ostream& os = session.sendRequest(req);
        if (kind == 2) os << body;
        auto r = realdid::testing::ReadResponse(session);
        if (r.status != 200) continue;
        if (kind == 0 && r.body == R"({"status":"ok"})") ++ok_health;
        if (kind == 1) ++ok_ready;
        if (kind == 2 && r.body == body) ++ok_echo;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok_health + ok_ready + ok_echo, kThreads * kPerThread);

  std::string text = metrics.TextExposition();
  EXPECT_EQ(SeriesValue(
                text, R"(realdid_http_requests_total{method="GET",route="/healthz",status="200"})"),
            ok_health.load());
  EXPECT_EQ(SeriesValue(
                text, R"(realdid_http_requests_total{method="GET",route="/readyz",status="200"})"),
            ok_ready.load());
  EXPECT_EQ(
      SeriesValue(text,
                  R"(realdid_http_requests_total{method="POST",route="/test/echo",status="200"})"),
      ok_echo.load());
  EXPECT_TRUE(server.Stop());
  EXPECT_EQ(server.in_flight(), 0);
  Logger::Global().SetLevel(LogLevel::kInfo);
}

TEST(AuthorityConcurrencyTest, ConcurrentReadinessEvaluations) {
  ReadinessChecks checks;
  std::atomic<bool> healthy{true};
  checks.Add(
      "a", [] {}, std::chrono::seconds(10));
  checks.Add(
      "b",
      [&] {
        if (!healthy) throw std::runtime_error("down");
      },
      std::chrono::seconds(10));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (checks.Run().ready) ++ready;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ready.load(), 8 * 50);
  healthy = false;
  auto r = checks.Run();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.failed, (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace realdid::authority
