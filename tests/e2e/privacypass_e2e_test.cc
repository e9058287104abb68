// Privacy Pass (RFC 9578 token type 0x0002) end to end against the real stack (tests/e2e/stack.h:
// real PostgreSQL, SoftHSM2 keys from the real ceremony, real TLS, the real authority binary):
// directory with ETag/304, single and batched tokens that verify, every refusal with its status
// (415, 422, 401, 403, 429 + Retry-After), the exact quota boundary (100th ok, 101st 429), the
// per-person cap on active credentials (409), and the `realdid token` CLI with its double-spend
// check.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/credential.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/privacypass.h"
#include "db/pool.h"
#include "db/revocation_store.h"
#include "privacypass/redeem.h"
#include "tests/e2e/stack.h"
#include "wallet/https_client.h"
#include "wallet/privacypass_client.h"
#include "wallet/wallet_file.h"

namespace realdid::testing {
namespace {

namespace pp = realdid::privacypass;
using wallet::HttpsClient;
using wallet::HttpResponse;

constexpr std::string_view kRequestPath = "/v1/privacypass/token-request";

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class PrivacyPassE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      StackOptions o;
      o.rsa_bits = 2048;
      o.k = 4;
      o.min_k = 2;
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
    http_ = std::make_unique<HttpsClient>(stack_->authority_url(), stack_->AuthorityTls());
  }

  // A fresh resident's wallet through the real CLI (`realdid wallet issue`).
  static std::filesystem::path NewWallet(std::uint64_t* index_out = nullptr) {
    const std::uint64_t index = next_resident_++;
    if (index_out != nullptr) *index_out = index;
    return IssueFor(index, "pp-wallet-" + std::to_string(index) + "-" +
                               std::to_string(wallets_++) + ".json")
        .value();
  }
  static std::optional<std::filesystem::path> IssueFor(std::uint64_t index, const std::string& name,
                                                       std::string* err = nullptr) {
    const auto path = stack_->dir() / name;
    RunResult r = RunCli(stack_->WalletIssueArgv(index, path.string()), stack_->dir());
    if (err != nullptr) *err = r.err;
    if (r.rc != 0) {
      if (err == nullptr) ADD_FAILURE() << r.err << "\n" << stack_->AuthorityLog();
      return std::nullopt;
    }
    return path;
  }

  std::string IssuerName() const {
    return stack_->authority_url().substr(std::string("https://").size());
  }
  Bytes Challenge() const { return pp::MakeChallenge(IssuerName(), {"rp.example"}, true); }

  // POST with the given body, content type and (optional) attestation.
  HttpResponse Post(std::string_view body, std::string_view type,
                    const std::optional<std::string>& attestation) {
    HttpsClient::Headers h;
    if (attestation) h.emplace_back("RealDID-Attestation", *attestation);
    return http_->PostWithHeaders(kRequestPath, body, type, h);
  }
  HttpResponse PostAttested(const wallet::WalletFile& w, const Bytes& body, std::string_view type) {
    return Post(ToString(body), type,
                wallet::PrivacyPassAttestation(w, body, wallet::SystemNow()));
  }
  // n fresh token requests under the current directory key.
  std::vector<pp::PendingToken> Pending(const wallet::TokenIssuer& issuer, std::size_t n) {
    const Bytes c = Challenge();
    std::vector<pp::PendingToken> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(pp::BeginToken(issuer.pk, issuer.spki, c));
    return out;
  }
  static Bytes Batch(const std::vector<pp::PendingToken>& p) {
    std::vector<pp::TokenRequest> r;
    for (const pp::PendingToken& x : p) r.push_back(x.request);
    return pp::SerializeBatchRequest(r);
  }
  static void ExpectProblem(const HttpResponse& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json") << what;
  }

  static E2eStack* stack_;
  static std::string* setup_error_;
  static std::uint64_t next_resident_;
  static int wallets_;
  std::unique_ptr<HttpsClient> http_;
};

E2eStack* PrivacyPassE2eTest::stack_ = nullptr;
std::string* PrivacyPassE2eTest::setup_error_ = nullptr;
std::uint64_t PrivacyPassE2eTest::next_resident_ = 7000;
int PrivacyPassE2eTest::wallets_ = 0;

