// The issuance endpoints over real HTTPS (authority/issuance_routes.h, wellknown_routes.h) against
// the REAL PostgreSQL server and SoftHSM2 token: message parsing, problem types of
// docs/protocol.md section 7, Retry-After, and a full issuance through the wire format.
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPSClientSession.h>

#include "authority/http_server.h"
#include "authority/issuance_routes.h"
#include "authority/log.h"
#include "authority/wellknown_routes.h"
#include "tests/authority/test_tls.h"
#include "tests/issuance/fixture.h"

namespace realdid::issuance::testing {
namespace {

using realdid::testing::ClientResponse;

class IssuanceHttpTest : public IssuanceFixture {
 protected:
  void SetUp() override {
    IssuanceFixture::SetUp();
    authority::Logger::Global().SetLevel(authority::LogLevel::kError);
    svc_ = MakeService(4);
    auto router = std::make_shared<authority::Router>();
    authority::AddIssuanceRoutes(*router, *svc_);
    authority::AddWellKnownRoutes(*router, svc_->keys(), svc_->settings(), clock_);
    authority::HttpServerOptions opt;
    opt.tls.cert_file = pki_.cert_file();
    opt.tls.key_file = pki_.key_file();
    server_ = std::make_unique<authority::HttpsServer>(opt, router, nullptr);
    server_->Start();
  }
  void TearDown() override {
    server_->Stop();
    server_.reset();
  }

  ClientResponse Call(const std::string& method, const std::string& path, const std::string& body,
                      const std::string& bearer = "") {
    Poco::Net::HTTPSClientSession session("127.0.0.1", server_->port(),
                                          realdid::testing::ClientContext(pki_.ca_file()));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!bearer.empty()) req.set("Authorization", "Bearer " + bearer);
    if (method == "POST") {
      req.setContentType("application/json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
      session.sendRequest(req) << body;
    } else {
      session.sendRequest(req);
    }
    return realdid::testing::ReadResponse(session);
  }

  std::string ProblemType(const ClientResponse& r) {
    EXPECT_EQ(r.content_type, "application/problem+json") << r.body;
    return json::Parse(r.body).at("type").as_string();
  }

  // nonce + open over HTTP; returns the session JSON.
  json::Value OpenOverHttp(const Person& p, ClientResponse* raw = nullptr) {
    ClientResponse n = Call("POST", "/v1/ctid/nonce", "{}");
    EXPECT_EQ(n.status, 201) << n.body;
    std::string nonce = json::Parse(n.body).at("nonce").as_string();
    json::Value body = json::Object{{"name", p.name},
                                    {"id_number", p.id_number},
                                    {"nonce", nonce},
                                    {"ctid_token", "good"}};
    ClientResponse r = Call("POST", "/v1/issuance/sessions", json::Serialize(body));
    if (raw != nullptr) *raw = r;
    if (r.status != 201) return json::Value();
    return json::Parse(r.body);
  }

  static OpenedSession FromJson(const json::Value& v) {
    OpenedSession s;
    s.session_id = b64url::Decode(v.at("session_id").as_string());
    s.session_secret = Secret(b64url::Decode(v.at("session_secret").as_string()));
    s.issuance_id = b64url::Decode(v.at("issuance_id").as_string());
    s.values.iss = v.at("iss").as_string();
    s.values.kid = v.at("kid").as_string();
    s.values.iat = v.at("iat").as_int();
    s.values.exp = v.at("exp").as_int();
    const json::Value& a = v.at("attested");
    s.values.attested.age_over_18 = a.at("age_over_18").as_bool();
    s.values.attested.age_over_60 = a.at("age_over_60").as_bool();
    s.values.attested.province = a.at("province").as_string();
    s.values.escrow_kid = v.at("escrow_kid").as_string();
    s.k = static_cast<int>(v.at("k").as_int());
    s.expires_at = v.at("expires_at").as_int();
    return s;
  }

  static std::string CommitJson(const std::vector<WalletCandidate>& c) {
    json::Array arr;
    for (const auto& w : c) {
      arr.push_back(json::Object{{"blinded_msg", b64url::Encode(w.committed.blinded_msg)},
                                 {"trace", b64url::Encode(w.committed.trace)}});
    }
    return json::Serialize(json::Value(json::Object{{"candidates", std::move(arr)}}));
  }

