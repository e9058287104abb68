// The warrant component end to end: the real stack (PostgreSQL, SoftHSM2 tokens from the real
// ceremony, ctid-sim, realdid-authority with the internal client CA), real credentials issued over
// HTTPS, the real realdid-warrant binary on its own mutual-TLS listener, and the real
// realdid-auditor tool with one SoftHSM2 token per auditor (tests/warrant/warrant_harness.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "authority/key_manifest.h"
#include "core/base64url.h"
#include "core/blind_rsa.h"
#include "core/credential.h"
#include "core/escrow.h"
#include "core/hash.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/sdjwt.h"
#include "hsm/token.h"
#include "tests/authority/test_tls.h"
#include "tests/e2e/stack.h"
#include "tests/warrant/warrant_harness.h"
#include "wallet/client.h"

namespace realdid::testing {
namespace {

std::int64_t Now() { return WarrantHarness::Now(); }

class WarrantE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      StartAll();
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    warrant_.reset();
    delete stack_;
    stack_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_error_, nullptr) << *setup_error_; }

  static std::filesystem::path Dir() { return stack_->dir(); }

  static void StartAll() {
    StackOptions o;
    o.rsa_bits = 2048;
    o.k = 4;
    o.min_k = 2;
    o.ctid_population = 1000;
    o.admin = true;
    stack_ = new E2eStack(o);

    // Genesis roster: alice, bob, carol (M = 2 needs an author and two approvers); dave later.
    warrant_ = std::make_unique<WarrantHarness>(
        *stack_, std::vector<std::string>{"alice", "bob", "carol", "dave"}, 3);
    auditors_ = warrant_->auditors();
    // A second genesis is refused.
    if (warrant_->Genesis().rc == 0) throw std::runtime_error("a second genesis roster was accepted");
    operator_ = new ClientCert(stack_->IssueClientCert("operator", "ops"));
    stranger_ = new ClientCert(stack_->IssueClientCert("", "stranger"));
    // A certificate from another CA, with the same subject as an enrolled auditor.
    EvpKeyPtr ca_key = NewP256Key();
    X509Ptr ca = MakeCert(ca_key.get(), "Other CA", nullptr, nullptr, true, 1);
    EvpKeyPtr k = NewP256Key();
    X509Ptr c = MakeCert(k.get(), "alice", ca.get(), ca_key.get(), false, 2);
    WritePem(Dir() / "other-ca-client.pem", c.get());
    WritePem(Dir() / "other-ca-client.key", k.get());

    // Real credentials: resident 0 twice, resident 1 once.
    wallet::AuthorityClient authority(stack_->authority_url(), stack_->AuthorityTls());
    wallet::CtidAppClient ctid(stack_->ctid_url(), stack_->CtidTls());
    resident_ = new wallet::Resident(ctid.GetResident(0));
    other_ = new wallet::Resident(ctid.GetResident(1));
    creds_.push_back(wallet::Issue(authority, ctid, *resident_));
    creds_.push_back(wallet::Issue(authority, ctid, *resident_));
    creds_.push_back(wallet::Issue(authority, ctid, *other_));
  }

  // ---- helpers (the harness's, under the names the tests use) ----
  static std::vector<std::string> Conn(const Auditor& a) { return warrant_->Conn(a); }
  static std::vector<std::string> TokenArgs(const Auditor& a) { return warrant_->TokenArgs(a); }
  static RunResult Tool(const std::string& cmd, const std::vector<std::vector<std::string>>& parts) {
    return warrant_->Tool(cmd, parts);
  }
  static std::unique_ptr<wallet::HttpsClient> Client(const std::string& cert, const std::string& key) {
    return warrant_->Client(cert, key);
  }
  static std::unique_ptr<wallet::HttpsClient> Client(const Auditor& a) { return warrant_->Client(a); }

  static std::string Presentation(const wallet::IssuedCredential& c) {
    jws::PrivateKey holder = jws::PrivateKey::EcP256FromScalar(c.holder_d.reveal());
    return sdjwt::Present(c.issued, {"age_over_18"}, holder, "https://rp.example", "n-123", Now());
  }

  // Files a warrant as `author`; returns its id.
  static std::int64_t File(const Auditor& author, const json::Value& scope,
                           const std::string& action = "resolve", std::int64_t ttl = 3600) {
    return warrant_->File(author, scope, action, ttl);
  }
  static json::Value CredentialScope(std::string_view sd_jwt) {
    return WarrantHarness::CredentialScope(sd_jwt);
  }
  static RunResult Approve(const Auditor& a, std::int64_t id) { return warrant_->Approve(a, id); }
  static wallet::HttpResponse Execute(const Auditor& a, std::int64_t id,
                                      const std::optional<std::string>& credential) {
    return warrant_->Execute(a, id, credential);
  }
  static void ApproveBy(std::int64_t id, std::initializer_list<std::size_t> who) {
    warrant_->ApproveBy(id, who);
  }

  static std::string Detail(const wallet::HttpResponse& r) {
    return wallet::ParseProblem(r).detail;
  }

  static inline E2eStack* stack_ = nullptr;
  static inline std::string* setup_error_ = nullptr;
  static inline std::unique_ptr<WarrantHarness> warrant_;
  static inline std::vector<Auditor> auditors_;
  static inline ClientCert* operator_ = nullptr;
  static inline ClientCert* stranger_ = nullptr;
  static inline wallet::Resident* resident_ = nullptr;
  static inline wallet::Resident* other_ = nullptr;
  static inline std::vector<wallet::IssuedCredential> creds_;
};

