// Revocation end to end: the real authority (HSM-signed lists), PostgreSQL, the `realdid` CLI and
// the verifier library. Each revocation path (holder, warrant component, whole key) makes the
// offline verifier reject the credential while an unrevoked one still passes; holder revocation
// refuses a wrong holder key, a replayed nonce and a wrong audience; stale, rolled-back and
// tampered lists are refused; the delta-updated cache equals the full list byte for byte; 304 on
// If-None-Match. Tests run in declaration order; the key revocation test comes last (it revokes
// the only signing key).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/base64url.h"
#include "core/credential.h"
#include "core/json.h"
#include "core/revocation_list.h"
#include "db/pool.h"
#include "db/revocation_store.h"
#include "tests/e2e/stack.h"
#include "wallet/client.h"
#include "wallet/revocation_client.h"
#include "wallet/wallet_file.h"

namespace realdid {
namespace {

namespace fs = std::filesystem;
using testing::E2eStack;
using testing::RunCli;
using testing::RunResult;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class RevocationE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      testing::StackOptions o;
      o.rsa_bits = 2048;
      o.k = 4;
      o.min_k = 2;
      o.admin = true;
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
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    scratch_ = stack_->dir() / ("rev-" + std::to_string(counter_++));
    fs::create_directories(scratch_);
    cli_ = E2eStack::Binary("tools/realdid/realdid");
    jwks_ = (scratch_ / "jwks.json").string();
    ASSERT_EQ(Cli({"keys", "fetch", "--authority", stack_->authority_url(), "--ca",
                   stack_->ca_file(), "--out", jwks_})
                  .rc,
              0);
  }

  RunResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), cli_);
    return RunCli(args, scratch_);
  }

  // Issues a credential for the next resident into a wallet file.
  std::string NewWallet(const std::string& name) {
    wallet::AuthorityClient authority(stack_->authority_url(), stack_->AuthorityTls());
    wallet::CtidAppClient ctid(stack_->ctid_url(), stack_->CtidTls());
    wallet::Resident who = ctid.GetResident(next_resident_++);
    wallet::IssuedCredential cred = wallet::Issue(authority, ctid, who);
    std::string path = (scratch_ / (name + ".json")).string();
    wallet::SaveWallet(path, stack_->authority_url(), cred);
    return path;
  }

  RunResult Fetch(const std::string& cache, const std::string& now = "") {
    std::vector<std::string> a = {"revocation", "fetch", "--authority", stack_->authority_url(),
                                  "--ca", stack_->ca_file(), "--cache", cache, "--jwks", jwks_};
    if (!now.empty()) {
      a.push_back("--now");
      a.push_back(now);
    }
    return Cli(a);
  }

  // present + verify with the revocation cache; returns the verify result.
  RunResult PresentVerify(const std::string& wallet_path, const std::string& cache,
                          const std::string& now = "") {
    std::vector<std::string> p = {"wallet", "present", "--wallet", wallet_path, "--disclose",
                                  "age_over_18", "--aud", "https://rp.example", "--nonce", "n-1"};
    if (!now.empty()) {
      p.push_back("--now");
      p.push_back(now);
    }
    RunResult pres = Cli(p);
    EXPECT_EQ(pres.rc, 0) << pres.err;
    std::string pres_file = (scratch_ / "presentation.txt").string();
    std::ofstream(pres_file) << pres.out;
    std::vector<std::string> v = {"verify", "--jwks", jwks_, "--aud", "https://rp.example",
                                  "--nonce", "n-1", "--presentation", pres_file,
                                  "--revocation-cache", cache};
    if (!now.empty()) {
      v.push_back("--now");
      v.push_back(now);
    }
    return Cli(v);
  }

  wallet::KeySet Keys() { return wallet::ParseKeySet(Slurp(jwks_)); }

  static inline E2eStack* stack_ = nullptr;
  static inline std::string* setup_error_ = nullptr;
  static inline std::uint64_t next_resident_ = 11;
  static inline int counter_ = 0;
  fs::path scratch_;
  std::string cli_;
  std::string jwks_;
};

