// "Who may do what" end to end (issue 5 item 1, BRIEF section 6): the authority's operator
// listener over real mutual TLS with certificates from scripts/pki.sh and principals enrolled by
// realdid-admin in a real PostgreSQL; the audit rows of privileged requests; lockout review; the
// resident's own history and session cancel; per-source rate limits and the CTID-failure penalty
// before any CTID call (counted by ctid-sim).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "db/pool.h"
#include "tests/e2e/stack.h"
#include "wallet/client.h"
#include "wallet/issuance.h"

namespace realdid::testing {
namespace {

using wallet::AuthorityClient;
using wallet::CtidAppClient;
using wallet::HttpResponse;
using wallet::HttpsClient;
using wallet::Resident;
using wallet::ServerRefusal;
using wallet::SessionOffer;

std::string ProblemType(const HttpResponse& r) { return wallet::ParseProblem(r).type; }

struct AuditRow {
  std::int64_t seq = 0;
  std::string kind;
  json::Value content;
  std::string raw;
};

// Audit rows after `after` whose kind starts with one of the prefixes (other components, e.g.
// checkpoints, may append their own rows meanwhile).
std::vector<AuditRow> AuditAfter(E2eStack& stack, std::int64_t after,
                                 const std::string& kinds = "admin.|lockout.|issuance.history") {
  auto pool = stack.pg().MakePool(PgRole::kSuperuser, 1);
  return pool->Run("read_audit", [&](db::Tx& tx) {
    db::Result r = tx.Exec(
        "SELECT seq, kind, convert_from(content, 'UTF8') AS c FROM audit_log WHERE seq > $1 "
        "AND kind ~ ('^(' || replace($2, '.', '[.]') || ')') ORDER BY seq",
        {static_cast<long long>(after), kinds});
    std::vector<AuditRow> out;
    for (std::size_t i = 0; i < r.size(); ++i) {
      std::string raw = r[i].GetString("c");
      out.push_back({r[i].GetInt64("seq"), r[i].GetString("kind"), json::Parse(raw), raw});
    }
    return out;
  });
}

std::int64_t LastAuditSeq(E2eStack& stack) {
  auto pool = stack.pg().MakePool(PgRole::kSuperuser, 1);
  return pool->Run("last_seq", [&](db::Tx& tx) {
    return tx.Exec("SELECT coalesce(max(seq), 0)::bigint AS s FROM audit_log").One().GetInt64("s");
  });
}

std::int64_t CtidVerifyCount(const E2eStack& stack) {
  HttpsClient c(stack.ctid_url(), stack.CtidControlTls());
  HttpResponse r = c.Get("/v1/sim/control");
  if (r.status != 200) throw std::runtime_error("ctid-sim stats: " + r.body);
  return json::Parse(r.body).at("verify_requests").as_int();
}

std::string RealNameBody(const Resident& who, const std::string& nonce, const std::string& token) {
  return json::Serialize(json::Value(json::Object{{"name", who.name},
                                                  {"id_number", who.id_number},
                                                  {"nonce", nonce},
                                                  {"ctid_token", token}}));
}

StackOptions CheapOptions() {
  StackOptions o;
  o.rsa_bits = 2048;
  o.k = 4;
  o.min_k = 2;
  o.ctid_population = 1000;
  return o;
}

// ---------------------------------------------------------------------------------------------
class AdminE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      StackOptions o = CheapOptions();
      o.admin = true;
      o.authority_env = {"REALDID_LIMITS_BURST=100000", "REALDID_LIMITS_CTID_FAILURES=100000"};
      stack_ = new E2eStack(o);
      operator_ = new ClientCert(stack_->IssueClientCert("operator", "Operator One"));
      auditor_ = new ClientCert(stack_->IssueClientCert("auditor", "Auditor One"));
      administrator_ = new ClientCert(stack_->IssueClientCert("administrator", "Admin One"));
      stranger_ = new ClientCert(stack_->IssueClientCert("", "Stranger"));
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete operator_;
    delete auditor_;
    delete administrator_;
    delete stranger_;
    delete stack_;
    delete setup_error_;
    stack_ = nullptr;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    authority_ = std::make_unique<AuthorityClient>(stack_->authority_url(), stack_->AuthorityTls());
    ctid_ = std::make_unique<CtidAppClient>(stack_->ctid_url(), stack_->CtidTls());
  }