TEST_F(WarrantE2eTest, CredentialWarrantResolvesThePresentationToTheResident) {
  const std::string presentation = Presentation(creds_[0]);
  // Filed with the CLI from the presentation the relying party saw.
  WriteFile(Dir() / "presentation.txt", presentation);
  RunResult f = Tool("file", {Conn(auditors_[0]),
                              {"--legal-basis", "Court order 17/2026", "--case", "CASE-17",
                               "--credential-file", (Dir() / "presentation.txt").string(),
                               "--expires-in", "3600"}});
  ASSERT_EQ(f.rc, 0) << f.err;
  std::int64_t id = json::Parse(f.out).at("id").as_int();
  ApproveBy(id, {1, 2});
  RunResult show = Tool("show", {Conn(auditors_[0]), {std::to_string(id)}});
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_EQ(json::Parse(show.out).at("state").as_string(), "approved");
  EXPECT_EQ(json::Parse(show.out).at("approvals_valid").as_int(), 2);

  RunResult ex = Tool("execute", {Conn(auditors_[0]),
                                  {std::to_string(id), "--credential-file",
                                   (Dir() / "presentation.txt").string()}});
  ASSERT_EQ(ex.rc, 0) << ex.err;
  json::Value answer = json::Parse(ex.out);
  EXPECT_EQ(answer.at("outcome").as_string(), "resolved");
  EXPECT_EQ(answer.at("identity").at("name").as_string(), resident_->name);
  EXPECT_EQ(answer.at("identity").at("id_number").as_string(), resident_->id_number);

  // Single use.
  wallet::HttpResponse again = Execute(auditors_[0], id, presentation);
  EXPECT_EQ(again.status, 409) << again.body;
  // The audit log holds the execution, without identity data.
  auto pool = stack_->pg().MakePool(PgRole::kSuperuser);
  std::string content = pool->Run("q", [&](db::Tx& tx) {
    return ToString(tx.Exec("SELECT content FROM audit_log WHERE kind = 'warrant.executed' "
                            "ORDER BY seq DESC LIMIT 1")
                        .One()
                        .GetBytes("content"));
  });
  EXPECT_NE(content.find("\"outcome\":\"resolved\""), std::string::npos);
  EXPECT_EQ(content.find(resident_->id_number), std::string::npos);
  // No identity in the component's log.
  std::string log = Slurp(warrant_->log_file());
  EXPECT_EQ(log.find(resident_->id_number), std::string::npos);
  EXPECT_EQ(log.find(resident_->name), std::string::npos);
}

