// Unit tests of the benchmark-only plain-HTTP listener's guards (authority/bench_listener.h):
// literal-loopback detection, [bench] configuration refused on any other address, HttpsServer
// refusing plain HTTP off loopback, and a plain listener on loopback answering through the same
// Router/problem stack (no HSTS header, 404 problem for an unknown path).
#include "authority/bench_listener.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>

#include <istream>
#include <iterator>
#include <map>
#include <string>

#include "authority/config.h"
#include "authority/http_server.h"
#include "core/error.h"

namespace realdid::authority {
namespace {

const char* kBase = R"([server]
listen_address = 127.0.0.1
port = 8443
tls_cert_file = /x/cert.pem
tls_key_file = /x/key.pem
[hsm]
module_path = /x/softhsm.so
token_label = issuance
pin_file = /x/pin
keys_manifest = /x/keys.json
[db]
dsn_file = /x/dsn
[issuance]
iss = https://realdid.example
[ctid]
base_url = https://ctid.example
client_cert_file = /x/c.pem
client_key_file = /x/c.key
ca_file = /x/ca.pem
)";

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

AuthorityConfig Parse(const std::string& extra, std::map<std::string, std::string> env = {}) {
  return ParseConfig(std::string(kBase) + extra, "test.ini", Env(std::move(env)),
                     /*check_files=*/false);
}

TEST(BenchListenerTest, LoopbackMeansLiteralLoopbackAddresses) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "126.255.255.255", "localhost",
                        "", "127.0.0.1 ", "::ffff:10.0.0.1", "::2", "192.168.1.1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(BenchListenerTest, ConfigIsOffByDefaultAndLoopbackOnly) {
  AuthorityConfig off = Parse("");
  EXPECT_FALSE(off.bench.plain_http_port.has_value());
  EXPECT_EQ(off.bench.plain_http_address, "127.0.0.1");

  AuthorityConfig on = Parse("[bench]\nplain_http_port = 18091\n");
  ASSERT_TRUE(on.bench.plain_http_port.has_value());
  EXPECT_EQ(*on.bench.plain_http_port, 18091);
  AuthorityConfig v6 = Parse("[bench]\nplain_http_address = ::1\nplain_http_port = 0\n");
  EXPECT_EQ(*v6.bench.plain_http_port, 0);

  for (const char* addr : {"0.0.0.0", "::", "10.1.2.3", "localhost"}) {
    SCOPED_TRACE(addr);
    try {
      Parse(std::string("[bench]\nplain_http_address = ") + addr + "\nplain_http_port = 18091\n");
      ADD_FAILURE() << "accepted a non-loopback bench address";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.detail()).find("[bench] plain_http_address"), std::string::npos);
    }
  }
  // The environment override is checked the same way.
  EXPECT_THROW(Parse("", {{"REALDID_BENCH_PLAIN_HTTP_PORT", "18091"},
                          {"REALDID_BENCH_PLAIN_HTTP_ADDRESS", "0.0.0.0"}}),
               Error);
  AuthorityConfig env_on = Parse("", {{"REALDID_BENCH_PLAIN_HTTP_PORT", "18092"}});
  EXPECT_EQ(*env_on.bench.plain_http_port, 18092);
  // An address alone (no port) starts nothing, so it is not refused.
  EXPECT_NO_THROW(Parse("[bench]\nplain_http_address = 0.0.0.0\n"));
  EXPECT_THROW(Parse("[bench]\nplain_http_port = 70000\n"), Error);
  EXPECT_THROW(Parse("[bench]\nplain_http = 1\n"), Error);  // unknown key
}

TEST(BenchListenerTest, BenchNeedsTheIssuanceSide) {
  std::string no_ctid(kBase);
  no_ctid = no_ctid.substr(0, no_ctid.find("[ctid]"));
  no_ctid = no_ctid.substr(0, no_ctid.find("[issuance]"));
  EXPECT_THROW(ParseConfig(no_ctid + "[bench]\nplain_http_port = 1\n", "t", Env({}), false), Error);
}

TEST(BenchListenerTest, HttpsServerRefusesPlainHttpOffLoopback) {
  auto router = std::make_shared<Router>();
  for (const char* addr : {"0.0.0.0", "::"}) {
    HttpServerOptions o;
    o.listen_address = addr;
    o.plain_http = true;
    try {
      HttpsServer s(o, router, nullptr);
      ADD_FAILURE() << "plain HTTP accepted on " << addr;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << addr;
    }
  }
  BenchConfig bench;
  bench.plain_http_address = "0.0.0.0";
  bench.plain_http_port = 0;
  HttpServerOptions o = BenchListenerOptions(bench, ServerConfig{});
  EXPECT_TRUE(o.plain_http);
  EXPECT_EQ(o.name, "bench");
  EXPECT_THROW(HttpsServer(o, router, nullptr), Error);
  EXPECT_THROW(BenchListenerOptions(BenchConfig{}, ServerConfig{}), Error);  // no port
}

struct Answer {
  int status = 0;
  std::string body;
  std::string content_type;
  bool hsts = false;
};

Answer Get(std::uint16_t port, const std::string& path) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path,
                             Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  Answer a;
  a.status = static_cast<int>(resp.getStatus());
  a.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  a.content_type = resp.getContentType();
  a.hsts = resp.has("Strict-Transport-Security");
  return a;
}

TEST(BenchListenerTest, PlainListenerOnLoopbackServesThroughTheRouter) {
  auto router = std::make_shared<Router>();
  router->Add("GET", "/only", [](const HttpRequest&) {
    HttpResponse r;
    r.status = 200;
    r.content_type = "text/plain";
    r.body = "ok";
    return r;
  });
  HttpServerOptions o;
  o.name = "bench";
  o.listen_address = "127.0.0.1";
  o.port = 0;
  o.plain_http = true;
  o.drain_timeout = std::chrono::seconds(2);
  HttpsServer s(o, router, nullptr);
  s.Start();
  EXPECT_EQ(s.url().rfind("http://127.0.0.1:", 0), 0u) << s.url();
  Answer ok = Get(s.port(), "/only");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok");
  EXPECT_FALSE(ok.hsts);
  Answer missing = Get(s.port(), "/v1/issuance/sessions");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/problem+json");
  EXPECT_TRUE(s.Stop());
}

}  // namespace
}  // namespace realdid::authority