  static HttpsClient Admin(const ClientCert* cert) {
    return HttpsClient(stack_->admin_url(), stack_->AdminTls(cert));
  }
  Resident NextResident() { return ctid_->GetResident(next_resident_++); }
  SessionOffer Open(const Resident& who) {
    std::string nonce = authority_->GetNonce();
    std::string token = ctid_->Authenticate(who.id_number, who.name, nonce);
    return authority_->OpenSession(who.name, who.id_number, nonce, token);
  }
  HttpResponse History(const Resident& who) {
    std::string nonce = authority_->GetNonce();
    std::string token = ctid_->Authenticate(who.id_number, who.name, nonce);
    return authority_->PostRaw("/v1/issuance/history", RealNameBody(who, nonce, token));
  }
  HttpResponse Cancel(const SessionOffer& o, const Secret* secret = nullptr) {
    return authority_->PostRaw("/v1/issuance/sessions/" + o.session_id + "/cancel", "{}",
                               secret != nullptr ? secret : &o.session_secret);
  }

  static E2eStack* stack_;
  static std::string* setup_error_;
  static ClientCert* operator_;
  static ClientCert* auditor_;
  static ClientCert* administrator_;
  static ClientCert* stranger_;
  static inline std::uint64_t next_resident_ = 10;
  std::unique_ptr<AuthorityClient> authority_;
  std::unique_ptr<CtidAppClient> ctid_;
};
E2eStack* AdminE2eTest::stack_ = nullptr;
std::string* AdminE2eTest::setup_error_ = nullptr;
ClientCert* AdminE2eTest::operator_ = nullptr;
ClientCert* AdminE2eTest::auditor_ = nullptr;
ClientCert* AdminE2eTest::administrator_ = nullptr;
ClientCert* AdminE2eTest::stranger_ = nullptr;

TEST_F(AdminE2eTest, NoClientCertificateIs401Problem) {
  HttpResponse r = Admin(nullptr).Get("/v1/admin/status");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.content_type.rfind("application/problem+json", 0), 0U) << r.content_type;
  EXPECT_EQ(ProblemType(r), "urn:realdid:problem:unauthorized");
}

TEST_F(AdminE2eTest, CertificateFromAnotherCaFailsTheHandshake) {
  // authority-client.pem is a valid certificate of the stack's other CA, not the internal CA.
  ClientCert foreign{(stack_->dir() / "authority-client.pem").string(),
                     (stack_->dir() / "authority-client.key").string()};
  EXPECT_ANY_THROW((void)Admin(&foreign).Get("/v1/admin/status"));
  // The listener still serves good clients afterwards.
  EXPECT_EQ(Admin(operator_).Get("/v1/admin/status").status, 200);
}

TEST_F(AdminE2eTest, UnknownAndDisabledCertificatesAre403) {
  HttpResponse r = Admin(stranger_).Get("/v1/admin/status");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ProblemType(r), "urn:realdid:problem:forbidden");

  ClientCert leaving = stack_->IssueClientCert("operator", "Leaving Operator");
  EXPECT_EQ(Admin(&leaving).Get("/v1/admin/status").status, 200);
  std::string out;
  int rc = RunCommand({"/usr/bin/env",
                       "REALDID_ADMIN=" + E2eStack::Binary("tools/admin/realdid-admin"),
                       E2eStack::SourcePath("scripts/pki.sh"), "disable", stack_->owner_dsn_file(),
                       leaving.cert_file},
                      &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(Admin(&leaving).Get("/v1/admin/status").status, 403);
}