  static std::string RevealJson(const std::vector<WalletCandidate>& c, int j) {
    json::Array arr;
    for (const auto& w : c) {
      const Opening& o = w.opening;
      if (o.index == j) continue;
      json::Array salts;
      for (const Bytes& s : o.salts) salts.push_back(b64url::Encode(s));
      arr.push_back(json::Object{
          {"index", o.index},
          {"holder_jwk", json::Object{{"kty", "EC"},
                                      {"crv", "P-256"},
                                      {"x", b64url::Encode(o.holder_x)},
                                      {"y", b64url::Encode(o.holder_y)}}},
          {"jti", b64url::Encode(o.jti)},
          {"salts", std::move(salts)},
          {"pss_salt", b64url::Encode(o.pss_salt)},
          {"r", b64url::Encode(o.r)},
          {"escrow_ikm", b64url::Encode(o.escrow_ikm)},
          {"trace_ikm", b64url::Encode(o.trace_ikm)}});
    }
    return json::Serialize(json::Value(json::Object{{"openings", std::move(arr)}}));
  }

  realdid::testing::TestPki pki_;
  std::unique_ptr<IssuanceService> svc_;
  std::unique_ptr<authority::HttpsServer> server_;
};

TEST_F(IssuanceHttpTest, FullIssuanceOverHttps) {
  Person p = NewPerson();
  json::Value sv = OpenOverHttp(p);
  ASSERT_TRUE(sv.is_object());
  EXPECT_EQ(sv.at("vct").as_string(), "urn:realdid:resident:1");
  OpenedSession s = FromJson(sv);
  auto cands = BuildCandidates(s);
  std::string path = "/v1/issuance/sessions/" + b64url::Encode(s.session_id);
  std::string bearer = b64url::Encode(s.session_secret.reveal());
  ClientResponse c = Call("POST", path + "/commit", CommitJson(cands), bearer);
  ASSERT_EQ(c.status, 200) << c.body;
  int j = static_cast<int>(json::Parse(c.body).at("challenge").as_int());
  // Identical resend: same j.
  ClientResponse c2 = Call("POST", path + "/commit", CommitJson(cands), bearer);
  EXPECT_EQ(c2.body, c.body);
  ClientResponse r = Call("POST", path + "/reveal", RevealJson(cands, j), bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  Bytes sig = b64url::Decode(json::Parse(r.body).at("blind_signature").as_string());
  FinalizeAndVerify(s, cands[static_cast<std::size_t>(j)], sig);
  EXPECT_EQ(Call("POST", path + "/reveal", RevealJson(cands, j), bearer).body, r.body);
}

TEST_F(IssuanceHttpTest, ProblemTypesOfSection7) {
  // bad-request: unknown member, non-canonical base64url, wrong type.
  ClientResponse bad = Call("POST", "/v1/ctid/nonce", R"({"x":1})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ProblemType(bad), "urn:realdid:problem:bad-request");
  Person p = NewPerson();
  ClientResponse b2 = Call("POST", "/v1/issuance/sessions",
                           R"({"name":"a","id_number":")" + p.id_number +
                               R"(","nonce":"AAAAAAAAAAAAAAAAAAAAAA=","ctid_token":"good"})");
  EXPECT_EQ(ProblemType(b2), "urn:realdid:problem:bad-request");
  // invalid-id-number names the rule, never the number.
  std::string wrong = p.id_number;
  wrong[17] = wrong[17] == '0' ? '1' : '0';
  ClientResponse n = Call("POST", "/v1/ctid/nonce", "{}");
  std::string nonce = json::Parse(n.body).at("nonce").as_string();
  ClientResponse inv = Call("POST", "/v1/issuance/sessions",
                            json::Serialize(json::Value(json::Object{{"name", p.name},
                                                                     {"id_number", wrong},
                                                                     {"nonce", nonce},
                                                                     {"ctid_token", "good"}})));
  EXPECT_EQ(inv.status, 400);
  EXPECT_EQ(ProblemType(inv), "urn:realdid:problem:invalid-id-number");
  EXPECT_EQ(inv.body.find(wrong), std::string::npos);
  // ctid-failed (forged token).
  ClientResponse fail = Call("POST", "/v1/issuance/sessions",
                             json::Serialize(json::Value(json::Object{{"name", p.name},
                                                                      {"id_number", p.id_number},
                                                                      {"nonce", nonce},
                                                                      {"ctid_token", "forged"}})));
  EXPECT_EQ(fail.status, 401);
  EXPECT_EQ(ProblemType(fail), "urn:realdid:problem:ctid-failed");
  // unavailable with Retry-After.
  ctid_->SetUnavailable(true);
  ClientResponse down;
  OpenOverHttp(p, &down);
  ctid_->SetUnavailable(false);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(ProblemType(down), "urn:realdid:problem:unavailable");
  EXPECT_EQ(down.headers["Retry-After"], "17");
  // unauthorized, not-found, conflict.
  OpenedSession s = FromJson(OpenOverHttp(p));
  std::string path = "/v1/issuance/sessions/" + b64url::Encode(s.session_id);
  auto cands = BuildCandidates(s);
  ClientResponse unauth = Call("POST", path + "/commit", CommitJson(cands));
  EXPECT_EQ(unauth.status, 401);
  EXPECT_EQ(ProblemType(unauth), "urn:realdid:problem:unauthorized");
  EXPECT_EQ(unauth.headers["WWW-Authenticate"], "Bearer");
  ClientResponse nf = Call("POST", "/v1/issuance/sessions/AAAAAAAAAAAAAAAAAAAAAA/commit",
                           CommitJson(cands), b64url::Encode(s.session_secret.reveal()));
  EXPECT_EQ(ProblemType(nf), "urn:realdid:problem:not-found");
  ClientResponse conflict;
  OpenOverHttp(p, &conflict);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(ProblemType(conflict), "urn:realdid:problem:conflict");
  // cheat-detected, then locked, both with locked_until.
  std::string bearer = b64url::Encode(s.session_secret.reveal());
  for (auto& w : cands) w.committed.trace.back() ^= 1;
  ClientResponse c = Call("POST", path + "/commit", CommitJson(cands), bearer);
  int j = static_cast<int>(json::Parse(c.body).at("challenge").as_int());
  ClientResponse cheat = Call("POST", path + "/reveal", RevealJson(cands, j), bearer);
  EXPECT_EQ(cheat.status, 422);
  EXPECT_EQ(ProblemType(cheat), "urn:realdid:problem:cheat-detected");
  EXPECT_EQ(json::Parse(cheat.body).at("locked_until").as_int(), clock_.Now() + 30 * 86400);
  ClientResponse locked;
  OpenOverHttp(p, &locked);
  EXPECT_EQ(locked.status, 403);
  EXPECT_EQ(ProblemType(locked), "urn:realdid:problem:locked");
  EXPECT_EQ(json::Parse(locked.body).at("locked_until").as_int(), clock_.Now() + 30 * 86400);
}

TEST_F(IssuanceHttpTest, WellKnownDocuments) {
  ClientResponse jwks = Call("GET", "/.well-known/jwks.json", "");
  ASSERT_EQ(jwks.status, 200);
  EXPECT_EQ(jwks.headers["Cache-Control"], "public, max-age=300");
  json::Value v = json::Parse(jwks.body);
  ASSERT_EQ(v.at("keys").as_array().size(), 1u);
  const json::Value& k = v.at("keys").as_array()[0];
  EXPECT_EQ(k.at("kid").as_string(), km_->keys.signing[0].kid);
  EXPECT_EQ(jwk::Kid(json::Object{{"kty", "RSA"}, {"n", k.at("n")}, {"e", k.at("e")}}),
            k.at("kid").as_string());
  EXPECT_EQ(k.at("e").as_string(), "AQAB");
  EXPECT_EQ(v.at("escrow").at("kid").as_string(), km_->keys.escrow_kid);
  EXPECT_EQ(v.at("policy").at("modulus_bits").as_int(), 2048);
  EXPECT_EQ(v.at("policy").at("credential_lifetime").as_int(), 30 * 86400);
  EXPECT_EQ(v.at("policy").at("k").as_int(), 4);
  ClientResponse iss = Call("GET", "/.well-known/jwt-vc-issuer", "");
  EXPECT_EQ(iss.body,
            R"({"issuer":"https://realdid.test","jwks_uri":"https://realdid.test/.well-known/jwks.json"})");
  ClientResponse api = Call("GET", "/openapi.json", "");
  ASSERT_EQ(api.status, 200);
  EXPECT_EQ(json::Parse(api.body).at("openapi").as_string(), "3.0.3");
  EXPECT_EQ(api.body, authority::OpenApiDocument());
  // After the key's window ends it is no longer published.
  clock_.Set(km_->keys.signing[0].exp);
  EXPECT_EQ(json::Parse(Call("GET", "/.well-known/jwks.json", "").body).at("keys").as_array().size(),
            0u);
}

}  // namespace
}  // namespace realdid::issuance::testing
