// Unit tests: problem documents for every ErrorKind, the router, log lines, readiness checks.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "authority/log.h"
#include "authority/problem.h"
#include "authority/readiness.h"
#include "authority/router.h"
#include "core/error.h"
#include "core/json.h"

namespace realdid::authority {
namespace {

// Captures log lines for the duration of a test.
class LogCapture {
 public:
  LogCapture() {
    previous_ = Logger::Global().SetSink([this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { Logger::Global().SetSink(std::move(previous_)); }
  std::vector<std::string> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  Logger::Sink previous_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

struct KindCase {
  ErrorKind kind;
  int status;
  const char* type;
  bool shows_detail;
};

TEST(AuthorityProblemTest, EveryErrorKindMapsToStatusAndType) {
  const KindCase cases[] = {
      {ErrorKind::kInvalidInput, 400, "urn:realdid:problem:invalid-input", true},
      {ErrorKind::kUnauthorized, 401, "urn:realdid:problem:unauthorized", true},
      {ErrorKind::kForbidden, 403, "urn:realdid:problem:forbidden", true},
      {ErrorKind::kNotFound, 404, "urn:realdid:problem:not-found", true},
      {ErrorKind::kConflict, 409, "urn:realdid:problem:conflict", true},
      {ErrorKind::kTooLarge, 413, "urn:realdid:problem:too-large", true},
      {ErrorKind::kRateLimited, 429, "urn:realdid:problem:rate-limited", true},
      {ErrorKind::kUnavailable, 503, "urn:realdid:problem:unavailable", false},
      {ErrorKind::kCryptoFailure, 500, "urn:realdid:problem:internal", false},
      {ErrorKind::kInternal, 500, "urn:realdid:problem:internal", false},
  };
  for (const KindCase& c : cases) {
    SCOPED_TRACE(std::string(ErrorKindName(c.kind)));
    LogCapture capture;
    const std::string detail = "detail-marker-7f3a for kind";
    Problem p = ProblemFromError(Error(c.kind, detail), "req-42");
    EXPECT_EQ(p.status, c.status);
    EXPECT_EQ(StatusForKind(c.kind), c.status);
    EXPECT_EQ(p.type, c.type);
    EXPECT_FALSE(p.title.empty());
    std::string body = ProblemJson(p, "req-42");
    json::Value v = json::Parse(body);
    EXPECT_EQ(v.at("status").as_int(), c.status);
    EXPECT_EQ(v.at("type").as_string(), c.type);
    EXPECT_EQ(v.at("request_id").as_string(), "req-42");
    bool shown = body.find("detail-marker-7f3a") != std::string::npos;
    EXPECT_EQ(shown, c.shows_detail) << body;
    if (!c.shows_detail) {
      // The hidden detail goes to the server log, with the request id.
      bool logged = false;
      for (const std::string& line : capture.lines()) {
        if (line.find("detail-marker-7f3a") != std::string::npos &&
            line.find("\"request_id\":\"req-42\"") != std::string::npos) {
          logged = true;
        }
      }
      EXPECT_TRUE(logged);
    }
  }
}

TEST(AuthorityProblemTest, InternalDetailStrippedAndRequestIdQuoted) {
  LogCapture capture;
  Problem p = ProblemFromError(Error(ErrorKind::kInternal, "CKR_DEVICE_ERROR in C_Sign"), "abc123");
  EXPECT_EQ(ProblemJson(p, "abc123"),
            R"({"type":"urn:realdid:problem:internal","title":"Internal error","status":500,)"
            R"("detail":"An internal error occurred. Quote request id abc123 when reporting it.",)"
            R"("request_id":"abc123"})");
}

TEST(AuthorityProblemTest, HttpLayerProblemsAndExtensions) {
  EXPECT_EQ(ProblemJson(HttpProblem(404, "no resource at this path"), ""),
            R"({"type":"urn:realdid:problem:not-found","title":"Not found","status":404,)"
            R"("detail":"no resource at this path"})");
  EXPECT_EQ(HttpProblem(405, "x").type, "urn:realdid:problem:method-not-allowed");
  EXPECT_EQ(HttpProblem(411, "x").type, "urn:realdid:problem:length-required");
  EXPECT_EQ(HttpProblem(413, "x").type, "urn:realdid:problem:too-large");
  EXPECT_EQ(HttpProblem(415, "x").type, "urn:realdid:problem:unsupported-media-type");
  EXPECT_EQ(HttpProblem(431, "x").type, "urn:realdid:problem:headers-too-large");
  EXPECT_EQ(HttpProblem(418, "x").status, 500);  // unknown statuses never leak through
  Problem p = HttpProblem(503, "readiness checks failed: database");
  p.extensions.emplace_back("failed_checks", json::Value(json::Array{"database"}));
  p.extensions.emplace_back("status", json::Value(200));  // reserved: ignored
  HttpResponse r = ProblemResponse(p, "r1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(r.body, R"({"type":"urn:realdid:problem:unavailable","title":"Service unavailable",)"
                    R"("status":503,"detail":"readiness checks failed: database",)"
                    R"("failed_checks":["database"],"request_id":"r1"})");
}

HttpResponse Ok(const HttpRequest&) { return HttpResponse::Json(200, "{}"); }

TEST(AuthorityRouterTest, FindsRoutesAndCaptures) {
  Router r;
  r.Add("GET", "/v1/credentials/{id}", Ok);
  r.Add("GET", "/v1/credentials/latest", Ok);
  r.Add("DELETE", "/v1/credentials/{id}", Ok);
  r.Add("GET", "/healthz", Ok);

  RouteMatch m = r.Find("GET", "/v1/credentials/abc");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->pattern, "/v1/credentials/{id}");
  EXPECT_EQ(m.params.at("id"), "abc");

  m = r.Find("GET", "/v1/credentials/latest");  // literal beats capture
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->pattern, "/v1/credentials/latest");
  EXPECT_TRUE(m.params.empty());

  EXPECT_EQ(r.Find("DELETE", "/v1/credentials/abc").route->method, "DELETE");
}

TEST(AuthorityRouterTest, NotFoundAndMethodNotAllowed) {
  Router r;
  r.Add("GET", "/v1/credentials/{id}", Ok);
  r.Add("DELETE", "/v1/credentials/{id}", Ok);
  r.Add("GET", "/healthz", Ok);
  EXPECT_EQ(r.Find("GET", "/nope").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/healthz/").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/v1/credentials/").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/v1/credentials/a/b").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "healthz").outcome, RouteMatch::Outcome::kNotFound);

  RouteMatch m = r.Find("POST", "/v1/credentials/x");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kMethodNotAllowed);
  EXPECT_EQ(m.pattern, "/v1/credentials/{id}");
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"DELETE", "GET"}));
  EXPECT_EQ(m.route, nullptr);
}

TEST(AuthorityRouterTest, RejectsBadRoutes) {
  Router r;
  r.Add("GET", "/a", Ok);
  EXPECT_THROW(r.Add("GET", "/a", Ok), Error);
  EXPECT_THROW(r.Add("GET", "a", Ok), Error);
  EXPECT_THROW(r.Add("GET", "/a/{b", Ok), Error);
  EXPECT_THROW(r.Add("GET", "/a/x{b}", Ok), Error);
  EXPECT_THROW(r.Add("GET", "/b", Handler()), Error);
}

TEST(AuthorityRouterTest, HeaderLookupIsCaseInsensitive) {
  HttpRequest req;
  req.headers = {{"Content-Type", "application/json"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("X-a"), "1");
  EXPECT_EQ(req.Header("missing"), std::nullopt);
}

TEST(AuthorityLogTest, FormatsOneCanonicalJsonObject) {
  std::string line = FormatLogLine("2026-01-02T03:04:05.678Z", LogLevel::kInfo, "request",
                                   {{"request_id", "ab12"},
                                    {"route", "/healthz"},
                                    {"status", 200},
                                    {"duration_ms", std::int64_t{3}},
                                    {"ok", true},
                                    {"msg", "overwrite attempt"}});
  EXPECT_EQ(
      line,
      R"({"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":"request","request_id":"ab12",)"
      R"("route":"/healthz","status":200,"duration_ms":3,"ok":true})");
  // Values are escaped, so a value cannot inject fields or lines.
  std::string evil = FormatLogLine("t", LogLevel::kWarn, "m", {{"v", "x\",\"level\":\"debug\n"}});
  EXPECT_EQ(evil, R"({"ts":"t","level":"warn","msg":"m","v":"x\",\"level\":\"debug\n"})");
}

TEST(AuthorityLogTest, LevelFilteringAndOneLinePerCall) {
  LogCapture capture;
  Logger::Global().SetLevel(LogLevel::kWarn);
  LogInfo("hidden");
  LogWarn("shown", {{"n", 1}});
  LogError("shown too");
  Logger::Global().SetLevel(LogLevel::kInfo);
  auto lines = capture.lines();
  ASSERT_EQ(lines.size(), 2u);
  json::Value first = json::Parse(lines[0]);
  EXPECT_EQ(first.at("level").as_string(), "warn");
  EXPECT_EQ(first.at("msg").as_string(), "shown");
  EXPECT_EQ(first.at("n").as_int(), 1);
  EXPECT_EQ(json::Parse(lines[1]).at("level").as_string(), "error");
}

TEST(AuthorityReadinessTest, AllPass) {
  ReadinessChecks checks;
  checks.Add(
      "hsm", [] {}, std::chrono::seconds(5));
  checks.Add(
      "database", [] {}, std::chrono::seconds(5));
  auto r = checks.Run();
  EXPECT_TRUE(r.ready);
  EXPECT_TRUE(r.failed.empty());
  EXPECT_EQ(checks.names(), (std::vector<std::string>{"hsm", "database"}));
}

TEST(AuthorityReadinessTest, ThrowingCheckFailsByName) {
  LogCapture capture;
  ReadinessChecks checks;
  checks.Add(
      "hsm", [] {}, std::chrono::seconds(5));
  checks.Add(
      "database", [] { Fail(ErrorKind::kUnavailable, "connection refused"); },
      std::chrono::seconds(5));
  checks.Add(
      "other", [] { throw std::runtime_error("boom"); }, std::chrono::seconds(5));
  auto r = checks.Run();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.failed, (std::vector<std::string>{"database", "other"}));
}

TEST(AuthorityReadinessTest, HungCheckTimesOutAndIsNotRestarted) {
  LogCapture capture;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> runs{0};
  ReadinessChecks checks;
  checks.Add(
      "hsm",
      [&] {
        ++runs;
        released.wait();
      },
      std::chrono::milliseconds(50));
  auto r1 = checks.Run();  // the probe blocks until released: must time out
  EXPECT_FALSE(r1.ready);
  EXPECT_EQ(r1.failed, (std::vector<std::string>{"hsm"}));
  auto r2 = checks.Run();  // still running: not started a second time
  EXPECT_FALSE(r2.ready);
  EXPECT_EQ(runs.load(), 1);
  release.set_value();
  // The next evaluation either joins the finishing run or starts a fresh one; both pass.
  EXPECT_TRUE(checks.Run().ready);
}

}  // namespace
}  // namespace realdid::authority