TEST_F(AdminE2eTest, WrongRoleIs403AndAudited) {
  const std::int64_t before = LastAuditSeq(*stack_);
  HttpResponse r = Admin(auditor_).Post("/v1/admin/lockouts/1/release", R"({"reason":"x"})");
  EXPECT_EQ(r.status, 403) << r.body;
  r = Admin(administrator_).Get("/v1/admin/lockouts");
  EXPECT_EQ(r.status, 403) << r.body;
  std::vector<AuditRow> rows = AuditAfter(*stack_, before);
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].kind, "admin.denied");
  EXPECT_EQ(rows[0].content.at("role").as_string(), "auditor");
  EXPECT_EQ(rows[0].content.at("route").as_string(), "/v1/admin/lockouts/{person_id}/release");
  EXPECT_EQ(rows[1].kind, "admin.denied");
  EXPECT_EQ(rows[1].content.at("role").as_string(), "administrator");
}

TEST_F(AdminE2eTest, RightRoleIs200AndAudited) {
  const std::int64_t before = LastAuditSeq(*stack_);
  for (const ClientCert* c : {operator_, auditor_, administrator_}) {
    HttpResponse r = Admin(c).Get("/v1/admin/status");
    ASSERT_EQ(r.status, 200) << r.body;
    json::Value v = json::Parse(r.body);
    EXPECT_GE(v.at("locked_persons").as_int(), 0);
    EXPECT_GT(v.at("principal").at("id").as_int(), 0);
  }
  std::vector<AuditRow> rows = AuditAfter(*stack_, before);
  ASSERT_EQ(rows.size(), 3U);
  const char* roles[] = {"operator", "auditor", "administrator"};
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i].kind, "admin.request");
    // Canonical JSON: principal id and role, method and route, nothing else.
    EXPECT_EQ(rows[i].raw, json::Serialize(json::Parse(rows[i].raw)));
    ASSERT_EQ(rows[i].content.as_object().size(), 4U) << rows[i].raw;
    EXPECT_EQ(rows[i].content.at("role").as_string(), roles[i]);
    EXPECT_EQ(rows[i].content.at("method").as_string(), "GET");
    EXPECT_EQ(rows[i].content.at("route").as_string(), "/v1/admin/status");
    ids.push_back(rows[i].content.at("principal_id").as_int());
  }
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  // Nothing of the certificates in the logs.
  EXPECT_EQ(stack_->AuthorityLog().find("Operator One"), std::string::npos);
}

TEST_F(AdminE2eTest, CaCertificateIsRefusedAsPrincipal) {
  const std::string ca_dir = (stack_->dir() / "pki").string();
  std::string out;
  int rc = RunCommand({"/usr/bin/env",
                       "REALDID_ADMIN=" + E2eStack::Binary("tools/admin/realdid-admin"),
                       E2eStack::SourcePath("scripts/pki.sh"), "add", stack_->owner_dsn_file(),
                       stack_->client_ca_file(), "operator", ca_dir},
                      &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("CA certificate"), std::string::npos) << out;
  // A certificate of another CA is refused as well.
  rc = RunCommand({"/usr/bin/env", "REALDID_ADMIN=" + E2eStack::Binary("tools/admin/realdid-admin"),
                   E2eStack::SourcePath("scripts/pki.sh"), "add", stack_->owner_dsn_file(),
                   (stack_->dir() / "authority-client.pem").string(), "operator", ca_dir},
                  &out);
  EXPECT_EQ(rc, 3) << out;
  // Listing shows exactly the enrolled principals, no CA.
  rc = RunCommand({E2eStack::Binary("tools/admin/realdid-admin"), "principal", "list",
                   "--dsn-file", stack_->owner_dsn_file()},
                  &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("internal CA"), std::string::npos) << out;
  EXPECT_NE(out.find("CN=Operator One"), std::string::npos) << out;
}