TEST_F(WarrantE2eTest, PersonWarrantListsExactlyThatPersonsCredentials) {
  auto pool = stack_->pg().MakePool(PgRole::kSuperuser);
  std::int64_t person = pool->Run("q", [&](db::Tx& tx) {
    return tx.Exec("SELECT person_id, count(*) AS n FROM issuance_records GROUP BY person_id "
                   "HAVING count(*) = 2")
        .One()
        .GetInt64("person_id");
  });
  json::Value scope = json::Object{};
  scope.set("person_id", person);
  std::int64_t id = File(auditors_[1], scope);
  ApproveBy(id, {0, 2});
  wallet::HttpResponse r = Execute(auditors_[1], id, std::nullopt);
  ASSERT_EQ(r.status, 200) << r.body;
  json::Value answer = json::Parse(r.body);
  EXPECT_EQ(answer.at("outcome").as_string(), "listed");
  std::set<std::string> got;
  for (const json::Value& c : answer.at("credentials").as_array()) {
    got.insert(c.at("revocation_id").as_string());
  }
  std::set<std::string> want;
  for (std::size_t i = 0; i < 2; ++i) {
    credential::Parsed p = credential::ParseStrict(creds_[i].issued, credential::Form::kIssued);
    want.insert(b64url::Encode(credential::RevocationId(p)));
  }
  EXPECT_EQ(got, want);
  credential::Parsed other = credential::ParseStrict(creds_[2].issued, credential::Form::kIssued);
  EXPECT_EQ(got.count(b64url::Encode(credential::RevocationId(other))), 0U);
  EXPECT_EQ(answer.at("unreadable_traces").as_int(), 0);
  EXPECT_EQ(answer.find("identity"), nullptr);
}

TEST_F(WarrantE2eTest, PersonWarrantWithActionRevokeRevokesTheCredentials) {
  auto pool = stack_->pg().MakePool(PgRole::kSuperuser);
  std::int64_t person = pool->Run("q", [&](db::Tx& tx) {
    return tx.Exec("SELECT person_id FROM issuance_records GROUP BY person_id HAVING count(*) = 1")
        .One()
        .GetInt64("person_id");
  });
  json::Value scope = json::Object{};
  scope.set("person_id", person);
  std::int64_t id = File(auditors_[2], scope, "revoke");
  ApproveBy(id, {0, 1});
  wallet::HttpResponse r = Execute(auditors_[2], id, std::nullopt);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::Parse(r.body).at("newly_revoked").as_int(), 1);
  credential::Parsed p = credential::ParseStrict(creds_[2].issued, credential::Form::kIssued);
  bool revoked = pool->Run("q", [&](db::Tx& tx) {
    return !tx.Exec("SELECT 1 FROM revocations WHERE revocation_id = $1",
                    {ByteView(credential::RevocationId(p))})
                .empty();
  });
  EXPECT_TRUE(revoked);
}

TEST_F(WarrantE2eTest, SelfApprovalIsRefused) {
  std::int64_t id = File(auditors_[0], CredentialScope(creds_[0].issued));
  RunResult r = Approve(auditors_[0], id);
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("self-approval"), std::string::npos) << r.err;
}

TEST_F(WarrantE2eTest, TooFewApprovalsAreRefused) {
  std::int64_t id = File(auditors_[0], CredentialScope(creds_[0].issued));
  ApproveBy(id, {1});
  wallet::HttpResponse r = Execute(auditors_[0], id, creds_[0].issued);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(Detail(r).find("1 valid approvals of 2"), std::string::npos) << r.body;
}

TEST_F(WarrantE2eTest, AnApprovalRowInsertedBySuperuserWithoutValidSignatureDoesNotCount) {
  std::int64_t id = File(auditors_[0], CredentialScope(creds_[0].issued));
  ApproveBy(id, {1});
  auto pool = stack_->pg().MakePool(PgRole::kSuperuser);
  pool->Run("forge", [&](db::Tx& tx) {
    // carol's roster id, a random "signature", and the state the component would have set.
    tx.Exec("INSERT INTO warrant_approvals (warrant_id, auditor_id, signature, created_at) "
            "SELECT $1, id, $2, now() FROM auditors WHERE label = 'carol'",
            {static_cast<long long>(id), ByteView(RandomBytes(64))});
    tx.Exec("UPDATE warrants SET state = 'approved' WHERE id = $1", {static_cast<long long>(id)});
  });
  wallet::HttpResponse r = Execute(auditors_[0], id, creds_[0].issued);
  EXPECT_EQ(r.status, 403) << r.body;
  wallet::HttpResponse show = Client(auditors_[0])->Get("/v1/warrants/" + std::to_string(id));
  EXPECT_EQ(json::Parse(show.body).at("approvals_valid").as_int(), 1);
}

