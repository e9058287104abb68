// End to end over HTTPS against the real stack (tests/e2e/stack.h): the `realdid` CLI's happy path
// and offline verifier, jose interop, wallet refusals, every cheat kind answered 422 and locking the
// person out, re-rolls made impossible, protocol misuse, CTID outage, concurrent reveals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>

#include "core/base64url.h"
#include "tests/authority/test_tls.h"
#include "core/json.h"
#include "tests/e2e/stack.h"
#include "wallet/client.h"
#include "wallet/issuance.h"
#include "wallet/wallet_file.h"

namespace realdid::testing {
namespace {

using wallet::AuthorityClient;
using wallet::CtidAppClient;
using wallet::HttpResponse;
using wallet::Resident;
using wallet::ServerRefusal;
using wallet::SessionOffer;
using wallet::TamperForTesting;

constexpr const char* kCheat = "urn:realdid:problem:cheat-detected";

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class IssuanceE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      stack_ = new E2eStack();
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
    authority_ = std::make_unique<AuthorityClient>(stack_->authority_url(), stack_->AuthorityTls());
    ctid_ = std::make_unique<CtidAppClient>(stack_->ctid_url(), stack_->CtidTls());
  }

  static Resident NextResident() { return ctid_->GetResident(next_resident_++); }

  // Key set, nonce, CTID token, session (no wallet checks: the caller decides).
  SessionOffer Open(const Resident& who) {
    std::string nonce = authority_->GetNonce();
    std::string token = ctid_->Authenticate(who.id_number, who.name, nonce);
    return authority_->OpenSession(who.name, who.id_number, nonce, token);
  }

  // A raw POST to a session step with the session's secret.
  HttpResponse Step(const SessionOffer& o, const std::string& step, const std::string& body,
                    const Secret* secret = nullptr) {
    return authority_->PostRaw("/v1/issuance/sessions/" + o.session_id + "/" + step, body,
                               secret != nullptr ? secret : &o.session_secret);
  }

