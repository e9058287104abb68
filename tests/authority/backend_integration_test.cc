// Integration: the authority's readiness and metrics wired to a REAL SoftHSM2 token (hsm::Token
// with the Prometheus observer) and a REAL PostgreSQL server (db::Pool with the Prometheus
// observer). /readyz turns 503 naming "database" while PostgreSQL is stopped and 200 again after it
// restarts, without restarting the service.
#include <Poco/Net/HTTPClientSession.h>
#include <gtest/gtest.h>

#include "authority/backend_metrics.h"
#include "authority/health.h"
#include "authority/http_server.h"
#include "authority/log.h"
#include "authority/metrics.h"
#include "authority/readiness.h"
#include "core/json.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "tests/authority/test_tls.h"
#include "tests/support/pg_harness.h"
#include "tests/support/softhsm_harness.h"

namespace realdid::authority {
namespace {

using realdid::testing::ClientResponse;

ClientResponse Get(const HttpsServer& server, const std::string& ca_file, const std::string& path) {
  Poco::Net::HTTPSClientSession session("127.0.0.1", server.port(),
                                        realdid::testing::ClientContext(ca_file));
  Poco::Net::HTTPRequest req("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  return realdid::testing::ReadResponse(session);
}

std::string Scrape(const MetricsExposer& exposer) {
  Poco::Net::HTTPClientSession session("127.0.0.1", exposer.port());
  Poco::Net::HTTPRequest req("GET", "/metrics", Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  return realdid::testing::ReadResponse(session).body;
}

double SeriesValue(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

TEST(AuthorityBackendIntegrationTest, ReadinessFollowsRealHsmAndPostgres) {
  Logger::Global().SetLevel(LogLevel::kError);
  realdid::testing::SoftHsmHarness softhsm;
  softhsm.InitToken("authority-test");
  realdid::testing::PgHarness pg;
  realdid::testing::TestPki pki;

  Metrics metrics("it");
  HsmMetrics hsm_metrics(metrics);
  hsm::TokenConfig token_config;
  token_config.module_path = realdid::testing::SoftHsmHarness::ModulePath();
  token_config.token_label = "authority-test";
  token_config.pin = Secret::FromString(realdid::testing::SoftHsmHarness::kUserPin);
  token_config.pool_size = 2;
  std::unique_ptr<hsm::Token> token = hsm::Token::Open(token_config, &hsm_metrics);

  db::PoolConfig pool_config;
  pool_config.dsn = pg.Dsn(realdid::testing::PgRole::kAuthority);
  pool_config.size = 2;
  pool_config.connect_timeout_seconds = 2;
  pool_config.acquire_timeout = std::chrono::seconds(3);
  pool_config.observer = std::make_shared<DbMetrics>(metrics);
  db::Pool pool(std::move(pool_config));

  {
    ReadinessChecks checks;
    checks.Add(
        "hsm", [&] { token->Ping(); }, std::chrono::seconds(10));
    checks.Add(
        "database", [&] { pool.Ping(); }, std::chrono::seconds(10));
    auto router = std::make_shared<Router>();
    AddHealthRoutes(*router, checks, &metrics);
    HttpServerOptions opt;
    opt.tls.cert_file = pki.cert_file();
    opt.tls.key_file = pki.key_file();
    HttpsServer server(opt, router, &metrics);
    server.Start();
    MetricsExposer exposer(metrics, "127.0.0.1", 0);

    ClientResponse up = Get(server, pki.ca_file(), "/readyz");
    EXPECT_EQ(up.status, 200) << up.body;
    EXPECT_EQ(up.body, R"({"status":"ready","checks":["hsm","database"]})");

    pool.Run("authority_test_select", [](db::Tx& tx) { tx.Exec("SELECT 1"); });

    std::string text = Scrape(exposer);
    EXPECT_GE(
        SeriesValue(
            text, R"(realdid_hsm_operations_total{op="ping",result="ok",token="authority-test"})"),
        1.0)
        << text;
    EXPECT_GE(
        SeriesValue(
            text,
            R"(realdid_hsm_operation_duration_seconds_count{op="ping",token="authority-test"})"),
        1.0);
    EXPECT_EQ(SeriesValue(text, R"(realdid_db_queries_total{result="ok"})"), 1.0);
    EXPECT_EQ(SeriesValue(text, "realdid_db_query_duration_seconds_count"), 1.0);
    EXPECT_EQ(SeriesValue(text, "realdid_ready"), 1.0);

    pg.Stop();
    ClientResponse down = Get(server, pki.ca_file(), "/readyz");
    EXPECT_EQ(down.status, 503);
    EXPECT_EQ(down.content_type, "application/problem+json");
    json::Value v = json::Parse(down.body);
    EXPECT_EQ(v.at("failed_checks"), json::Value(json::Array{"database"}));
    EXPECT_EQ(SeriesValue(Scrape(exposer), "realdid_ready"), 0.0);
    // The liveness probe does not depend on the database.
    EXPECT_EQ(Get(server, pki.ca_file(), "/healthz").status, 200);

    pg.Start();
    ClientResponse again = Get(server, pki.ca_file(), "/readyz");
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(SeriesValue(Scrape(exposer), "realdid_ready"), 1.0);
  }
  token.reset();
  Logger::Global().SetLevel(LogLevel::kInfo);
}

}  // namespace
}  // namespace realdid::authority