TEST_F(WarrantE2eTest, RosterChangeNeedsApprovalsAndALateApproverDoesNotCount) {
  std::int64_t id = File(auditors_[0], CredentialScope(creds_[0].issued));
  // Dave is not on the roster yet.
  EXPECT_EQ(Client(auditors_[3])->Get("/v1/warrants/" + std::to_string(id)).status, 403);
  WriteFile(Dir() / "dave.jwk", json::Serialize(auditors_[3].jwk));
  RunResult p = Tool("roster-propose", {Conn(auditors_[0]),
                                        {"add", "--label", "dave", "--cert-file",
                                         auditors_[3].cert.cert_file, "--jwk-file",
                                         (Dir() / "dave.jwk").string(), "--expires-in", "3600"}});
  ASSERT_EQ(p.rc, 0) << p.err;
  std::int64_t change = json::Parse(p.out).at("id").as_int();
  // The proposer cannot approve; one approval does not apply it.
  RunResult self = Tool("roster-approve", {Conn(auditors_[0]), TokenArgs(auditors_[0]),
                                           {std::to_string(change)}});
  EXPECT_NE(self.rc, 0);
  RunResult b = Tool("roster-approve", {Conn(auditors_[1]), TokenArgs(auditors_[1]),
                                        {std::to_string(change)}});
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(json::Parse(b.out).at("state").as_string(), "proposed");
  EXPECT_EQ(Client(auditors_[3])->Get("/v1/roster").status, 403);
  RunResult c = Tool("roster-approve", {Conn(auditors_[2]), TokenArgs(auditors_[2]),
                                        {std::to_string(change)}});
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_EQ(json::Parse(c.out).at("state").as_string(), "applied");
  EXPECT_EQ(Client(auditors_[3])->Get("/v1/roster").status, 200);

  // Dave was enrolled after this warrant was filed: his approval is refused.
  RunResult d = Approve(auditors_[3], id);
  EXPECT_NE(d.rc, 0);
  EXPECT_NE(d.err.find("enrolled after"), std::string::npos) << d.err;
  // On a warrant filed after his enrolment it counts.
  std::int64_t later = File(auditors_[0], CredentialScope(creds_[1].issued));
  ApproveBy(later, {3});
  wallet::HttpResponse show = Client(auditors_[0])->Get("/v1/warrants/" + std::to_string(later));
  EXPECT_EQ(json::Parse(show.body).at("approvals_valid").as_int(), 1);
}

TEST_F(WarrantE2eTest, ExecutionAfterExpiryIsRefused) {
  std::int64_t id = File(auditors_[0], CredentialScope(creds_[1].issued), "resolve", 3);
  for (std::size_t i : {1U, 2U}) (void)Approve(auditors_[i], id);  // may race the expiry
  wallet::HttpResponse show = Client(auditors_[0])->Get("/v1/warrants/" + std::to_string(id));
  std::int64_t expires = json::Parse(json::Parse(show.body).at("content").as_string())
                             .at("expires_at")
                             .as_int();
  while (Now() <= expires) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  wallet::HttpResponse r = Execute(auditors_[0], id, creds_[1].issued);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(Detail(r).find("expired"), std::string::npos) << r.body;
  show = Client(auditors_[0])->Get("/v1/warrants/" + std::to_string(id));
  EXPECT_EQ(json::Parse(show.body).at("state").as_string(), "expired");
}

TEST_F(WarrantE2eTest, ExecutionAfterWithdrawalIsRefused) {
  std::int64_t id = File(auditors_[0], CredentialScope(creds_[1].issued));
  ApproveBy(id, {1, 2});
  RunResult w = Tool("withdraw", {Conn(auditors_[0]), {std::to_string(id)}});
  ASSERT_EQ(w.rc, 0) << w.err;
  wallet::HttpResponse r = Execute(auditors_[0], id, creds_[1].issued);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(Detail(r).find("withdrawn"), std::string::npos) << r.body;
}