TEST_F(AdminE2eTest, LockoutReviewAndAuditedRelease) {
  // A proven cheat (a jti repeated across candidates) locks the person out.
  Resident who = NextResident();
  wallet::TamperForTesting t;
  auto first = std::make_shared<Bytes>();
  t.inputs = [first](std::size_t i, wallet::CandidateInputs& in) {
    if (i == 0) *first = in.jti;
    if (i > 0) in.jti = *first;
  };
  wallet::IssueOptions opts;
  opts.tamper = &t;
  try {
    (void)wallet::Issue(*authority_, *ctid_, who, opts);
    FAIL() << "issued";
  } catch (const ServerRefusal& e) {
    ASSERT_EQ(e.problem().status, 422) << e.problem().Describe();
  }
  try {
    (void)Open(who);
    FAIL() << "not locked";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 403);
  }

  HttpResponse r = Admin(auditor_).Get("/v1/admin/lockouts");
  ASSERT_EQ(r.status, 200) << r.body;
  json::Value list = json::Parse(r.body);
  ASSERT_EQ(list.at("lockouts").as_array().size(), 1U) << r.body;
  const json::Value& entry = list.at("lockouts").as_array()[0];
  const std::int64_t person_id = entry.at("person_id").as_int();
  EXPECT_EQ(entry.at("reason").as_string(), "cheat");
  EXPECT_GT(entry.at("locked_until").as_int(), 0);
  EXPECT_EQ(r.body.find(who.name), std::string::npos);
  EXPECT_EQ(r.body.find(who.id_number), std::string::npos);

  const std::string path = "/v1/admin/lockouts/" + std::to_string(person_id) + "/release";
  EXPECT_EQ(Admin(operator_).Post(path, R"({"reason":"Bad Code"})").status, 400);
  EXPECT_EQ(Admin(operator_).Post(path, R"({"reason":"x","extra":1})").status, 400);
  EXPECT_EQ(Admin(operator_).Post("/v1/admin/lockouts/999999/release", R"({"reason":"x"})").status,
            404);
  const std::int64_t before = LastAuditSeq(*stack_);
  r = Admin(operator_).Post(path, R"({"reason":"reviewed-false-positive"})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<AuditRow> rows = AuditAfter(*stack_, before);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].kind, "lockout.released");
  EXPECT_EQ(rows[0].content.at("person_id").as_int(), person_id);
  EXPECT_EQ(rows[0].content.at("role").as_string(), "operator");
  EXPECT_GT(rows[0].content.at("principal_id").as_int(), 0);
  EXPECT_EQ(rows[0].content.at("release_reason").as_string(), "reviewed-false-positive");
  EXPECT_EQ(rows[0].content.at("lock_reason").as_string(), "cheat");
  // Released: a second release finds nothing, the list is empty, the person may start again.
  EXPECT_EQ(Admin(operator_).Post(path, R"({"reason":"again"})").status, 404);
  r = Admin(operator_).Get("/v1/admin/lockouts");
  EXPECT_EQ(json::Parse(r.body).at("lockouts").as_array().size(), 0U);
  SessionOffer again = Open(who);
  EXPECT_FALSE(again.session_id.empty());
  EXPECT_EQ(Cancel(again).status, 200);
}

TEST_F(AdminE2eTest, CancelFreesThePersonAndNeedsTheSecret) {
  Resident who = NextResident();
  SessionOffer s1 = Open(who);
  try {
    (void)Open(who);
    FAIL() << "second open session";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 409);
  }
  Secret wrong = Secret::FromString("AAAAAAAAAAAAAAAAAAAAAA");
  HttpResponse r = Cancel(s1, &wrong);
  EXPECT_EQ(r.status, 401) << r.body;
  r = authority_->PostRaw("/v1/issuance/sessions/" + s1.session_id + "/cancel", "{}", nullptr);
  EXPECT_EQ(r.status, 401) << r.body;
  // Still open: the wrong secret changed nothing.
  try {
    (void)Open(who);
    FAIL() << "cancelled by a wrong secret";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 409);
  }
  r = Cancel(s1);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Cancel(s1).status, 200);  // idempotent
  // Cancelled: the session accepts no commit, and the person may start again at once.
  wallet::KeySet keys = authority_->FetchKeySet();
  SessionOffer s2 = Open(who);
  wallet::Issuance iss(keys, s2);
  r = authority_->PostRaw("/v1/issuance/sessions/" + s1.session_id + "/commit", iss.CommitBody(),
                          &s1.session_secret);
  EXPECT_EQ(r.status, 409) << r.body;
  // After the commit, cancelling is refused (the challenge must never be re-rolled).
  (void)authority_->Commit(s2, iss.CommitBody());
  r = Cancel(s2);
  EXPECT_EQ(r.status, 409) << r.body;
  try {
    (void)Open(who);
    FAIL() << "a committed session was abandoned";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 409);
  }
}