  // Sends only the request head of a POST declaring `length` body bytes; returns the status line's
  // code (the server must answer a too-large declared length without reading the body).
  int DeclaredLengthStatus(const std::string& path, const Secret& secret, std::size_t length) {
    Poco::URI uri(stack_->authority_url());
    Poco::Net::SecureStreamSocket sock(
        Poco::Net::SocketAddress(uri.getHost(), uri.getPort()),
        realdid::testing::ClientContext(stack_->ca_file()));
    std::string head = "POST " + path + " HTTP/1.1\r\nHost: " + uri.getHost() +
                       "\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(length) + "\r\nAuthorization: Bearer " +
                       std::string(secret.reveal_string()) + "\r\n\r\n";
    sock.sendBytes(head.data(), static_cast<int>(head.size()));
    char buf[64] = {};
    int n = sock.receiveBytes(buf, sizeof buf - 1);
    std::string line(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (line.rfind("HTTP/1.1 ", 0) != 0) return -1;
    return std::stoi(line.substr(9, 3));
  }

  static std::string ProblemType(const HttpResponse& r) { return wallet::ParseProblem(r).type; }

  // Issue() with a tamper hook; returns the refusal (or fails the test if it was issued).
  std::optional<wallet::Problem> IssueExpectingRefusal(const Resident& who,
                                                       const TamperForTesting& tamper) {
    wallet::IssueOptions opts;
    opts.tamper = &tamper;
    try {
      (void)wallet::Issue(*authority_, *ctid_, who, opts);
    } catch (const ServerRefusal& e) {
      return e.problem();
    }
    return std::nullopt;
  }

  static E2eStack* stack_;
  static std::string* setup_error_;
  static inline std::uint64_t next_resident_ = 100;
  static inline std::unique_ptr<CtidAppClient> ctid_;  // reset per test in SetUp
  std::unique_ptr<AuthorityClient> authority_;
};

E2eStack* IssuanceE2eTest::stack_ = nullptr;
std::string* IssuanceE2eTest::setup_error_ = nullptr;

// --- Happy path through the real CLI, offline verifier, jose interop -----------------------------

TEST_F(IssuanceE2eTest, CliIssuePresentFetchVerify) {
  const auto& d = stack_->dir();
  const std::string cli = E2eStack::Binary("tools/realdid/realdid");
  const std::string wallet_path = (d / "wallet.json").string();
  const std::string jwks_path = (d / "jwks.json").string();
  const std::uint64_t index = next_resident_++;
  Resident who = ctid_->GetResident(index);

  RunResult issue = RunCli(stack_->WalletIssueArgv(index, wallet_path), d);
  ASSERT_EQ(issue.rc, 0) << issue.err << "\n" << stack_->AuthorityLog();
  for (const char* step : {"key set", "CTID nonce", "authenticating with CTID", "opening",
                           "checking the session", "building 32 candidates", "committing",
                           "revealing", "unblinding"}) {
    EXPECT_NE(issue.err.find(step), std::string::npos) << step << "\n" << issue.err;
  }
  // No identity data on the wallet's progress output; wallet file mode 0600, no name/number.
  EXPECT_EQ(issue.err.find(who.id_number), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(wallet_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string wallet_text = Slurp(wallet_path);
  EXPECT_EQ(wallet_text.find(who.id_number), std::string::npos);
  EXPECT_EQ(wallet_text.find(json::Serialize(json::Value(who.name))), std::string::npos);

  RunResult present = RunCli({cli, "wallet", "present", "--wallet", wallet_path, "--disclose",
                           "age_over_18,province", "--aud", "https://rp.example", "--nonce",
                           "n-0123456789"},
                          d);
  ASSERT_EQ(present.rc, 0) << present.err;
  std::string pres = present.out;
  while (!pres.empty() && pres.back() == '\n') pres.pop_back();
  std::ofstream(d / "pres.txt") << pres;

  RunResult fetch = RunCli({cli, "keys", "fetch", "--authority", stack_->authority_url(), "--ca",
                         stack_->ca_file(), "--out", jwks_path},
                        d);
  ASSERT_EQ(fetch.rc, 0) << fetch.err;

  RunResult verify = RunCli({cli, "verify", "--jwks", jwks_path, "--aud", "https://rp.example",
                          "--nonce", "n-0123456789", "--presentation", (d / "pres.txt").string()},
                         d);
  ASSERT_EQ(verify.rc, 0) << verify.err;
  json::Value v = json::Parse(verify.out.substr(0, verify.out.find('\n')));
  std::string province = who.id_number.substr(0, 2);
  json::Value want = json::Object{{"age_over_18", json::Value(v.at("disclosed").at("age_over_18"))},
                                  {"province", province}};
  EXPECT_EQ(json::Serialize(v.at("disclosed")), json::Serialize(want));
  EXPECT_EQ(v.at("disclosed").find("age_over_60"), nullptr);
  EXPECT_EQ(v.at("disclosed").find("nationality"), nullptr);
  EXPECT_EQ(v.at("disclosed").find("real_name_verified"), nullptr);
  EXPECT_EQ(v.at("iss").as_string(), stack_->authority_url());
  // stdin works too.
  RunResult verify_stdin = RunCli({cli, "verify", "--jwks", jwks_path, "--aud", "https://rp.example",
                                "--nonce", "n-0123456789"},
                               d, (d / "pres.txt").string());
  EXPECT_EQ(verify_stdin.rc, 0) << verify_stdin.err;

  // --- Verifier rejections -----------------------------------------------------------------------
  auto verify_file = [&](const std::string& text, const std::string& aud, const std::string& nonce,
                         const std::vector<std::string>& extra = {},
                         const std::string& jwks = {}) {
    std::ofstream(d / "pres2.txt", std::ios::trunc) << text;
    std::vector<std::string> args = {cli, "verify", "--jwks", jwks.empty() ? jwks_path : jwks,
                                     "--aud", aud, "--nonce", nonce, "--presentation",
                                     (d / "pres2.txt").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args, d);
  };
  // An altered disclosure (its digest no longer in _sd / the KB-JWT sd_hash breaks).
  {
    std::vector<std::string> parts;
    std::string cur;
    for (char c : pres) {
      if (c == '~') {
        parts.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    parts.push_back(cur);
    ASSERT_EQ(parts.size(), 4u);  // jwt, 2 disclosures, kb-jwt
    std::string disc = ToString(b64url::Decode(parts[2]));
    auto pos = disc.find(province);
    ASSERT_NE(pos, std::string::npos);
    disc.replace(pos, 2, province == "11" ? "12" : "11");
    std::string altered = parts[0] + "~" + parts[1] + "~" + b64url::Encode(disc) + "~" + parts[3];
    RunResult r = verify_file(altered, "https://rp.example", "n-0123456789");
    EXPECT_EQ(r.rc, 1) << r.out;
    EXPECT_NE(r.err.find("verification failed"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  {
    RunResult r = verify_file(pres, "https://other.example", "n-0123456789");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("aud"), std::string::npos) << r.err;
  }
  {
    RunResult r = verify_file(pres, "https://rp.example", "n-other");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("nonce"), std::string::npos) << r.err;
  }
  {
    credential::Parsed p = credential::ParseStrict(pres, credential::Form::kPresentation);
    RunResult r = verify_file(pres, "https://rp.example", "n-0123456789",
                              {"--now", std::to_string(p.exp + 1)});
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("verification failed"), std::string::npos) << r.err;
  }
  {
    // A cached key set that does not hold the credential's kid.
    json::Value ks = json::Parse(Slurp(jwks_path));
    ks.set("keys", json::Array{});
    std::ofstream(d / "jwks-empty.json") << json::Serialize(ks);
    RunResult r = verify_file(pres, "https://rp.example", "n-0123456789", {},
                              (d / "jwks-empty.json").string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("unknown issuer key id"), std::string::npos) << r.err;
  }

  // --- jose (PS384) verifies the finished credential ---------------------------------------------
  std::string runner =
      std::string(std::getenv("REALDID_SOURCE_DIR") ? std::getenv("REALDID_SOURCE_DIR") : "") +
      "/tests/interop/run_interop.sh";
  RunResult jose = RunCli({"/bin/sh", runner, "wallet_jose.mjs", wallet_path, jwks_path}, d);
  if (jose.rc == 77) {
    std::cout << "[ jose interop skipped: " << jose.out << " ]\n";
  } else {
    EXPECT_EQ(jose.rc, 0) << jose.out << jose.err;
    EXPECT_NE(jose.out.find("wallet_jose: ok"), std::string::npos) << jose.out << jose.err;
  }
}

// --- Wallet-side refusals of a tampered session ---------------------------------------------------

TEST_F(IssuanceE2eTest, WalletRefusesTamperedSessions) {
  struct Case {
    const char* name;
    std::function<void(SessionOffer&)> tamper;
  };
  std::vector<Case> cases = {
      {"kid", [](SessionOffer& o) { o.values.kid = o.values.escrow_kid; }},
      {"escrow kid", [](SessionOffer& o) { o.values.escrow_kid = o.values.kid; }},
      {"iat", [](SessionOffer& o) { o.values.iat -= 86400; }},
      {"exp", [](SessionOffer& o) { o.values.exp += 3600; }},
      {"age_over_18", [](SessionOffer& o) { o.values.attested.age_over_18 = !o.values.attested.age_over_18; }},
      {"province", [](SessionOffer& o) { o.values.attested.province = o.values.attested.province == "11" ? "12" : "11"; }},
      {"k", [](SessionOffer& o) { o.k = 3; }},
      {"issuance id", [](SessionOffer& o) { o.issuance_id.resize(8); }},
  };
  for (const auto& c : cases) {
    TamperForTesting t;
    t.session = c.tamper;
    Resident who = NextResident();
    wallet::IssueOptions opts;
    opts.tamper = &t;
    try {
      (void)wallet::Issue(*authority_, *ctid_, who, opts);
      ADD_FAILURE() << c.name << ": issued";
    } catch (const wallet::WalletRefusal& e) {
      EXPECT_NE(std::string(e.what()).find("wallet refused"), std::string::npos);
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.name << ": unexpected " << e.what();
    }
  }
}

// --- Every cheat kind: 422 cheat-detected, then the person is locked out -------------------------

TEST_F(IssuanceE2eTest, EveryCheatKindIsDetectedAndLocksThePerson) {
  // Each cheat is planted in at least two candidates, so at least one of them is always opened.
  struct Case {
    const char* name;
    std::function<void(TamperForTesting&)> plant;
  };
  std::vector<Case> cases = {
      {"escrow for another issuance id",
       [](TamperForTesting& t) {
         t.inputs = [](std::size_t i, wallet::CandidateInputs& in) {
           if (i < 2) in.issuance_id[0] ^= 0x01;
         };
       }},
      {"attested value changed in the credential",
       [](TamperForTesting& t) {
         t.inputs = [](std::size_t i, wallet::CandidateInputs& in) {
           if (i < 2) in.session.attested.age_over_60 = !in.session.attested.age_over_60;
         };
       }},
      {"longer lifetime (exp) in the credential",
       [](TamperForTesting& t) {
         t.inputs = [](std::size_t i, wallet::CandidateInputs& in) {
           if (i < 2) in.session.exp += 86400;
         };
       }},
      {"escrow sealed to another escrow key id (info)",
       [](TamperForTesting& t) {
         t.inputs = [](std::size_t i, wallet::CandidateInputs& in) {
           if (i < 2) in.session.escrow_kid = in.session.kid;
         };
       }},
      {"trace does not match its opening",
       [](TamperForTesting& t) {
         t.commitment = [](std::size_t i, wallet::CandidateCommitment& c) {
           if (i < 2) c.trace[120] ^= 0x01;
         };
       }},
      {"blinded message does not match its opening",
       [](TamperForTesting& t) {
         t.commitment = [](std::size_t i, wallet::CandidateCommitment& c) {
           if (i < 2) c.blinded_msg[c.blinded_msg.size() / 2] ^= 0x01;
         };
       }},
      {"opening with a different disclosure salt",
       [](TamperForTesting& t) {
         t.reveal = [](json::Value& doc) {
           json::Value ops = doc.at("openings");
           json::Value op = ops.as_array()[0];
           json::Value salts = op.at("salts");
           salts.as_array()[2] = b64url::Encode(RandomBytes(16));
           op.set("salts", salts);
           ops.as_array()[0] = op;
           doc.set("openings", ops);
         };
       }},
      {"opening with a different blinding factor r",
       [](TamperForTesting& t) {
         t.reveal = [](json::Value& doc) {
           json::Value ops = doc.at("openings");
           json::Value a = ops.as_array()[0];
           json::Value b = ops.as_array()[1];
           json::Value ra = a.at("r");
           a.set("r", b.at("r"));
           b.set("r", ra);
           ops.as_array()[0] = a;
           ops.as_array()[1] = b;
           doc.set("openings", ops);
         };
       }},
      {"a jti repeated across candidates",
       [](TamperForTesting& t) {
         auto first = std::make_shared<Bytes>();
         t.inputs = [first](std::size_t i, wallet::CandidateInputs& in) {
           if (i == 0) *first = in.jti;
           if (i > 0 && i < 3) in.jti = *first;
         };
       }},
  };
  for (const auto& c : cases) {
    TamperForTesting t;
    t.skip_checks = false;
    c.plant(t);
    Resident who = NextResident();
    auto problem = IssueExpectingRefusal(who, t);
    ASSERT_TRUE(problem.has_value()) << c.name << ": issued";
    EXPECT_EQ(problem->status, 422) << c.name << ": " << problem->Describe();
    EXPECT_EQ(problem->type, kCheat) << c.name;
    // The next session for this person is refused: locked out.
    try {
      (void)Open(who);
      ADD_FAILURE() << c.name << ": not locked";
    } catch (const ServerRefusal& e) {
      EXPECT_EQ(e.problem().status, 403) << c.name << ": " << e.problem().Describe();
      EXPECT_EQ(e.problem().type, "urn:realdid:problem:locked") << c.name;
    }
  }
}

// --- Re-rolling the challenge is impossible -------------------------------------------------------

TEST_F(IssuanceE2eTest, ReRollIsImpossible) {
  Resident who = NextResident();
  wallet::KeySet keys = authority_->FetchKeySet();
  SessionOffer offer = Open(who);
  // A second session while one is open.
  try {
    (void)Open(who);
    ADD_FAILURE() << "second session opened";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 409) << e.problem().Describe();
  }
  wallet::Issuance a(keys, offer);
  HttpResponse r1 = Step(offer, "commit", a.CommitBody());
  ASSERT_EQ(r1.status, 200) << r1.body;
  // The identical commit answers the same challenge.
  HttpResponse r2 = Step(offer, "commit", a.CommitBody());
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(r1.body, r2.body);
  // A different commit (a fresh set of candidates) is refused.
  wallet::Issuance b(keys, offer);
  HttpResponse r3 = Step(offer, "commit", b.CommitBody());
  EXPECT_EQ(r3.status, 409) << r3.body;
  // Still one open session for the person.
  try {
    (void)Open(who);
    ADD_FAILURE() << "second session opened after commit";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 409) << e.problem().Describe();
  }
  // A reveal that includes j is refused and signs nothing.
  a.AcceptChallenge(r1.body);
  std::size_t j = *a.challenge();
  json::Value reveal = json::Parse(a.RevealBody());
  // Build an opening for j from the commit of another candidate's shape is not possible without
  // j's values; opening index j with another candidate's values is the attempt.
  json::Value ops = reveal.at("openings");
  json::Value fake = ops.as_array()[0];
  fake.set("index", static_cast<std::int64_t>(j));
  json::Array with_j;
  bool inserted = false;
  for (const auto& op : ops.as_array()) {
    if (!inserted && op.at("index").as_int() > static_cast<std::int64_t>(j)) {
      with_j.push_back(fake);
      inserted = true;
    }
    with_j.push_back(op);
  }
  if (!inserted) with_j.push_back(fake);
  HttpResponse r4 = Step(offer, "reveal", json::Serialize(json::Object{{"openings", with_j}}));
  EXPECT_EQ(r4.status, 400) << r4.body;
  EXPECT_EQ(r4.body.find("blind_signature"), std::string::npos);
  // k - 1 openings of which one is j (in place of another index) is refused as well.
  json::Array swapped = ops.as_array();
  swapped.back().set("index", static_cast<std::int64_t>(j));
  std::sort(swapped.begin(), swapped.end(), [](const json::Value& x, const json::Value& y) {
    return x.at("index").as_int() < y.at("index").as_int();
  });
  HttpResponse r5 = Step(offer, "reveal", json::Serialize(json::Object{{"openings", swapped}}));
  EXPECT_EQ(r5.status, 400) << r5.body;
  EXPECT_EQ(r5.body.find("blind_signature"), std::string::npos);
  // The honest reveal still gets its signature: refused malformed reveals did not fail the session.
  HttpResponse r6 = Step(offer, "reveal", a.RevealBody());
  ASSERT_EQ(r6.status, 200) << r6.body;
  EXPECT_FALSE(a.Finish(r6.body, wallet::SystemNow()).issued.empty());
}

// --- Protocol misuse ------------------------------------------------------------------------------

TEST_F(IssuanceE2eTest, ProtocolMisuseIsRefused) {
  Resident who = NextResident();
  wallet::KeySet keys = authority_->FetchKeySet();
  SessionOffer offer = Open(who);
  wallet::Issuance iss(keys, offer);

  // Wrong session secret: 401, and it does not count against the person.
  Secret wrong = Secret::FromString(b64url::Encode(RandomBytes(16)));
  HttpResponse r = Step(offer, "commit", iss.CommitBody(), &wrong);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(ProblemType(r), "urn:realdid:problem:unauthorized");
  r = authority_->PostRaw("/v1/issuance/sessions/" + offer.session_id + "/commit", iss.CommitBody());
  EXPECT_EQ(r.status, 401) << r.body;

  // Out of order: reveal before commit.
  r = Step(offer, "reveal", R"({"openings":[]})");
  EXPECT_EQ(r.status, 409) << r.body;

  // Wrong K: one candidate short.
  json::Value commit = json::Parse(iss.CommitBody());
  json::Value short_list = commit.at("candidates");
  short_list.as_array().pop_back();
  r = Step(offer, "commit", json::Serialize(json::Object{{"candidates", short_list}}));
  EXPECT_EQ(r.status, 400) << r.body;

  // Malformed bodies.
  for (const std::string& bad :
       {std::string("{"), std::string(R"({"candidates":[],"candidates":[]})"),
        std::string(R"({"candidates":1})"), std::string(R"({"candidates":[],"extra":1})"),
        std::string("[]")}) {
    r = Step(offer, "commit", bad);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
  }
  // Non-canonical base64url in a candidate.
  json::Value padded = commit;
  {
    json::Value cands = padded.at("candidates");
    json::Value c0 = cands.as_array()[0];
    c0.set("trace", c0.at("trace").as_string() + "=");
    cands.as_array()[0] = c0;
    padded.set("candidates", cands);
  }
  r = Step(offer, "commit", json::Serialize(padded));
  EXPECT_EQ(r.status, 400) << r.body;
  // Oversized body: the declared length alone is refused, before the body is read.
  EXPECT_EQ(DeclaredLengthStatus("/v1/issuance/sessions/" + offer.session_id + "/commit",
                                 offer.session_secret, 2 << 20),
            413);

  // The session still works after all that misuse: the real commit gets its challenge.
  r = Step(offer, "commit", iss.CommitBody());
  EXPECT_EQ(r.status, 200) << r.body;

  // Unknown session: 404 (or 401: the secret cannot match).
  r = authority_->PostRaw("/v1/issuance/sessions/" + b64url::Encode(RandomBytes(16)) + "/commit",
                          iss.CommitBody(), &offer.session_secret);
  EXPECT_TRUE(r.status == 404 || r.status == 401) << r.status;

  // A reused CTID token: 401 ctid-failed.
  Resident other = NextResident();
  std::string nonce = authority_->GetNonce();
  std::string token = ctid_->Authenticate(other.id_number, other.name, nonce);
  SessionOffer first = authority_->OpenSession(other.name, other.id_number, nonce, token);
  (void)first;
  std::string nonce2 = authority_->GetNonce();
  try {
    (void)authority_->OpenSession(other.name, other.id_number, nonce2, token);
    ADD_FAILURE() << "reused token accepted";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 401) << e.problem().Describe();
    EXPECT_EQ(e.problem().type, "urn:realdid:problem:ctid-failed");
  }
  // A reused nonce: 401 as well.
  Resident third = NextResident();
  std::string token3 = ctid_->Authenticate(third.id_number, third.name, nonce);
  try {
    (void)authority_->OpenSession(third.name, third.id_number, nonce, token3);
    ADD_FAILURE() << "reused nonce accepted";
  } catch (const ServerRefusal& e) {
    EXPECT_EQ(e.problem().status, 401) << e.problem().Describe();
  }
}

TEST_F(IssuanceE2eTest, CtidDownAnswers503WithRetryAfter) {
  Resident who = NextResident();
  stack_->SetCtidFailurePercent(100);
  std::string nonce = authority_->GetNonce();
  std::string token = ctid_->Authenticate(who.id_number, who.name, nonce);
  HttpResponse r = authority_->PostRaw(
      "/v1/issuance/sessions",
      json::Serialize(json::Object{{"name", who.name}, {"id_number", who.id_number},
                                   {"nonce", nonce}, {"ctid_token", token}}));
  stack_->SetCtidFailurePercent(0);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(ProblemType(r), "urn:realdid:problem:unavailable");
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_GT(*r.retry_after, 0);
  // Afterwards the person can still be issued a credential (a 503 never counts against them).
  wallet::IssuedCredential cred = wallet::Issue(*authority_, *ctid_, who);
  EXPECT_FALSE(cred.issued.empty());
}

// --- Two concurrent reveals of one session: one signature ---------------------------------------

TEST_F(IssuanceE2eTest, ConcurrentRevealsGetIdenticalSignatures) {
  Resident who = NextResident();
  wallet::KeySet keys = authority_->FetchKeySet();
  SessionOffer offer = Open(who);
  wallet::CheckSession(offer, keys, {stack_->authority_url(), who.id_number, wallet::SystemNow()});
  wallet::Issuance iss(keys, offer);
  iss.AcceptChallenge(authority_->Commit(offer, iss.CommitBody()));
  const std::string body = iss.RevealBody();
  std::vector<HttpResponse> answers(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] {
      AuthorityClient c(stack_->authority_url(), stack_->AuthorityTls());
      answers[i] = c.PostRaw("/v1/issuance/sessions/" + offer.session_id + "/reveal", body,
                             &offer.session_secret);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& a : answers) {
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.body, answers[0].body);
  }
  // And a later retry too; the wallet finishes with it.
  HttpResponse again = Step(offer, "reveal", body);
  EXPECT_EQ(again.body, answers[0].body);
  wallet::IssuedCredential cred = iss.Finish(answers[0].body, wallet::SystemNow());
  EXPECT_FALSE(cred.issued.empty());
}

}  // namespace
}  // namespace realdid::testing

