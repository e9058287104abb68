// The wallet's pure protocol steps against an in-process software "authority" (core only, no I/O):
// every wallet-side session check refuses its own kind of tampering; a reveal is rebuilt byte for
// byte from the opened values exactly as the authority does (docs/protocol.md 5.4); candidate j never
// appears in the reveal; the finished credential verifies; a wrong blind signature or a changed
// challenge aborts and wipes; presentation and offline verification accept and reject as specified.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <set>

#include "core/base64url.h"
#include "core/blind_rsa.h"
#include "core/candidate.h"
#include "core/hpke.h"
#include "core/idnumber.h"
#include "core/jwk.h"
#include "core/json.h"
#include "wallet/issuance.h"
#include "wallet/key_set.h"
#include "wallet/wallet_file.h"

namespace realdid::wallet {
namespace {

constexpr std::int64_t kNow = 1767268800;  // 2026-01-01T12:00:00Z
constexpr std::int64_t kMidnight = 1767225600;
constexpr std::int64_t kLifetime = 30 * 86400;
const char* kIss = "https://127.0.0.1:8443";

struct SoftAuthority {
  blind_rsa::PrivateKeyForTesting sk = blind_rsa::PrivateKeyForTesting::Generate(2048);
  hpke::KeyPair escrow = hpke::GenerateKeyPair();
  std::string kid = jwk::Kid(jwk::RsaPublic(sk.public_key().n(), sk.public_key().e()));
  json::Value escrow_jwk = jwk::EcP256FromPoint(escrow.public_key.bytes());
  std::string escrow_kid = jwk::Kid(escrow_jwk);

  std::string Jwks(std::int64_t min_k = 4) const {
    json::Value key = jwk::RsaPublic(sk.public_key().n(), sk.public_key().e());
    key.set("kid", kid);
    key.set("alg", "PS384");
    key.set("use", "sig");
    key.set("nbf", kNow - 86400);
    key.set("exp", kNow + 365 * 86400);
    json::Value esc = escrow_jwk;
    esc.set("kid", escrow_kid);
    esc.set("alg", "HPKE-Base-P256-SHA256-AES128GCM");
    json::Value doc = json::Object{
        {"keys", json::Array{key}},
        {"escrow", esc},
        {"policy", json::Object{{"vct", "urn:realdid:resident:1"}, {"modulus_bits", 2048},
                                {"e", 65537}, {"credential_lifetime", kLifetime},
                                {"k", 8}, {"min_k", min_k}}}};
    return json::Serialize(doc);
  }

  std::string SessionJson(const std::string& id_number, std::int64_t k = 8) const {
    auto a = idnumber::DeriveFromId(id_number, idnumber::CivilFromUnixSeconds(kNow));
    json::Value v = json::Object{
        {"session_id", b64url::Encode(RandomBytes(16))},
        {"session_secret", b64url::Encode(RandomBytes(16))},
        {"issuance_id", b64url::Encode(RandomBytes(16))},
        {"iss", kIss}, {"vct", "urn:realdid:resident:1"}, {"kid", kid},
        {"iat", kMidnight}, {"exp", kMidnight + kLifetime},
        {"attested", json::Object{{"age_over_18", a.age_over_18}, {"age_over_60", a.age_over_60},
                                  {"province", a.province}, {"nationality", "CN"},
                                  {"real_name_verified", true}}},
        {"escrow_kid", escrow_kid}, {"k", k}, {"expires_at", kNow + 600}};
    return json::Serialize(v);
  }