TEST_F(PrivacyPassE2eTest, DirectoryWithCachingAndOneRsa2048Key) {
  HttpResponse r = http_->Get(pp::kDirectoryPath);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, pp::kMediaDirectory);
  ASSERT_FALSE(r.etag.empty());
  EXPECT_NE(r.cache_control.find("max-age="), std::string::npos) << r.cache_control;
  const pp::Directory d = pp::ParseDirectory(r.body);
  EXPECT_EQ(d.issuer_request_uri, stack_->authority_url() + std::string(kRequestPath));
  ASSERT_EQ(d.keys.size(), 1u);
  EXPECT_EQ(blind_rsa::PublicKey::FromSpkiDer(d.keys[0].spki).modulus_bits(), 2048u);
  EXPECT_LE(d.keys[0].not_before, wallet::SystemNow());
  // The key is the ceremony's "privacypass" key, not the credential key.
  const json::Value manifest = json::Parse(Slurp(stack_->keys_manifest()));
  bool found = false;
  for (const json::Value& k : manifest.at("keys").as_array()) {
    if (k.at("role").as_string() != "privacypass") continue;
    found = true;
    EXPECT_EQ(k.at("label").as_string(), "realdid-pp-rsa2048");
    EXPECT_EQ(k.at("nbf").as_int(), d.keys[0].not_before);
  }
  EXPECT_TRUE(found);
  // Conditional GET: 304 with the same ETag and no body; another tag gets the document.
  HttpResponse again = http_->GetWithHeaders(pp::kDirectoryPath, {{"If-None-Match", r.etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.etag, r.etag);
  HttpResponse other = http_->GetWithHeaders(pp::kDirectoryPath, {{"If-None-Match", "\"x\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, r.body);
}

TEST_F(PrivacyPassE2eTest, SingleAndBatchedTokensVerify) {
  const wallet::WalletFile w = wallet::LoadWallet(NewWallet());
  const std::int64_t now = wallet::SystemNow();
  const wallet::TokenIssuer issuer = wallet::FetchTokenIssuer(*http_, now);
  const Bytes challenge = Challenge();
  for (std::size_t count : {std::size_t{1}, std::size_t{5}}) {
    SCOPED_TRACE(count);
    const std::vector<pp::Token> tokens =
        wallet::FetchTokens(*http_, w, issuer, challenge, count, now);
    ASSERT_EQ(tokens.size(), count);
    for (const pp::Token& t : tokens) {
      EXPECT_TRUE(pp::VerifyToken(issuer.pk, issuer.spki, t, ByteView(challenge)));
      const pp::Redeemed red = pp::Redeem(issuer.directory, t.Serialize(), ByteView(challenge),
                                          nullptr);
      EXPECT_EQ(red.token_key_id, pp::TokenKeyId(issuer.spki));
    }
  }
  // The raw answers: media types and sizes.
  auto p = Pending(issuer, 3);
  HttpResponse single = PostAttested(w, p[0].request.Serialize(), pp::kMediaTokenRequest);
  ASSERT_EQ(single.status, 200) << single.body;
  EXPECT_EQ(single.content_type, pp::kMediaTokenResponse);
  EXPECT_EQ(single.body.size(), pp::kNk);
  HttpResponse batch = PostAttested(w, Batch(p), pp::kMediaBatchRequest);
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.content_type, pp::kMediaBatchResponse);
  auto sigs = pp::ParseBatchResponse(AsBytes(batch.body), 10);
  ASSERT_EQ(sigs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(sigs[i].has_value());
    EXPECT_TRUE(pp::VerifyToken(issuer.pk, issuer.spki, pp::FinishToken(issuer.pk, p[i], *sigs[i])));
  }
}

TEST_F(PrivacyPassE2eTest, EveryRefusalHasItsStatus) {
  const wallet::WalletFile w = wallet::LoadWallet(NewWallet());
  const wallet::TokenIssuer issuer = wallet::FetchTokenIssuer(*http_, wallet::SystemNow());
  auto p = Pending(issuer, 2);
  const Bytes good = p[0].request.Serialize();

  // 415: another media type (the attestation is fine).
  for (std::string_view type : {std::string_view("application/json"),
                                std::string_view("application/octet-stream"),
                                std::string_view("application/private-token-response")}) {
    ExpectProblem(PostAttested(w, good, type), 415, std::string(type));
  }
  // 422: another token type, an unknown truncated key id, a blinded message of the wrong size or
  // out of range, and malformed batches (all-or-nothing).
  Bytes type1 = good;
  type1[1] = 0x01;
  ExpectProblem(PostAttested(w, type1, pp::kMediaTokenRequest), 422, "token type 1");
  Bytes wrong_id = good;
  wrong_id[2] = static_cast<std::uint8_t>(wrong_id[2] ^ 0x5a);
  ExpectProblem(PostAttested(w, wrong_id, pp::kMediaTokenRequest), 422, "key id");
  ExpectProblem(PostAttested(w, Bytes(good.begin(), good.end() - 1), pp::kMediaTokenRequest), 422,
                "short");
  ExpectProblem(PostAttested(w, Concat({good, Bytes{0}}), pp::kMediaTokenRequest), 422, "long");
  Bytes too_big = good;
  std::fill(too_big.begin() + 3, too_big.end(), 0xff);
  ExpectProblem(PostAttested(w, too_big, pp::kMediaTokenRequest), 422, "m >= n");
  ExpectProblem(PostAttested(w, good, pp::kMediaBatchRequest), 422, "single as batch");
  Bytes batch = Batch(p);
  std::vector<pp::TokenRequest> mixed = {p[0].request, p[1].request};
  mixed[1].truncated_token_key_id = static_cast<std::uint8_t>(mixed[1].truncated_token_key_id ^ 1);
  ExpectProblem(PostAttested(w, pp::SerializeBatchRequest(mixed), pp::kMediaBatchRequest), 422,
                "batch key id");
  Bytes lying = batch;
  lying[1] = static_cast<std::uint8_t>(lying[1] + 1);
  ExpectProblem(PostAttested(w, lying, pp::kMediaBatchRequest), 422, "batch length");
  ExpectProblem(PostAttested(w, pp::SerializeBatchRequest({}), pp::kMediaBatchRequest), 422,
                "empty batch");

  // 401: no attestation, garbage, an attestation made for another body, one that discloses a
  // claim, one for another audience.
  ExpectProblem(Post(ToString(good), pp::kMediaTokenRequest, std::nullopt), 401, "missing");
  ExpectProblem(Post(ToString(good), pp::kMediaTokenRequest, std::string("x.y.z~")), 401, "garbage");
  const Bytes other_body = p[1].request.Serialize();
  ExpectProblem(Post(ToString(good), pp::kMediaTokenRequest,
                     wallet::PrivacyPassAttestation(w, other_body, wallet::SystemNow())),
                401, "nonce of another body");
  const std::string nonce = b64url::Encode(hash::Sha256(good));
  const credential::Parsed parsed = credential::ParseStrict(w.credential, credential::Form::kIssued);
  ExpectProblem(Post(ToString(good), pp::kMediaTokenRequest,
                     wallet::Present(w, {"age_over_18"}, parsed.iss, nonce, wallet::SystemNow())),
                401, "disclosure");
  ExpectProblem(Post(ToString(good), pp::kMediaTokenRequest,
                     wallet::Present(w, {}, "https://other.example", nonce, wallet::SystemNow())),
                401, "audience");
  ExpectProblem(Post(ToString(good), pp::kMediaTokenRequest,
                     wallet::Present(w, {}, parsed.iss, nonce, wallet::SystemNow() - 3600)),
                401, "stale KB-JWT");

  // The same request with a proper attestation succeeds: none of the refusals spent quota.
  HttpResponse ok = PostAttested(w, good, pp::kMediaTokenRequest);
  EXPECT_EQ(ok.status, 200) << ok.body;

  // 403: the credential is revoked (inserted through the revocation store).
  {
    db::PoolConfig pc;
    pc.dsn = Secret::FromString(Trim(Slurp(stack_->dir() / "db-dsn")));
    pc.size = 1;
    db::Pool pool(std::move(pc));
    pool.Run("test_revoke", [&](db::Tx& tx) {
      return db::Revoke(tx, {{parsed.kid, credential::RevocationId(parsed)}}, "operator",
                        wallet::SystemNow());
    });
  }
  ExpectProblem(PostAttested(w, p[1].request.Serialize(), pp::kMediaTokenRequest), 403, "revoked");
  ExpectProblem(PostAttested(w, Batch(p), pp::kMediaBatchRequest), 403, "revoked batch");
}

TEST_F(PrivacyPassE2eTest, QuotaBoundaryIsExactAndBatchesCountEachToken) {
  const wallet::WalletFile w = wallet::LoadWallet(NewWallet());
  const wallet::TokenIssuer issuer = wallet::FetchTokenIssuer(*http_, wallet::SystemNow());
  // 98 in one batch, then the 99th alone.
  HttpResponse b = PostAttested(w, Batch(Pending(issuer, 98)), pp::kMediaBatchRequest);
  ASSERT_EQ(b.status, 200) << b.body;
  ASSERT_EQ(pp::ParseBatchResponse(AsBytes(b.body), 100).size(), 98u);
  ASSERT_EQ(PostAttested(w, Pending(issuer, 1)[0].request.Serialize(), pp::kMediaTokenRequest).status,
            200);
  // A batch of 2 would be the 101st: refused whole, nothing spent.
  HttpResponse two = PostAttested(w, Batch(Pending(issuer, 2)), pp::kMediaBatchRequest);
  ExpectProblem(two, 429, "batch over quota");
  ASSERT_TRUE(two.retry_after.has_value());
  // The 100th token is still there.
  HttpResponse hundredth =
      PostAttested(w, Pending(issuer, 1)[0].request.Serialize(), pp::kMediaTokenRequest);
  EXPECT_EQ(hundredth.status, 200) << hundredth.body;
  // The 101st is not: 429 with Retry-After = seconds to the next 00:00 UTC.
  const std::int64_t before = wallet::SystemNow();
  HttpResponse over = PostAttested(w, Pending(issuer, 1)[0].request.Serialize(), pp::kMediaTokenRequest);
  const std::int64_t after = wallet::SystemNow();
  ExpectProblem(over, 429, "101st");
  ASSERT_TRUE(over.retry_after.has_value());
  EXPECT_GE(*over.retry_after, 86400 - after % 86400);
  EXPECT_LE(*over.retry_after, 86400 - before % 86400 + 1);
  EXPECT_GE(*over.retry_after, 1);
  // Another credential has its own quota.
  const wallet::WalletFile w2 = wallet::LoadWallet(NewWallet());
  EXPECT_EQ(PostAttested(w2, Pending(issuer, 1)[0].request.Serialize(), pp::kMediaTokenRequest).status,
            200);
}

TEST_F(PrivacyPassE2eTest, ActiveCredentialsPerPersonAreCapped) {
  std::uint64_t index = 0;
  (void)NewWallet(&index);  // 1
  ASSERT_TRUE(IssueFor(index, "pp-cap-2.json").has_value());  // 2
  ASSERT_TRUE(IssueFor(index, "pp-cap-3.json").has_value());  // 3 (the default cap)
  std::string err;
  EXPECT_FALSE(IssueFor(index, "pp-cap-4.json", &err).has_value());
  EXPECT_NE(err.find("409"), std::string::npos) << err;
  EXPECT_NE(err.find("per-person cap"), std::string::npos) << err;
  // Another person is not affected.
  EXPECT_TRUE(IssueFor(next_resident_++, "pp-cap-other.json").has_value());
}

TEST_F(PrivacyPassE2eTest, CliChallengeFetchRedeemAndDoubleSpend) {
  const auto& d = stack_->dir();
  const std::string cli = E2eStack::Binary("tools/realdid/realdid");
  const std::string wallet_path = NewWallet().string();
  RunResult ch = RunCli({cli, "token", "challenge", "--issuer-name", IssuerName(), "--origin",
                         "rp.example", "--context"},
                        d);
  ASSERT_EQ(ch.rc, 0) << ch.err;
  const std::string challenge = Trim(ch.out);
  const pp::TokenChallenge tc = pp::TokenChallenge::Parse(pp::DecodeB64urlPadded(challenge));
  EXPECT_EQ(tc.issuer_name, IssuerName());
  EXPECT_EQ(tc.redemption_context.size(), 32u);

  const std::string dir_path = (d / "pp-directory.json").string();
  RunResult dir = RunCli({cli, "token", "directory", "--authority", stack_->authority_url(), "--ca",
                          stack_->ca_file(), "--out", dir_path},
                         d);
  ASSERT_EQ(dir.rc, 0) << dir.err;
  const std::string tokens_path = (d / "pp-tokens.txt").string();
  RunResult fetch = RunCli({cli, "token", "fetch", "--wallet", wallet_path, "--ca",
                            stack_->ca_file(), "--challenge", challenge, "--count", "3", "--out",
                            tokens_path},
                           d);
  ASSERT_EQ(fetch.rc, 0) << fetch.err << stack_->AuthorityLog();
  std::vector<std::string> tokens;
  std::istringstream in(Slurp(tokens_path));
  for (std::string line; std::getline(in, line);) tokens.push_back(line);
  ASSERT_EQ(tokens.size(), 3u);

  const std::string seen = (d / "pp-seen.txt").string();
  auto redeem = [&](const std::string& token, const std::string& chal) {
    return RunCli({cli, "token", "redeem", "--directory", dir_path, "--token",
                   "PrivateToken token=\"" + token + "\"", "--challenge", chal, "--seen", seen},
                  d);
  };
  RunResult first = redeem(tokens[0], challenge);
  ASSERT_EQ(first.rc, 0) << first.err;
  EXPECT_NE(first.out.find("\"valid\":true"), std::string::npos);
  RunResult again = redeem(tokens[0], challenge);
  EXPECT_EQ(again.rc, 1);
  EXPECT_NE(again.err.find("double spend"), std::string::npos) << again.err;
  // Another challenge (another redemption context): refused; the token stays unspent.
  RunResult other_ch = RunCli({cli, "token", "challenge", "--issuer-name", IssuerName(),
                               "--context"},
                              d);
  RunResult wrong = redeem(tokens[1], Trim(other_ch.out));
  EXPECT_EQ(wrong.rc, 1);
  EXPECT_NE(wrong.err.find("does not verify"), std::string::npos) << wrong.err;
  EXPECT_EQ(redeem(tokens[1], challenge).rc, 0);
  // A tampered token is refused.
  Bytes t = pp::DecodeB64urlPadded(tokens[2]);
  t.back() ^= 1;
  EXPECT_EQ(redeem(pp::EncodeB64urlPadded(t), challenge).rc, 1);
  EXPECT_EQ(redeem(tokens[2], challenge).rc, 0);
  // Usage errors are exit 2.
  EXPECT_EQ(RunCli({cli, "token", "redeem", "--directory", dir_path}, d).rc, 2);
}

// @cloudflare/privacypass-ts 0.9.0 as the client against this authority, and the other direction
// (tests/interop/privacypass_interop.mjs). Skipped without node_modules, except under CI=true.
TEST_F(PrivacyPassE2eTest, PrivacyPassTsInterop) {
  const char* src = std::getenv("REALDID_SOURCE_DIR");
  const std::string runner = std::string(src != nullptr ? src : ".") + "/tests/interop/run_interop.sh";
  const std::string wallet_path = NewWallet().string();
  RunResult r = RunCli({"/usr/bin/env", "NODE_EXTRA_CA_CERTS=" + stack_->ca_file(), "/bin/sh",
                        runner, "privacypass_interop.mjs", stack_->authority_url(),
                        E2eStack::Binary("tools/realdid/realdid"), wallet_path, stack_->ca_file(),
                        stack_->dir().string()},
                       stack_->dir());
  if (r.rc == 77) GTEST_SKIP() << r.out;
  EXPECT_EQ(r.rc, 0) << r.out << r.err << "\n" << stack_->AuthorityLog();
  EXPECT_NE(r.out.find("privacypass_interop: ok"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace realdid::testing