TEST_F(AdminE2eTest, HistoryListsExactlyThePersonsSessions) {
  Resident a = NextResident();
  Resident b = NextResident();
  Resident never = NextResident();
  (void)wallet::Issue(*authority_, *ctid_, a);  // signed
  SessionOffer a2 = Open(a);
  ASSERT_EQ(Cancel(a2).status, 200);  // cancelled
  SessionOffer b1 = Open(b);          // open

  HttpResponse r = History(a);
  ASSERT_EQ(r.status, 200) << r.body;
  json::Value h = json::Parse(r.body);
  const json::Array& sessions = h.at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 2U) << r.body;
  // Oldest first; both may share a second, so match by state.
  std::vector<std::string> states;
  for (const json::Value& s : sessions) {
    states.push_back(s.at("state").as_string());
    if (states.back() == "cancelled") {
      EXPECT_EQ(s.at("session_id").as_string(), a2.session_id);
    }
  }
  std::sort(states.begin(), states.end());
  EXPECT_EQ(states, (std::vector<std::string>{"cancelled", "signed"}));
  for (const json::Value& s : sessions) {
    EXPECT_EQ(s.as_object().size(), 7U);
    EXPECT_EQ(s.at("kid").as_string(), a2.values.kid);
    EXPECT_EQ(s.at("iat").as_int(), a2.values.iat);
    EXPECT_EQ(s.at("exp").as_int(), a2.values.exp);
    EXPECT_GT(s.at("expires_at").as_int(), s.at("created_at").as_int());
  }
  EXPECT_EQ(h.find("locked_until"), nullptr);
  for (const char* forbidden : {"trace", "issuance_id", "challenge", "commit", "blind"}) {
    EXPECT_EQ(r.body.find(forbidden), std::string::npos) << forbidden;
  }
  EXPECT_EQ(r.body.find(a.name), std::string::npos);
  EXPECT_EQ(r.body.find(a.id_number), std::string::npos);

  r = History(b);
  ASSERT_EQ(r.status, 200) << r.body;
  h = json::Parse(r.body);
  ASSERT_EQ(h.at("sessions").as_array().size(), 1U);
  EXPECT_EQ(h.at("sessions").as_array()[0].at("state").as_string(), "open");
  EXPECT_EQ(h.at("sessions").as_array()[0].at("session_id").as_string(), b1.session_id);
  ASSERT_EQ(Cancel(b1).status, 200);

  r = History(never);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::Parse(r.body).at("sessions").as_array().size(), 0U);

  // A fresh real-name check is required: a used token, a wrong name.
  std::string nonce = authority_->GetNonce();
  std::string token = ctid_->Authenticate(a.id_number, a.name, nonce);
  r = authority_->PostRaw("/v1/issuance/history", RealNameBody(a, nonce, token));
  ASSERT_EQ(r.status, 200);
  r = authority_->PostRaw("/v1/issuance/history", RealNameBody(a, nonce, token));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ProblemType(r), "urn:realdid:problem:ctid-failed");
  nonce = authority_->GetNonce();
  token = ctid_->Authenticate(a.id_number, a.name, nonce);
  Resident wrong_name = a;
  wrong_name.name = b.name;
  r = authority_->PostRaw("/v1/issuance/history", RealNameBody(wrong_name, nonce, token));
  EXPECT_EQ(r.status, 401);
  // Viewing is audited with the person id only.
  const std::int64_t before = LastAuditSeq(*stack_);
  ASSERT_EQ(History(a).status, 200);
  std::vector<AuditRow> rows = AuditAfter(*stack_, before);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].kind, "issuance.history_viewed");
  EXPECT_EQ(rows[0].raw.find(a.id_number), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Tight limits: burst 4, 1 request a minute, one failed real-name check blocks the source for 1 h.
class RateLimitE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      StackOptions o = CheapOptions();
      o.authority_env = {"REALDID_LIMITS_BURST=4", "REALDID_LIMITS_RATE_PER_MINUTE=1",
                         "REALDID_LIMITS_CTID_FAILURES=1", "REALDID_LIMITS_CTID_BLOCK=1h"};
      stack_ = new E2eStack(o);
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete stack_;
    delete setup_error_;
    stack_ = nullptr;
    setup_error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_error_, nullptr) << *setup_error_; }
  static E2eStack* stack_;
  static std::string* setup_error_;
};
E2eStack* RateLimitE2eTest::stack_ = nullptr;
std::string* RateLimitE2eTest::setup_error_ = nullptr;