// A credential in canonical form built with the core library from the real session values.
struct Forged {
  std::string issued;
};

Forged BuildCredential(const credential::Parsed& real, ByteView escrow_bytes,
                       const std::function<Bytes(const std::string&)>& sign) {
  credential::SessionValues s = real.Session();
  credential::CandidateOpening o;
  jws::PrivateKey holder = jws::PrivateKey::GenerateEcP256();
  json::Value hj = holder.Public().Jwk();
  o.holder_x = b64url::Decode(hj.at("x").as_string());
  o.holder_y = b64url::Decode(hj.at("y").as_string());
  o.jti = RandomBytes(16);
  for (auto& salt : o.salts) salt = RandomBytes(16);
  o.escrow = Bytes(escrow_bytes.begin(), escrow_bytes.end());
  credential::Built b = credential::Build(s, o);
  return Forged{b.Issued(sign(b.signing_input))};
}

TEST_F(WarrantE2eTest, CredentialsNotSignedByTheAuthorityAreRefusedBeforeDecrypting) {
  credential::Parsed real = credential::ParseStrict(creds_[0].issued, credential::Form::kIssued);
  auto pool = stack_->pg().MakePool(PgRole::kSuperuser);
  Bytes trace = pool->Run("q", [&](db::Tx& tx) {
    return tx.Exec("SELECT trace FROM issuance_records LIMIT 1").One().GetBytes("trace");
  });
  jws::PrivateKey foreign = jws::PrivateKey::GenerateRsa(2048);
  // A trace ciphertext pasted into a fake credential (its first 97 bytes as the escrow claim),
  // signed by a key that is not the authority's but under the authority's kid.
  Forged fake = BuildCredential(real, ByteView(trace).first(97), [&](const std::string& in) {
    return jws::SignRaw(foreign, jws::Alg::kPS384, in);
  });
  std::int64_t id = File(auditors_[0], CredentialScope(fake.issued));
  ApproveBy(id, {1, 2});
  wallet::HttpResponse r = Execute(auditors_[0], id, fake.issued);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Detail(r).find("not signed by the authority"), std::string::npos) << r.body;
  // A credential that is not the warrant's is refused too.
  wallet::HttpResponse other = Execute(auditors_[0], id, creds_[0].issued);
  EXPECT_EQ(other.status, 400) << other.body;
  // Nothing was consumed by the refusals.
  wallet::HttpResponse show = Client(auditors_[0])->Get("/v1/warrants/" + std::to_string(id));
  EXPECT_EQ(json::Parse(show.body).at("state").as_string(), "approved");
}

