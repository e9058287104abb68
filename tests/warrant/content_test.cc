// warrant/content.h: canonical documents, approval signatures and the strict request parsers.
#include <gtest/gtest.h>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jws.h"
#include "tests/support/error_kind.h"
#include "warrant/content.h"

namespace realdid::warrant {
namespace {

WarrantContent Sample() {
  WarrantContent c;
  c.author = 1;
  c.legal_basis = "Court order 17/2026";
  c.case_reference = "CASE-17";
  c.scope.person_id = 7;
  c.action = Action::kRevoke;
  c.filed_at_us = 1767225600000001;
  c.expires_at = 1767312000;
  c.nonce = Bytes(16, 0xab);
  return c;
}

TEST(WarrantContentTest, CanonicalFormIsPinnedAndRoundTrips) {
  const std::string text = SerializeWarrant(Sample());
  EXPECT_EQ(text,
            "{\"v\":1,\"kind\":\"warrant\",\"author\":1,\"legal_basis\":\"Court order 17/2026\","
            "\"case_reference\":\"CASE-17\",\"scope\":{\"person_id\":7},\"action\":\"revoke\","
            "\"filed_at_us\":1767225600000001,\"expires_at\":1767312000,"
            "\"nonce\":\"q6urq6urq6urq6urq6urqw\"}");
  WarrantContent back = ParseWarrant(text);
  EXPECT_EQ(SerializeWarrant(back), text);
  EXPECT_EQ(ContentHash(text), hash::Sha256(text));
}

TEST(WarrantContentTest, NonCanonicalOrForeignContentIsRefused) {
  const std::string text = SerializeWarrant(Sample());
  std::string spaced = text;
  spaced.insert(1, " ");
  EXPECT_THROW(ParseWarrant(spaced), Error);
  std::string reordered = text;
  reordered.replace(reordered.find("\"v\":1,\"kind\":\"warrant\""), 22, "\"kind\":\"warrant\",\"v\":1");
  EXPECT_THROW(ParseWarrant(reordered), Error);
  std::string extra = text;
  extra.insert(extra.size() - 1, ",\"x\":1");
  EXPECT_THROW(ParseWarrant(extra), Error);
  WarrantContent bad = Sample();
  bad.scope = Scope{};
  bad.scope.credential_sha256 = Bytes(32, 1);
  bad.action = Action::kRevoke;  // a credential scope only resolves
  EXPECT_THROW(SerializeWarrant(bad), Error);
}

TEST(WarrantContentTest, ApprovalSignatureVerifiesOnlyForItsKeyKindAndHash) {
  jws::PrivateKey key = jws::PrivateKey::GenerateEcP256();
  jws::PrivateKey other = jws::PrivateKey::GenerateEcP256();
  Bytes h = ContentHash(SerializeWarrant(Sample()));
  Bytes msg = ApprovalMessage(ApprovalKind::kWarrant, h);
  EXPECT_EQ(ToString(ByteView(msg).first(27)), "realdid/v1/approve/warrant:");
  Bytes sig = jws::SignRaw(key, jws::Alg::kES256, ToString(msg));
  EXPECT_TRUE(VerifyApproval(key.Public().Jwk(), ApprovalKind::kWarrant, h, sig));
  EXPECT_FALSE(VerifyApproval(other.Public().Jwk(), ApprovalKind::kWarrant, h, sig));
  EXPECT_FALSE(VerifyApproval(key.Public().Jwk(), ApprovalKind::kRoster, h, sig));
  Bytes h2 = h;
  h2[0] ^= 1;
  EXPECT_FALSE(VerifyApproval(key.Public().Jwk(), ApprovalKind::kWarrant, h2, sig));
  EXPECT_FALSE(VerifyApproval(key.Public().Jwk(), ApprovalKind::kWarrant, h, Bytes(64, 0)));
  EXPECT_FALSE(VerifyApproval(key.Public().Jwk(), ApprovalKind::kWarrant, h, Bytes(63, 1)));
}

TEST(WarrantContentTest, FileRequestParserIsStrict) {
  const std::string ok =
      "{\"legal_basis\":\"x\",\"case_reference\":\"y\",\"scope\":{\"person_id\":3},"
      "\"action\":\"resolve\",\"expires_at\":100}";
  FileRequest r = ParseFileRequest(ok);
  EXPECT_EQ(*r.scope.person_id, 3);
  for (const char* bad : {
           "[]", "{}",
           "{\"legal_basis\":\"x\",\"case_reference\":\"y\",\"scope\":{\"person_id\":3},"
           "\"action\":\"resolve\",\"expires_at\":100,\"extra\":1}",
           "{\"legal_basis\":\"\",\"case_reference\":\"y\",\"scope\":{\"person_id\":3},"
           "\"action\":\"resolve\",\"expires_at\":100}",
           "{\"legal_basis\":\"x\\n\",\"case_reference\":\"y\",\"scope\":{\"person_id\":3},"
           "\"action\":\"resolve\",\"expires_at\":100}",
           "{\"legal_basis\":\"x\",\"case_reference\":\"y\",\"scope\":{\"person_id\":0},"
           "\"action\":\"resolve\",\"expires_at\":100}",
           "{\"legal_basis\":\"x\",\"case_reference\":\"y\",\"scope\":{\"person_id\":3,"
           "\"credential_sha256\":\"AA\"},\"action\":\"resolve\",\"expires_at\":100}",
           "{\"legal_basis\":\"x\",\"case_reference\":\"y\",\"scope\":{\"credential_sha256\":"
           "\"AA\"},\"action\":\"resolve\",\"expires_at\":100}",
           "{\"legal_basis\":\"x\",\"case_reference\":\"y\",\"scope\":{\"person_id\":3},"
           "\"action\":\"delete\",\"expires_at\":100}",
           "{\"legal_basis\":\"x\",\"case_reference\":\"y\",\"scope\":{\"person_id\":3},"
           "\"action\":\"resolve\",\"expires_at\":1e9}",
       }) {
    EXPECT_THROW(ParseFileRequest(bad), Error) << bad;
  }
}

TEST(WarrantContentTest, OtherRequestParsers) {
  EXPECT_EQ(ParseApprovalRequest("{\"signature\":\"" + b64url::Encode(Bytes(64, 7)) + "\"}"),
            Bytes(64, 7));
  EXPECT_THROW(ParseApprovalRequest("{\"signature\":\"" + b64url::Encode(Bytes(63, 7)) + "\"}"),
               Error);
  EXPECT_THROW(ParseApprovalRequest("{\"signature\":\"AA==\"}"), Error);
  EXPECT_FALSE(ParseExecuteRequest("{}").has_value());
  EXPECT_EQ(*ParseExecuteRequest("{\"credential\":\"a~\"}"), "a~");
  EXPECT_THROW(ParseExecuteRequest("{\"credential\":\"\"}"), Error);
  EXPECT_THROW(ParseExecuteRequest("{\"credential\":1}"), Error);
  RosterChangeRequest rm = ParseRosterChangeRequest("{\"op\":\"remove\",\"auditor_id\":4,\"expires_at\":9}");
  EXPECT_EQ(rm.auditor_id, 4);
  EXPECT_THROW(ParseRosterChangeRequest("{\"op\":\"add\",\"auditor_id\":4,\"expires_at\":9}"), Error);
  // A JWK that is not on the curve.
  std::string jwk = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + b64url::Encode(Bytes(32, 1)) +
                    "\",\"y\":\"" + b64url::Encode(Bytes(32, 2)) + "\"}";
  EXPECT_THROW(ParseRosterChangeRequest("{\"op\":\"add\",\"label\":\"d\",\"cert_sha256\":\"" +
                                        b64url::Encode(Bytes(32, 3)) + "\",\"public_jwk\":" + jwk +
                                        ",\"expires_at\":9}"),
               Error);
  EXPECT_THROW(CheckLabel(""), Error);
  EXPECT_THROW(CheckLabel("-x"), Error);
  EXPECT_THROW(CheckLabel("a;b"), Error);
  EXPECT_NO_THROW(CheckLabel("Judge Wang-2"));
}

TEST(WarrantContentTest, GenesisRosterRefusesRepeatsAndBadKeys) {
  jws::PrivateKey k1 = jws::PrivateKey::GenerateEcP256();
  json::Value e = json::Object{};
  e.set("label", "alice");
  e.set("cert_sha256", b64url::Encode(Bytes(32, 1)));
  e.set("public_jwk", k1.Public().Jwk());
  json::Value doc = json::Object{};
  doc.set("v", 1);
  doc.set("auditors", json::Array{e});
  EXPECT_EQ(ParseGenesisRoster(json::Serialize(doc)).size(), 1U);
  doc.set("auditors", json::Array{e, e});
  EXPECT_THROW(ParseGenesisRoster(json::Serialize(doc)), Error);
  doc.set("auditors", json::Array{});
  EXPECT_THROW(ParseGenesisRoster(json::Serialize(doc)), Error);
}

}  // namespace
}  // namespace realdid::warrant
