// The key ceremony executable against a real SoftHSM2 token pair: attributes, refusal to overwrite,
// --force, a manifest with public data only whose kids are the thumbprints of the token's keys.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "core/base64url.h"
#include "core/json.h"
#include "core/jwk.h"
#include "tests/hsm/hsm_fixture.h"
#include "tests/support/vectors.h"

namespace realdid::hsm::testing {
namespace {

using realdid::testing::RunCommand;

class CeremonyTest : public HsmTest {
 protected:
  void SetUp() override {
    HsmTest::SetUp();
    ipin_ = harness_->WriteFile("issuance.pin", std::string(SoftHsmHarness::kUserPin) + "\n");
    epin_ = harness_->WriteFile("escrow.pin", std::string(kEscrowPin) + "\n");
    out_ = harness_->dir() / "out";
  }
  int Ceremony(std::vector<std::string> extra, std::string* output) {
    std::vector<std::string> argv = {REALDID_CEREMONY_BIN,  "--module",          SoftHsmHarness::ModulePath(),
                                     "--issuance-token",    kIssuance,           "--issuance-pin-file",
                                     ipin_.string(),        "--escrow-token",    kEscrow,
                                     "--escrow-pin-file",   epin_.string(),      "--out",
                                     out_.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, output);
  }
  json::Value Manifest() { return json::Parse(realdid::testing::ReadFile(out_ / "keys.json")); }

  std::filesystem::path ipin_, epin_, out_;
};

const json::Value* FindRole(const json::Value& manifest, const std::string& role) {
  for (const json::Value& k : manifest.at("keys").as_array()) {
    if (k.at("role").as_string() == role) return &k;
  }
  return nullptr;
}

TEST_F(CeremonyTest, CreatesProtectedKeysAndAPublicManifest) {
  std::string out;
  ASSERT_EQ(Ceremony({"--rsa-bits", "2048"}, &out), 0) << out;
  EXPECT_EQ(out.find(SoftHsmHarness::kUserPin), std::string::npos);
  std::string text = realdid::testing::ReadFile(out_ / "keys.json");
  json::Value m = json::Parse(text);
  ASSERT_EQ(m.at("keys").as_array().size(), 7u);

  // No private JWK members anywhere.
  for (const char* priv : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\""}) {
    EXPECT_EQ(text.find(priv), std::string::npos) << priv;
  }

  auto iss = Token::Open(module(), Config(kIssuance));
  auto esc = Token::Open(module(), Config(kEscrow));
  struct Expect {
    const char* role;
    const char* label;
    const char* alg;
    CK_OBJECT_CLASS cls;
    CK_MECHANISM_TYPE mech;
    bool escrow;
  };
  const Expect expects[] = {
      {"blind-signing", "realdid-blind-rsa2048", "PS384", CKO_PRIVATE_KEY, CKM_RSA_X_509, false},
      {"id-lookup-hmac", "realdid-hmac", "HS256", CKO_SECRET_KEY, CKM_SHA256_HMAC, false},
      {"audit-signing", "realdid-audit-p256", "ES256", CKO_PRIVATE_KEY, CKM_ECDSA, false},
      {"data-wrapping", "realdid-data-aes256", "A256GCM", CKO_SECRET_KEY, CKM_AES_GCM, false},
      {"revocation-list", "realdid-revocation-p256", "ES256", CKO_PRIVATE_KEY, CKM_ECDSA, false},
      {"privacypass", "realdid-pp-rsa2048", "PS384", CKO_PRIVATE_KEY, CKM_RSA_X_509, false},
      {"escrow", "realdid-escrow-p256", "HPKE-P256-SHA256-A128GCM", CKO_PRIVATE_KEY, CKM_ECDH1_DERIVE, true},
  };
  for (const Expect& x : expects) {
    SCOPED_TRACE(x.role);
    const json::Value* k = FindRole(m, x.role);
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->at("label").as_string(), x.label);
    EXPECT_EQ(k->at("alg").as_string(), x.alg);
    EXPECT_EQ(k->at("token").as_string(), x.escrow ? kEscrow : kIssuance);
    std::string kid = k->at("kid").as_string();
    Bytes id = FromHex(k->at("cka_id").as_string());
    KeyRef ref{x.label, id};

    // The kid is the thumbprint of the public key as read back from the token.
    if (x.cls == CKO_PRIVATE_KEY) {
      json::Value jwk_from_token;
      if (x.mech == CKM_RSA_X_509) {
        RsaPublicKey pub = iss->RsaPublic(ref);
        jwk_from_token = jwk::RsaPublic(pub.n, pub.e);
      } else {
        jwk_from_token = jwk::EcP256FromPoint((x.escrow ? esc : iss)->EcP256Public(ref));
      }
      EXPECT_EQ(kid, jwk::Kid(jwk_from_token));
      EXPECT_EQ(kid, jwk::Kid(k->at("jwk")));
      EXPECT_EQ(b64url::Decode(kid), id);
      EXPECT_EQ(id.size(), 32u);
    } else {
      EXPECT_EQ(k->find("jwk"), nullptr);
      EXPECT_EQ(kid, ToHex(id));
      EXPECT_EQ(id.size(), 16u);
    }