TEST_F(WarrantE2eTest, ACheatCredentialYieldsInconsistentCheatNeverAnIdentity) {
  credential::Parsed real = credential::ParseStrict(creds_[0].issued, credential::Form::kIssued);
  auto pool = stack_->pg().MakePool(PgRole::kSuperuser);
  // The real issuance id behind the resident's credential (a cheater planted it in an escrow
  // that opens, but the trace the authority kept names another credential).
  Bytes issuance_id = pool->Run("q", [&](db::Tx& tx) {
    return tx.Exec("SELECT issuance_id FROM issuance_records ORDER BY created_at LIMIT 1")
        .One()
        .GetBytes("issuance_id");
  });
  std::vector<authority::ManifestKey> manifest = authority::LoadKeyManifest(stack_->keys_manifest());
  const authority::ManifestKey* rsa = nullptr;
  const authority::ManifestKey* esc = nullptr;
  for (const auto& k : manifest) {
    if (k.role == "blind-signing" && k.kid == real.kid) rsa = &k;
    if (k.role == "escrow") esc = &k;
  }
  ASSERT_NE(rsa, nullptr);
  ASSERT_NE(esc, nullptr);
  hpke::PublicKey escrow_pk = hpke::DeserializePublicKey(
      Concat({Bytes{0x04}, b64url::Decode(esc->jwk.at("x").as_string()),
              b64url::Decode(esc->jwk.at("y").as_string())}));

  hsm::TokenConfig tc;
  tc.module_path = SoftHsmHarness::ModulePath();
  tc.token_label = "realdid-issuance";
  tc.pin = Secret::FromString(SoftHsmHarness::kUserPin);
  tc.pool_size = 1;
  std::unique_ptr<hsm::Token> token = hsm::Token::Open(tc);
  hsm::KeyRef key{rsa->label, rsa->cka_id};
  const std::size_t mod_bits = token->RsaPublic(key).n.size() * 8;

  // Build the credential in two passes: the escrow depends on the jti and holder key.
  credential::SessionValues s = real.Session();
  credential::CandidateOpening o;
  jws::PrivateKey holder = jws::PrivateKey::GenerateEcP256();
  json::Value hj = holder.Public().Jwk();
  o.holder_x = b64url::Decode(hj.at("x").as_string());
  o.holder_y = b64url::Decode(hj.at("y").as_string());
  o.jti = RandomBytes(16);
  for (auto& salt : o.salts) salt = RandomBytes(16);
  escrow::CredentialFields f{s.kid, static_cast<std::uint64_t>(s.iat),
                             static_cast<std::uint64_t>(s.exp), o.jti, jwk::ThumbprintSha256(hj)};
  hpke::Sealed e = escrow::SealEscrow(escrow_pk, esc->kid, f, issuance_id, RandomBytes(32));
  o.escrow = Concat({e.enc, e.ct});
  credential::Built b = credential::Build(s, o);
  Bytes em = blind_rsa::EmsaPssEncodeSha384(AsBytes(b.signing_input), RandomBytes(48), mod_bits - 1);
  if (em.size() < mod_bits / 8) em.insert(em.begin(), mod_bits / 8 - em.size(), 0);
  Bytes sig = token->RsaRawPrivate(key, em);
  std::string cheat = b.Issued(sig);
  token.reset();
  // It really is signed by the authority.
  credential::Parsed cp = credential::ParseStrict(cheat, credential::Form::kIssued);
  ASSERT_TRUE(jws::VerifyRaw(jws::PublicKey::FromJwk(rsa->jwk), jws::Alg::kPS384, cp.signing_input,
                             cp.signature));

  std::int64_t id = File(auditors_[0], CredentialScope(cheat));
  ApproveBy(id, {1, 2});
  wallet::HttpResponse r = Execute(auditors_[0], id, cheat);
  ASSERT_EQ(r.status, 200) << r.body;
  json::Value answer = json::Parse(r.body);
  EXPECT_EQ(answer.at("outcome").as_string(), "inconsistent: cheat");
  EXPECT_EQ(answer.find("identity"), nullptr);
  EXPECT_EQ(answer.find("person_id"), nullptr);
  EXPECT_EQ(r.body.find(resident_->name), std::string::npos);
}

TEST_F(WarrantE2eTest, WrongRoleUnknownCertificateNoCertificateAndForeignCaAreRefused) {
  // An operator certificate: authenticated, wrong role.
  EXPECT_EQ(Client(operator_->cert_file, operator_->key_file)->Get("/v1/roster").status, 403);
  // A certificate from the internal CA that is not a principal.
  EXPECT_EQ(Client(stranger_->cert_file, stranger_->key_file)->Get("/v1/roster").status, 403);
  // No client certificate: 401 on every route, health included.
  EXPECT_EQ(Client("", "")->Get("/v1/roster").status, 401);
  EXPECT_EQ(Client("", "")->Get("/healthz").status, 401);
  EXPECT_EQ(Client("", "")->Post("/v1/warrants", "{}").status, 401);
  // A certificate from another CA (same subject as an auditor).
  EXPECT_THROW((void)Client((Dir() / "other-ca-client.pem").string(),
                            (Dir() / "other-ca-client.key").string())
                   ->Get("/v1/roster"),
               Error);
  // The right certificate works.
  EXPECT_EQ(Client(auditors_[0])->Get("/v1/roster").status, 200);
}

}  // namespace
}  // namespace realdid::testing