TEST_F(RevocationE2eTest, KeySetPublishesTheRevocationListKey) {
  wallet::RevocationListKey k = wallet::RevocationListKeyFrom(Keys());
  EXPECT_EQ(k.kid.size(), 43u);
  json::Value manifest = json::Parse(Slurp(stack_->keys_manifest()));
  bool found = false;
  for (const json::Value& e : manifest.at("keys").as_array()) {
    if (e.at("role").as_string() == "revocation-list") {
      found = true;
      EXPECT_EQ(e.at("kid").as_string(), k.kid);
      EXPECT_EQ(e.at("label").as_string(), "realdid-revocation-p256");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(RevocationE2eTest, HolderRevocationRejectsOnlyThatCredential) {
  std::string a = NewWallet("a");
  std::string b = NewWallet("b");
  std::string cache = (scratch_ / "cache").string();
  // Verification without a cached list is refused (no silent online fallback).
  RunResult none = PresentVerify(a, cache);
  EXPECT_EQ(none.rc, 1);
  EXPECT_NE(none.err.find("no cached list"), std::string::npos) << none.err;

  ASSERT_EQ(Fetch(cache).rc, 0);
  EXPECT_EQ(PresentVerify(a, cache).rc, 0);
  fs::copy(cache, scratch_ / "cache-before", fs::copy_options::recursive);

  RunResult revoke = Cli({"wallet", "revoke", "--wallet", a, "--authority",
                          stack_->authority_url(), "--ca", stack_->ca_file()});
  ASSERT_EQ(revoke.rc, 0) << revoke.err;
  json::Value answer = json::Parse(revoke.out);
  EXPECT_TRUE(answer.at("newly_revoked").as_bool());
  // Idempotent.
  RunResult again = Cli({"wallet", "revoke", "--wallet", a, "--authority",
                         stack_->authority_url(), "--ca", stack_->ca_file()});
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_FALSE(json::Parse(again.out).at("newly_revoked").as_bool());

  // The old cache still accepts (offline: nothing was fetched yet).
  EXPECT_EQ(PresentVerify(a, cache).rc, 0);
  RunResult fetched = Fetch(cache);
  ASSERT_EQ(fetched.rc, 0) << fetched.err;
  EXPECT_NE(fetched.out.find("\"fetched\":\"delta\""), std::string::npos) << fetched.out;
  RunResult va = PresentVerify(a, cache);
  EXPECT_EQ(va.rc, 1);
  EXPECT_NE(va.err.find("revoked"), std::string::npos) << va.err;
  EXPECT_EQ(PresentVerify(b, cache).rc, 0);

  // The delta-updated cache equals a freshly fetched full list byte for byte.
  std::string full_cache = (scratch_ / "full").string();
  ASSERT_EQ(Fetch(full_cache).rc, 0);
  wallet::RevocationListKey key = wallet::RevocationListKeyFrom(Keys());
  wallet::RevocationCache c1(cache, key);
  wallet::RevocationCache c2(full_cache, key);
  std::string kid = wallet::LoadWallet(a).kid;
  ASSERT_EQ(c1.DeltaCount(kid), 1u);
  EXPECT_EQ(c2.DeltaCount(kid), 0u);
  EXPECT_EQ(revocation::PayloadJson(*c1.Load(kid)), revocation::PayloadJson(*c2.Load(kid)));

  // Rollback: the list from before the revocation is refused over the newer cached one.
  std::string old_full = Slurp(scratch_ / "cache-before" / (kid + ".full.jws"));
  EXPECT_THROW(c2.StoreFull(old_full, "/x", "\"e\"", wallet::SystemNow()), Error);

  // Tampered cache: a flipped signature byte is refused on load (verify fails closed).
  std::string tampered = Slurp(fs::path(full_cache) / (kid + ".full.jws"));
  char& ch = tampered[tampered.size() - 3];
  ch = ch == 'A' ? 'B' : 'A';
  std::ofstream(fs::path(full_cache) / (kid + ".full.jws"), std::ios::trunc) << tampered;
  RunResult vt = PresentVerify(b, full_cache);
  EXPECT_EQ(vt.rc, 1);
  EXPECT_NE(vt.err.find("signature"), std::string::npos) << vt.err;
}

TEST_F(RevocationE2eTest, StaleListRefused) {
  std::string a = NewWallet("s");
  std::string cache = (scratch_ / "cache").string();
  ASSERT_EQ(Fetch(cache).rc, 0);
  wallet::RevocationCache c(cache, wallet::RevocationListKeyFrom(Keys()));
  std::optional<revocation::List> l = c.Load(wallet::LoadWallet(a).kid);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(PresentVerify(a, cache, std::to_string(l->next_update)).rc, 0);
  RunResult stale = PresentVerify(a, cache, std::to_string(l->next_update + 1));
  EXPECT_EQ(stale.rc, 1);
  EXPECT_NE(stale.err.find("stale"), std::string::npos) << stale.err;
  // Fetching with a clock past next_update refuses the (stale at that time) answer.
  EXPECT_EQ(Fetch((scratch_ / "late").string(), std::to_string(l->next_update + 10)).rc, 1);
}

TEST_F(RevocationE2eTest, HolderRevocationRefusesBadProofs) {
  std::string path = NewWallet("p");
  wallet::WalletFile w = wallet::LoadWallet(path);
  credential::Parsed cred = credential::ParseStrict(w.credential, credential::Form::kIssued);
  wallet::HttpsClient http(stack_->authority_url(), stack_->AuthorityTls());
  auto nonce = [&] {
    wallet::HttpResponse r = http.Post("/v1/revocation/nonce", "{}");
    EXPECT_EQ(r.status, 200) << r.body;
    return b64url::Decode(json::Parse(r.body).at("nonce").as_string());
  };
  jws::PrivateKey holder = jws::PrivateKey::EcP256FromScalar(w.holder_d.reveal());
  auto send = [&](const jws::PrivateKey& key, const revocation::HolderProof& p) {
    return http.Post("/v1/revocations", revocation::HolderRequestJson(
                                            {w.credential, revocation::MakeHolderProof(key, p)}));
  };
  const Bytes rid = credential::RevocationId(cred);
  const std::int64_t now = wallet::SystemNow();

  // Wrong holder key.
  jws::PrivateKey other = jws::PrivateKey::GenerateEcP256();
  EXPECT_EQ(send(other, {cred.iss, nonce(), now, rid}).status, 401);
  // Wrong audience.
  EXPECT_EQ(send(holder, {"https://rp.example", nonce(), now, rid}).status, 401);
  // Another credential's revocation id.
  EXPECT_EQ(send(holder, {cred.iss, nonce(), now, Bytes(32, 1)}).status, 401);
  // A nonce the authority never issued.
  EXPECT_EQ(send(holder, {cred.iss, Bytes(16, 7), now, rid}).status, 401);
  // Malformed body: 400.
  EXPECT_EQ(http.Post("/v1/revocation/nonce", "[]").status, 400);
  EXPECT_EQ(http.Post("/v1/revocation/nonce", "{\"a\":1}").status, 400);
  EXPECT_EQ(http.Post("/v1/revocations", "{\"credential\":\"x\",\"proof\":\"y\"}").status, 400);
  // Nothing was revoked by the refused attempts.
  std::string cache = (scratch_ / "cache").string();
  ASSERT_EQ(Fetch(cache).rc, 0);
  EXPECT_EQ(PresentVerify(path, cache).rc, 0);

  // The correct proof works once; replaying its nonce is refused.
  Bytes n = nonce();
  std::string proof = revocation::MakeHolderProof(holder, {cred.iss, n, now, rid});
  std::string body = revocation::HolderRequestJson({w.credential, proof});
  wallet::HttpResponse ok = http.Post("/v1/revocations", body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(http.Post("/v1/revocations", body).status, 401);
}

TEST_F(RevocationE2eTest, ListsAreCacheableWithEtag) {
  std::string kid = Keys().keys.at(0).kid;
  wallet::HttpsClient http(stack_->authority_url(), stack_->AuthorityTls());
  wallet::HttpResponse r = http.Get("/v1/revocation/lists/" + kid);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/jwt");
  ASSERT_FALSE(r.etag.empty());
  wallet::HttpResponse again = http.GetWithHeaders("/v1/revocation/lists/" + kid,
                                                   {{"If-None-Match", r.etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.etag, r.etag);
  wallet::HttpResponse other = http.GetWithHeaders("/v1/revocation/lists/" + kid,
                                                   {{"If-None-Match", "\"nope\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, r.body);  // every request gets the same cached issue
  // Delta since the current version is empty; since a future version is a conflict.
  revocation::List full = revocation::ParsePayload(
      [&] {
        jws::Compact c = jws::ParseCompact(r.body);
        return std::string(c.payload.begin(), c.payload.end());
      }(),
      false);
  wallet::HttpResponse d =
      http.Get("/v1/revocation/lists/" + kid + "/deltas/" + std::to_string(full.version));
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(http.Get("/v1/revocation/lists/" + kid + "/deltas/" +
                     std::to_string(full.version + 1000))
                .status,
            409);
  EXPECT_EQ(http.Get("/v1/revocation/lists/" + kid + "/deltas/01").status, 400);
  EXPECT_EQ(http.Get("/v1/revocation/lists/" + std::string(43, 'Z')).status, 404);
}

TEST_F(RevocationE2eTest, WarrantComponentRevocationIsRejected) {
  std::string a = NewWallet("w");
  std::string b = NewWallet("w2");
  std::string cache = (scratch_ / "cache").string();
  ASSERT_EQ(Fetch(cache).rc, 0);
  EXPECT_EQ(PresentVerify(a, cache).rc, 0);
  // As the warrant component does (its own database role), after resolving a person.
  wallet::WalletFile w = wallet::LoadWallet(a);
  credential::Parsed cred = credential::ParseStrict(w.credential, credential::Form::kIssued);
  auto pool = stack_->pg().MakePool(testing::PgRole::kWarrant, 1);
  pool->Run("warrant revoke", [&](db::Tx& tx) {
    db::Revoke(tx, {db::RevocationEntry{cred.kid, credential::RevocationId(cred)}}, "warrant",
               wallet::SystemNow());
  });
  ASSERT_EQ(Fetch(cache).rc, 0);
  RunResult v = PresentVerify(a, cache);
  EXPECT_EQ(v.rc, 1);
  EXPECT_NE(v.err.find("revoked"), std::string::npos) << v.err;
  EXPECT_EQ(PresentVerify(b, cache).rc, 0);
}

// Last: revokes the stack's only signing key.
TEST_F(RevocationE2eTest, ZKeyRevocationByOperatorRejectsEveryCredential) {
  std::string a = NewWallet("k");
  std::string cache = (scratch_ / "cache").string();
  ASSERT_EQ(Fetch(cache).rc, 0);
  EXPECT_EQ(PresentVerify(a, cache).rc, 0);
  std::string kid = wallet::LoadWallet(a).kid;
  const std::string path = "/v1/admin/revocation/keys/" + kid;
  // Without a client certificate: 401; a certificate without a principal: 403.
  {
    wallet::HttpsClient anon(stack_->admin_url(), stack_->AdminTls(nullptr));
    EXPECT_EQ(anon.Post(path, "{}").status, 401);
    testing::ClientCert stranger = stack_->IssueClientCert("", "rev-stranger");
    wallet::HttpsClient s(stack_->admin_url(), stack_->AdminTls(&stranger));
    EXPECT_EQ(s.Post(path, "{}").status, 403);
  }
  testing::ClientCert op = stack_->IssueClientCert("operator", "rev-operator");
  wallet::HttpsClient ops(stack_->admin_url(), stack_->AdminTls(&op));
  wallet::HttpResponse r = ops.Post(path, "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::Parse(r.body).at("key_revoked").as_bool());
  ASSERT_EQ(Fetch(cache).rc, 0);
  RunResult v = PresentVerify(a, cache);
  EXPECT_EQ(v.rc, 1);
  EXPECT_NE(v.err.find("key is revoked"), std::string::npos) << v.err;
}

}  // namespace
}  // namespace realdid