  // The authority's rebuild of one opening (docs/protocol.md 5.4); true when it matches the commit.
  bool OpeningMatches(const SessionOffer& offer, const json::Value& op,
                      const json::Value& committed) const {
    const auto& hj = op.at("holder_jwk");
    auto field = [&op](const char* name) { return b64url::Decode(op.at(name).as_string()); };
    const Bytes x = b64url::Decode(hj.at("x").as_string());
    const Bytes y = b64url::Decode(hj.at("y").as_string());
    const Bytes jti = field("jti"), pss_salt = field("pss_salt"), r = field("r");
    const Bytes escrow_ikm = field("escrow_ikm"), trace_ikm = field("trace_ikm");
    std::array<Bytes, credential::kNumDisclosed> salts;
    for (std::size_t i = 0; i < salts.size(); ++i) {
      salts[i] = b64url::Decode(op.at("salts").as_array()[i].as_string());
    }
    candidate::Opening o{.holder_x = x, .holder_y = y, .jti = jti, .salts = {},
                         .pss_salt = pss_salt, .r = r, .escrow_ikm = escrow_ikm,
                         .trace_ikm = trace_ikm};
    for (std::size_t i = 0; i < salts.size(); ++i) o.salts[i] = salts[i];
    credential::SessionValues values = offer.values;
    values.escrow_kid = escrow_kid;  // the authority's own escrow key id
    const candidate::Candidate c = candidate::Derive(
        candidate::Context{values, offer.issuance_id, escrow.public_key, sk.public_key()}, o);
    return b64url::Encode(c.blinding.blinded_msg) == committed.at("blinded_msg").as_string() &&
           b64url::Encode(c.TraceBytes()) == committed.at("trace").as_string();
  }
};

const SoftAuthority& Auth() {
  static const SoftAuthority a;
  return a;
}

std::string IdNumber(int year = 1990) {
  return idnumber::Make("44", 305, idnumber::CivilDate{year, 5, 17}, 123);
}

SessionExpectations Expect(const std::string& id) { return {kIss, id, kNow}; }

TEST(WalletKeySet, ParsesAndFindsTheActiveKey) {
  KeySet ks = ParseKeySet(Auth().Jwks());
  ASSERT_EQ(ks.keys.size(), 1u);
  EXPECT_EQ(ks.keys[0].kid, Auth().kid);
  EXPECT_EQ(ks.escrow_kid, Auth().escrow_kid);
  EXPECT_EQ(ks.Active(kNow), &ks.keys[0]);
  EXPECT_EQ(ks.Active(kNow + 400 * 86400), nullptr);
  EXPECT_TRUE(ks.Lookup(kNow)(Auth().kid).has_value());
  EXPECT_FALSE(ks.Lookup(kNow)("unknown").has_value());
  EXPECT_FALSE(ks.Lookup(kNow + 400 * 86400)(Auth().kid).has_value());
}

TEST(WalletKeySet, RefusesAChosenKid) {
  json::Value doc = json::Parse(Auth().Jwks());
  json::Value keys = doc.at("keys");
  keys.as_array()[0].set("kid", Auth().escrow_kid);
  doc.set("keys", keys);
  EXPECT_THROW(ParseKeySet(json::Serialize(doc)), Error);
  json::Value pol = doc.at("policy");
  EXPECT_THROW(ParseKeySet(R"({"keys":[]})"), Error);
}

TEST(WalletSession, AnUntamperedSessionPasses) {
  std::string id = IdNumber();
  KeySet ks = ParseKeySet(Auth().Jwks());
  SessionOffer o = ParseSessionOffer(Auth().SessionJson(id));
  EXPECT_NO_THROW(CheckSession(o, ks, Expect(id)));
}

// Each tampering of the session is refused with its own reason.
TEST(WalletSession, EveryCheckRefusesItsTampering) {
  std::string id = IdNumber();
  KeySet ks = ParseKeySet(Auth().Jwks());
  struct Case {
    const char* name;
    std::function<void(SessionOffer&)> tamper;
    const char* reason;
  };
  std::vector<Case> cases = {
      {"kid", [](SessionOffer& o) { o.values.kid = Auth().escrow_kid; }, "single active"},
      {"escrow kid", [](SessionOffer& o) { o.values.escrow_kid = Auth().kid; }, "escrow key id"},
      {"iat yesterday", [](SessionOffer& o) { o.values.iat -= 86400; o.values.exp -= 86400; },
       "midnight"},
      {"iat not midnight", [](SessionOffer& o) { o.values.iat += 1; o.values.exp += 1; }, "midnight"},
      {"exp", [](SessionOffer& o) { o.values.exp += 1; }, "lifetime"},
      {"age_over_18", [](SessionOffer& o) { o.values.attested.age_over_18 = false; }, "age_over_18"},
      {"age_over_60", [](SessionOffer& o) { o.values.attested.age_over_60 = true; }, "age_over_60"},
      {"province", [](SessionOffer& o) { o.values.attested.province = "11"; }, "province"},
      {"nationality", [](SessionOffer& o) { o.values.attested.nationality = "HK"; }, "nationality"},
      {"real_name", [](SessionOffer& o) { o.values.attested.real_name_verified = false; },
       "real_name_verified"},
      {"issuance id", [](SessionOffer& o) { o.issuance_id.pop_back(); }, "16 bytes"},
      {"k", [](SessionOffer& o) { o.k = 3; }, "minimum"},
      {"k huge", [](SessionOffer& o) { o.k = 5000; }, "above"},
      {"iss", [](SessionOffer& o) { o.values.iss = "https://tracker.example"; }, "iss"},
      {"vct", [](SessionOffer& o) { o.values.vct = "urn:other"; }, "vct"},
  };
  for (const auto& c : cases) {
    SessionOffer o = ParseSessionOffer(Auth().SessionJson(id));
    c.tamper(o);
    try {
      CheckSession(o, ks, Expect(id));
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const WalletRefusal& e) {
      EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << c.name << ": " << e.what();
    }
  }
  // The published modulus size and the ID number typed are facts of their own.
  json::Value doc = json::Parse(Auth().Jwks());
  json::Value pol = doc.at("policy");
  pol.set("modulus_bits", 3072);
  doc.set("policy", pol);
  KeySet other = ParseKeySet(json::Serialize(doc));
  SessionOffer o = ParseSessionOffer(Auth().SessionJson(id));
  EXPECT_THROW(CheckSession(o, other, Expect(id)), WalletRefusal);
  EXPECT_THROW(CheckSession(o, ks, Expect(IdNumber(2015))), WalletRefusal);
}

TEST(WalletSession, MalformedOffersAreRefused) {
  std::string id = IdNumber();
  EXPECT_THROW(ParseSessionOffer("{"), WalletRefusal);
  json::Value v = json::Parse(Auth().SessionJson(id));
  v.set("issuance_id", "AAAA=");
  EXPECT_THROW(ParseSessionOffer(json::Serialize(v)), WalletRefusal);
  v = json::Parse(Auth().SessionJson(id));
  v.set("k", "8");
  EXPECT_THROW(ParseSessionOffer(json::Serialize(v)), WalletRefusal);
}

// Full round trip against the software authority.
struct RoundTrip {
  KeySet ks = ParseKeySet(Auth().Jwks());
  std::string id = IdNumber();
  SessionOffer offer = ParseSessionOffer(Auth().SessionJson(id));
};

TEST(WalletIssuance, RevealRebuildsByteForByteAndFinishes) {
  RoundTrip t;
  Issuance iss(t.ks, t.offer);
  EXPECT_EQ(iss.k(), 8u);
  std::string commit = iss.CommitBody();
  EXPECT_EQ(commit, json::Serialize(json::Parse(commit)));  // canonical
  json::Value c = json::Parse(commit);
  ASSERT_EQ(c.at("candidates").as_array().size(), 8u);
  std::set<std::string> distinct;
  for (const auto& cand : c.at("candidates").as_array()) {
    EXPECT_EQ(b64url::Decode(cand.at("blinded_msg").as_string()).size(), 256u);
    EXPECT_EQ(b64url::Decode(cand.at("trace").as_string()).size(), 161u);
    distinct.insert(cand.at("blinded_msg").as_string());
  }
  EXPECT_EQ(distinct.size(), 8u);
  iss.AcceptChallenge(R"({"challenge":5})");
  iss.AcceptChallenge(R"({"challenge":5})");  // the same answer to a re-sent commit
  std::string reveal = iss.RevealBody();
  EXPECT_EQ(&iss.RevealBody(), &iss.RevealBody());
  json::Value r = json::Parse(reveal);
  const auto& ops = r.at("openings").as_array();
  ASSERT_EQ(ops.size(), 7u);
  std::int64_t prev = -1;
  std::set<std::string> seen;
  for (const auto& op : ops) {
    std::int64_t i = op.at("index").as_int();
    EXPECT_NE(i, 5);
    EXPECT_GT(i, prev);
    prev = i;
    EXPECT_TRUE(Auth().OpeningMatches(t.offer, op, c.at("candidates").as_array()[static_cast<std::size_t>(i)]));
    for (const char* f : {"jti", "pss_salt", "r", "escrow_ikm", "trace_ikm"}) {
      EXPECT_TRUE(seen.insert(op.at(f).as_string()).second) << "repeated " << f;
    }
    EXPECT_TRUE(seen.insert(op.at("holder_jwk").at("x").as_string()).second);
  }
  // The authority signs candidate 5's blinded message.
  Bytes b5 = b64url::Decode(c.at("candidates").as_array()[5].at("blinded_msg").as_string());
  Bytes s = blind_rsa::BlindSignSoftwareForTesting(Auth().sk, b5);
  json::Value ans = json::Object{{"blind_signature", b64url::Encode(s)}};
  IssuedCredential cred = iss.Finish(json::Serialize(ans), kNow);
  EXPECT_TRUE(iss.aborted());  // everything wiped after finishing
  credential::Parsed p = credential::ParseStrict(cred.issued, credential::Form::kIssued);
  EXPECT_EQ(p.kid, Auth().kid);
  EXPECT_EQ(p.iat, kMidnight);
  EXPECT_EQ(p.cnf_jwk, cred.holder_jwk);
  EXPECT_EQ(*p.StringClaim("province"), "44");
  // Candidate j's jti was never in the reveal.
  EXPECT_EQ(reveal.find(b64url::Encode(p.jti)), std::string::npos);
  EXPECT_EQ(reveal.find(cred.holder_jwk.at("x").as_string()), std::string::npos);
  // The escrow in the finished credential opens to the session's issuance id.
  escrow::CredentialFields f{p.kid, static_cast<std::uint64_t>(p.iat),
                             static_cast<std::uint64_t>(p.exp), p.jti,
                             jwk::ThumbprintSha256(p.cnf_jwk)};
  hpke::Sealed sealed{Bytes(p.escrow.begin(), p.escrow.begin() + 65),
                      Bytes(p.escrow.begin() + 65, p.escrow.end())};
  Secret issuance_id = escrow::OpenEscrow(
      sealed, Auth().escrow.public_key, Auth().escrow_kid, f,
      [&](const hpke::PublicKey& pk_e) { return hpke::Dh(Auth().escrow.private_key, pk_e); });
  EXPECT_EQ(ToHex(issuance_id.reveal()), ToHex(t.offer.issuance_id));

  // Wallet file, presentation, offline verification.
  char tmpl[] = "/tmp/realdid-wallet-XXXXXX";
  std::filesystem::path dir = ::mkdtemp(tmpl);
  auto path = dir / "wallet.json";
  SaveWallet(path, kIss, cred);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  WalletFile w = LoadWallet(path);
  std::string pres = Present(w, {"age_over_18", "province"}, "https://rp.example", "n-1", kNow);
  VerifyResult vr = VerifyOffline(t.ks, pres, "https://rp.example", "n-1", kNow);
  EXPECT_EQ(json::Serialize(vr.disclosed), R"({"age_over_18":true,"province":"44"})");
  EXPECT_THROW(VerifyOffline(t.ks, pres, "https://other.example", "n-1", kNow), Error);
  EXPECT_THROW(VerifyOffline(t.ks, pres, "https://rp.example", "n-2", kNow), Error);
  EXPECT_THROW(VerifyOffline(t.ks, pres, "https://rp.example", "n-1", kMidnight + kLifetime + 10),
               Error);
  EXPECT_THROW(Present(w, {"name"}, "a", "n", kNow), Error);
  EXPECT_THROW(Present(w, {"province", "province"}, "a", "n", kNow), Error);
  ::chmod(path.c_str(), 0644);
  EXPECT_THROW(LoadWallet(path), Error);
  std::filesystem::remove_all(dir);
}

TEST(WalletIssuance, ADifferentSecondChallengeAborts) {
  RoundTrip t;
  Issuance iss(t.ks, t.offer);
  iss.AcceptChallenge(R"({"challenge":1})");
  EXPECT_THROW(iss.AcceptChallenge(R"({"challenge":2})"), WalletRefusal);
  EXPECT_TRUE(iss.aborted());
  EXPECT_THROW(iss.RevealBody(), WalletRefusal);
}

TEST(WalletIssuance, ChallengeOutOfRangeAborts) {
  RoundTrip t;
  Issuance iss(t.ks, t.offer);
  EXPECT_THROW(iss.AcceptChallenge(R"({"challenge":8})"), WalletRefusal);
  EXPECT_TRUE(iss.aborted());
  Issuance iss2(t.ks, t.offer);
  EXPECT_THROW(iss2.AcceptChallenge(R"({"challenge":"1"})"), WalletRefusal);
  EXPECT_TRUE(iss2.aborted());
}

TEST(WalletIssuance, AWrongBlindSignatureIsRefusedAndWipes) {
  RoundTrip t;
  Issuance iss(t.ks, t.offer);
  iss.AcceptChallenge(R"({"challenge":0})");
  (void)iss.RevealBody();
  json::Value c = json::Parse(iss.CommitBody());
  // A signature over another candidate's message.
  Bytes b1 = b64url::Decode(c.at("candidates").as_array()[1].at("blinded_msg").as_string());
  Bytes s = blind_rsa::BlindSignSoftwareForTesting(Auth().sk, b1);
  EXPECT_THROW(iss.Finish(json::Serialize(json::Object{{"blind_signature", b64url::Encode(s)}}), kNow),
               WalletRefusal);
  EXPECT_TRUE(iss.aborted());
}

TEST(WalletIssuance, TamperHookProducesDetectableCheats) {
  RoundTrip t;
  TamperForTesting tamper;
  // Candidate 2 plants an escrow for another issuance id: the authority's rebuild differs.
  tamper.inputs = [](std::size_t i, CandidateInputs& in) {
    if (i == 2) in.issuance_id[0] ^= 1;
    if (i == 3) in.session.attested.age_over_60 = true;
  };
  tamper.commitment = [](std::size_t i, CandidateCommitment& c) {
    if (i == 4) c.trace[100] ^= 1;
  };
  Issuance iss(t.ks, t.offer, &tamper);
  iss.AcceptChallenge(R"({"challenge":0})");
  json::Value c = json::Parse(iss.CommitBody());
  json::Value r = json::Parse(iss.RevealBody());
  for (const auto& op : r.at("openings").as_array()) {
    auto i = static_cast<std::size_t>(op.at("index").as_int());
    EXPECT_EQ(Auth().OpeningMatches(t.offer, op, c.at("candidates").as_array()[i]),
              i != 2 && i != 3 && i != 4)
        << i;
  }
}

}  // namespace
}  // namespace realdid::wallet
