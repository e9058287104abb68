// The benchmark-only plain-HTTP listener ([bench] plain_http_port, authority/bench_listener.h)
// against the real authority binary (tests/e2e/stack.h): it serves the issuer directory (with a
// relative issuer-request-uri) and valid RFC 9578 tokens WITHOUT attestation over plain HTTP on
// loopback, answers every other route 404 (405 for another method on its two paths), and the
// authority refuses to start when the bench address is not loopback.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "core/privacypass.h"
#include "privacypass/redeem.h"
#include "tests/e2e/stack.h"

namespace realdid::testing {
namespace {

namespace pp = realdid::privacypass;

std::uint16_t FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Answer {
  int status = 0;
  std::string content_type;
  std::string body;
};

Answer Call(std::uint16_t port, const std::string& method, const std::string& path,
            const std::string& body = {}, const std::string& type = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!type.empty()) req.setContentType(type);
  if (method == "POST" || !body.empty()) req.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  Answer a;
  a.status = static_cast<int>(resp.getStatus());
  a.content_type = resp.getContentType();
  a.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return a;
}

class BenchListenerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      port_ = FreeLoopbackPort();
      StackOptions o;
      o.rsa_bits = 2048;
      o.k = 4;
      o.min_k = 2;
      o.authority_env = {"REALDID_BENCH_PLAIN_HTTP_PORT=" + std::to_string(port_)};
      stack_ = new E2eStack(o);
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_error_, nullptr) << *setup_error_; }

  static inline E2eStack* stack_ = nullptr;
  static inline std::string* setup_error_ = nullptr;
  static inline std::uint16_t port_ = 0;
};

TEST_F(BenchListenerE2eTest, ServesValidTokensWithoutAttestationOverPlainHttp) {
  Answer dir = Call(port_, "GET", std::string(pp::kDirectoryPath));
  ASSERT_EQ(dir.status, 200) << dir.body << stack_->AuthorityLog();
  EXPECT_EQ(dir.content_type, pp::kMediaDirectory);
  const pp::Directory d = pp::ParseDirectory(dir.body);
  // Relative, so a client posts back to this listener (RFC 9578 4).
  EXPECT_EQ(d.issuer_request_uri, "/v1/privacypass/token-request");
  ASSERT_EQ(d.keys.size(), 1u);
  const Bytes spki = d.keys.front().spki;
  const blind_rsa::PublicKey pk = blind_rsa::PublicKey::FromSpkiDer(spki);
  const Bytes challenge = pp::MakeChallenge("bench.example", {"rp.example"}, true);
  for (int i = 0; i < 3; ++i) {
    const pp::PendingToken p = pp::BeginToken(pk, spki, challenge);
    Answer r = Call(port_, "POST", d.issuer_request_uri, ToString(p.request.Serialize()),
                    std::string(pp::kMediaTokenRequest));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, pp::kMediaTokenResponse);
    ASSERT_EQ(r.body.size(), pp::kNk);
    const pp::Token t = pp::FinishToken(pk, p, AsBytes(r.body));
    EXPECT_TRUE(pp::VerifyToken(pk, spki, t, ByteView(challenge)));
  }
  // Bad input is still refused as on the public port.
  const pp::PendingToken p = pp::BeginToken(pk, spki, challenge);
  Bytes bad = p.request.Serialize();
  bad[2] ^= 0x01;  // another truncated key id
  EXPECT_EQ(Call(port_, "POST", d.issuer_request_uri, ToString(bad),
                 std::string(pp::kMediaTokenRequest)).status, 422);
  EXPECT_EQ(Call(port_, "POST", d.issuer_request_uri, ToString(p.request.Serialize()),
                 "application/json").status, 415);
}

TEST_F(BenchListenerE2eTest, EveryOtherRouteIsNotFound) {
  for (const char* path : {"/", "/healthz", "/readyz", "/metrics", "/openapi.json",
                           "/v1/issuance/nonce", "/v1/issuance/sessions", "/.well-known/jwks.json",
                           "/.well-known/realdid-issuer", "/v1/revocation/lists",
                           "/v1/privacypass/token-request/x"}) {
    SCOPED_TRACE(path);
    Answer a = Call(port_, "GET", path);
    EXPECT_EQ(a.status, 404);
    EXPECT_EQ(a.content_type, "application/problem+json");
  }
  EXPECT_EQ(Call(port_, "POST", "/v1/issuance/sessions", "{}", "application/json").status, 404);
  EXPECT_EQ(Call(port_, "GET", "/v1/privacypass/token-request").status, 405);
  EXPECT_EQ(Call(port_, "POST", std::string(pp::kDirectoryPath), "{}", "application/json").status,
            405);
}

TEST_F(BenchListenerE2eTest, AuthorityRefusesToStartOnANonLoopbackBenchAddress) {
  for (const char* addr : {"0.0.0.0", "::"}) {
    SCOPED_TRACE(addr);
    const auto log = stack_->dir() / (std::string("bench-refused-") + (addr[0] == ':' ? "v6" : "v4") + ".log");
    ChildProcess child({E2eStack::Binary("authority/realdid-authority"), "--config",
                        (stack_->dir() / "authority.ini").string()},
                       log,
                       {"REALDID_SERVER_PORT=" + std::to_string(FreeLoopbackPort()),
                        "REALDID_ADMIN_PORT=",
                        "REALDID_BENCH_PLAIN_HTTP_PORT=" + std::to_string(FreeLoopbackPort()),
                        std::string("REALDID_BENCH_PLAIN_HTTP_ADDRESS=") + addr});
    EXPECT_EQ(child.ReadLine(), "");  // no "public https://..." line: it never served
    EXPECT_EQ(child.Stop(), 1);
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("non-loopback"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace realdid::testing