std::string NonceFrom(const HttpResponse& r) {
  if (r.status != 201) throw std::runtime_error("nonce: " + std::to_string(r.status) + " " + r.body);
  return json::Parse(r.body).at("nonce").as_string();
}

TEST_F(RateLimitE2eTest, OverTheRateIs429BeforeAnyCtidCall) {
  HttpsClient http(stack_->authority_url(), stack_->AuthorityTls());
  CtidAppClient ctid(stack_->ctid_url(), stack_->CtidTls());
  Resident who = ctid.GetResident(7);
  // Four tokens: four nonces.
  std::vector<std::string> nonces;
  for (int i = 0; i < 4; ++i) nonces.push_back(NonceFrom(http.Post("/v1/ctid/nonce", "{}")));
  std::string token = ctid.Authenticate(who.id_number, who.name, nonces[0]);
  const std::int64_t calls = CtidVerifyCount(*stack_);
  for (const char* path : {"/v1/issuance/sessions", "/v1/issuance/history", "/v1/ctid/nonce"}) {
    HttpResponse r = http.Post(path, RealNameBody(who, nonces[0], token));
    EXPECT_EQ(r.status, 429) << path << " " << r.body;
    EXPECT_EQ(ProblemType(r), "urn:realdid:problem:rate-limited") << path;
    ASSERT_TRUE(r.retry_after.has_value()) << path;
    EXPECT_GE(*r.retry_after, 1);
    EXPECT_LE(*r.retry_after, 60);
  }
  EXPECT_EQ(CtidVerifyCount(*stack_), calls);  // no CTID call was made
  // Commit/reveal (bearer-authenticated, no CTID) are not rate limited.
  HttpResponse r = http.Post("/v1/issuance/sessions/AAAAAAAAAAAAAAAAAAAAAA/cancel", "{}");
  EXPECT_EQ(r.status, 401) << r.body;
}

TEST_F(RateLimitE2eTest, FailedRealNameChecksBlockTheSourceBeforeAnyCtidCall) {
  // A second node: the limits are per process (docs/operations.md).
  const std::string url = stack_->StartExtraAuthority();
  HttpsClient http(url, stack_->AuthorityTls());
  CtidAppClient ctid(stack_->ctid_url(), stack_->CtidTls());
  Resident who = ctid.GetResident(8);
  Resident other = ctid.GetResident(9);
  std::string n1 = NonceFrom(http.Post("/v1/ctid/nonce", "{}"));
  std::string n2 = NonceFrom(http.Post("/v1/ctid/nonce", "{}"));
  std::string bad = ctid.Authenticate(who.id_number, who.name, n1);
  std::string good = ctid.Authenticate(who.id_number, who.name, n2);
  const std::int64_t calls = CtidVerifyCount(*stack_);
  Resident mismatch = who;
  mismatch.name = other.name;
  HttpResponse r = http.Post("/v1/issuance/sessions", RealNameBody(mismatch, n1, bad));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(ProblemType(r), "urn:realdid:problem:ctid-failed");
  EXPECT_EQ(CtidVerifyCount(*stack_), calls + 1);
  // The source is now blocked (the bucket still has a token): 429 for about an hour, no CTID call.
  r = http.Post("/v1/issuance/sessions", RealNameBody(who, n2, good));
  EXPECT_EQ(r.status, 429) << r.body;
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_GT(*r.retry_after, 60);
  EXPECT_LE(*r.retry_after, 3600);
  EXPECT_NE(wallet::ParseProblem(r).detail.find("real-name"), std::string::npos);
  EXPECT_EQ(CtidVerifyCount(*stack_), calls + 1);
}

}  // namespace
}  // namespace realdid::testing