    // Attributes of the private/secret object.
    Session& s = Admin(x.escrow ? kEscrow : kIssuance);
    std::vector<CK_OBJECT_HANDLE> found =
        s.Find({AttrOf(CKA_CLASS, x.cls), AttrString(CKA_LABEL, x.label), AttrBytes(CKA_ID, id)});
    ASSERT_EQ(found.size(), 1u);
    CK_OBJECT_HANDLE h = found.front();
    EXPECT_TRUE(s.GetBool(h, CKA_TOKEN));
    EXPECT_TRUE(s.GetBool(h, CKA_PRIVATE));
    EXPECT_TRUE(s.GetBool(h, CKA_SENSITIVE));
    EXPECT_FALSE(s.GetBool(h, CKA_EXTRACTABLE));
    EXPECT_TRUE(s.GetBool(h, CKA_NEVER_EXTRACTABLE));
    EXPECT_EQ(s.GetMechanisms(h), std::vector<CK_MECHANISM_TYPE>{x.mech});
    CK_ATTRIBUTE a{CKA_VALUE, nullptr, 0};
    EXPECT_NE(s.fn().C_GetAttributeValue(s.handle(), h, &a, 1), CKR_OK);
    // The other token does not hold this key.
    Session& other = Admin(x.escrow ? kIssuance : kEscrow);
    EXPECT_TRUE(other.Find({AttrString(CKA_LABEL, x.label)}).empty());
  }

  // The mechanism restriction holds: the blind key refuses a PKCS#1 v1.5 signature.
  Session& s = Admin(kIssuance);
  const json::Value* blind = FindRole(m, "blind-signing");
  Bytes blind_id = FromHex(blind->at("cka_id").as_string());
  CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
  auto h = s.Find({AttrOf(CKA_CLASS, priv), AttrBytes(CKA_ID, blind_id)});
  ASSERT_EQ(h.size(), 1u);
  CK_MECHANISM pkcs1{CKM_SHA256_RSA_PKCS, nullptr, 0};
  EXPECT_NE(s.fn().C_SignInit(s.handle(), &pkcs1, h.front()), CKR_OK);
  CK_MECHANISM x509{CKM_RSA_X_509, nullptr, 0};
  EXPECT_NE(s.fn().C_DecryptInit(s.handle(), &x509, h.front()), CKR_OK);  // CKA_DECRYPT false
}

TEST_F(CeremonyTest, RefusesToOverwriteWithoutForce) {
  std::string out;
  ASSERT_EQ(Ceremony({"--rsa-bits", "2048"}, &out), 0) << out;
  std::string before = realdid::testing::ReadFile(out_ / "keys.json");
  EXPECT_EQ(Ceremony({"--rsa-bits", "2048"}, &out), 3);
  EXPECT_NE(out.find("refusing to overwrite"), std::string::npos) << out;
  EXPECT_EQ(realdid::testing::ReadFile(out_ / "keys.json"), before);

  ASSERT_EQ(Ceremony({"--rsa-bits", "2048", "--force"}, &out), 0) << out;
  json::Value after = Manifest();
  json::Value old = json::Parse(before);
  std::set<std::string> old_kids;
  for (const auto& k : old.at("keys").as_array()) old_kids.insert(k.at("kid").as_string());
  for (const auto& k : after.at("keys").as_array()) {
    EXPECT_EQ(old_kids.count(k.at("kid").as_string()), 0u) << "key not recreated";
  }
  // Exactly the new objects remain: one object per label and class.
  Session& s = Admin(kIssuance);
  EXPECT_EQ(s.Find({AttrString(CKA_LABEL, "realdid-blind-rsa2048")}).size(), 2u);  // public + private
  EXPECT_EQ(s.Find({AttrString(CKA_LABEL, "realdid-hmac")}).size(), 1u);
  EXPECT_EQ(s.Find({AttrString(CKA_LABEL, "realdid-audit-p256")}).size(), 2u);
  EXPECT_EQ(s.Find({AttrString(CKA_LABEL, "realdid-data-aes256")}).size(), 1u);
}

TEST_F(CeremonyTest, UsageAndLoginErrors) {
  std::string out;
  EXPECT_EQ(Ceremony({"--rsa-bits", "1024"}, &out), 2);
  EXPECT_EQ(RunCommand({REALDID_CEREMONY_BIN, "--out", out_.string()}, &out), 2);
  EXPECT_EQ(RunCommand({REALDID_CEREMONY_BIN, "--bogus"}, &out), 2);
  epin_ = harness_->WriteFile("wrong.pin", "not-the-pin\n");
  EXPECT_EQ(Ceremony({"--rsa-bits", "2048"}, &out), 1);
  EXPECT_NE(out.find("CKR_PIN_INCORRECT"), std::string::npos) << out;
  EXPECT_EQ(out.find("not-the-pin"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(out_ / "keys.json"));
  // Nothing was left behind on the issuance token.
  EXPECT_TRUE(Admin(kIssuance).Find({AttrString(CKA_LABEL, "realdid-hmac")}).empty());
}

TEST_F(CeremonyTest, DefaultIs3072Bits) {
  std::string out;
  ASSERT_EQ(Ceremony({}, &out), 0) << out;
  json::Value m = Manifest();
  const json::Value* blind = FindRole(m, "blind-signing");
  ASSERT_NE(blind, nullptr);
  EXPECT_EQ(blind->at("label").as_string(), "realdid-blind-rsa3072");
  EXPECT_EQ(b64url::Decode(blind->at("jwk").at("n").as_string()).size(), 384u);
}

}  // namespace
}  // namespace realdid::hsm::testing