namespace realdid::testing {
namespace {

// Not a test: runs bench/issuance_bench against this stack (K=32, concurrency 1 and 4) and prints
// its figures. Run with --gtest_also_run_disabled_tests --gtest_filter=*Benchmark*.
TEST(IssuanceBenchmark, DISABLED_RunAgainstTheStack) {
  E2eStack stack;
  const std::string bench = E2eStack::Binary("bench/issuance_bench");
  std::uint64_t base = 5000;
  for (int c : {1, 4}) {
    std::string out;
    int rc = RunCommand({bench, "--authority", stack.authority_url(), "--ca", stack.ca_file(),
                         "--ctid", stack.ctid_url(), "--ctid-ca", stack.ca_file(), "--concurrency",
                         std::to_string(c), "--count", std::getenv("BENCH_COUNT") ? std::getenv("BENCH_COUNT") : "40",
                         "--k", "32", "--resident-base", std::to_string(base), "--authority-pid",
                         std::to_string(stack.authority_pid()), "--hsm-module",
                         SoftHsmHarness::ModulePath(), "--hsm-token", "realdid-issuance",
                         "--hsm-pin-file", (stack.dir() / "hsm-pin").string(), "--keys-manifest",
                         stack.keys_manifest(), "--hsm-signs", "300"},
                        &out);
    base += 1000;
    std::cout << out;
    EXPECT_EQ(rc, 0);
  }
}

}  // namespace
}  // namespace realdid::testing
