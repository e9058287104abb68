// core/jws.h: PS384 / ES256 compact JWS, known answers and refusals.
#include "core/jws.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/base64url.h"
#include "core/error.h"

namespace realdid::jws {
namespace {

// RFC 7515 Appendix A.3 (ES256): key and the example JWS.
constexpr std::string_view kA3X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kA3Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view kA3Jws =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

PublicKey A3Public() { return PublicKey::EcP256(b64url::Decode(kA3X), b64url::Decode(kA3Y)); }

const PrivateKey& RsaKey() {
  static const PrivateKey key = PrivateKey::GenerateRsa(2048);
  return key;
}

TEST(Jws, Rfc7515A3VerifiesEs256) {
  const Compact c = Verify(kA3Jws, A3Public(), Alg::kES256, {});
  EXPECT_EQ(json::Serialize(c.header), R"({"alg":"ES256"})");
  EXPECT_EQ(c.signature.size(), 64u);
  std::string bad(kA3Jws);
  bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_THROW(Verify(bad, A3Public(), Alg::kES256), Error);
}

TEST(Jws, EcScalarKeyKnownAnswer) {
  // Scalar 1 gives the P-256 generator G.
  Bytes one(32);
  one[31] = 1;
  const PrivateKey k = PrivateKey::EcP256FromScalar(one);
  EXPECT_EQ(json::Serialize(k.Public().Jwk()),
            R"({"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",)"
            R"("y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"})");
  const std::string mine = Sign(k, Alg::kES256, json::Object{{"alg", "ES256"}}, AsBytes("hello"));
  EXPECT_NO_THROW(Verify(mine, k.Public(), Alg::kES256));
  EXPECT_THROW(Verify(mine, A3Public(), Alg::kES256), Error);
}

TEST(Jws, EcdsaDerConversionRoundTrip) {
  Bytes raw(64);
  raw[31] = 1;   // r = 1
  raw[32] = 0x80;  // s with the top bit set (DER needs a leading zero)
  raw[63] = 7;
  const Bytes der = EcdsaRawToDer(raw);
  EXPECT_EQ(EcdsaDerToRaw(der), raw);
  EXPECT_THROW(EcdsaRawToDer(Bytes(63)), Error);
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_THROW(EcdsaDerToRaw(trailing), Error);
}

TEST(Jws, Ps384SignVerify) {
  const PublicKey pub = RsaKey().Public();
  const json::Value header = json::Object{{"alg", "PS384"}, {"kid", "k1"}, {"typ", "dc+sd-jwt"}};
  const std::string jws = Sign(RsaKey(), Alg::kPS384, header, AsBytes("{\"a\":1}"));
  const Compact c = Verify(jws, pub, Alg::kPS384, {true, "dc+sd-jwt"});
  EXPECT_EQ(ToString(c.payload), "{\"a\":1}");
  EXPECT_EQ(c.signature.size(), 256u);
  EXPECT_EQ(c.header_b64, b64url::Encode(json::Serialize(header)));
  // Wrong typ, wrong alg expectation, wrong key.
  EXPECT_THROW(Verify(jws, pub, Alg::kPS384, {true, "jwt"}), Error);
  EXPECT_THROW(Verify(jws, A3Public(), Alg::kES256), Error);
  const PrivateKey other = PrivateKey::GenerateRsa(2048);
  EXPECT_THROW(Verify(jws, other.Public(), Alg::kPS384), Error);
  // Key round trip through the JWK.
  EXPECT_NO_THROW(Verify(jws, PublicKey::FromJwk(pub.Jwk()), Alg::kPS384));
}

// PS384 here means salt length 48 exactly: a PSS signature with another salt length is refused.
TEST(Jws, Ps384RequiresSalt48) {
  const std::string input = SigningInput(R"({"alg":"PS384"})", AsBytes("x"));
  for (int salt : {32, 48}) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    ASSERT_EQ(EVP_DigestSignInit(md, &pctx, EVP_sha384(), nullptr, RsaKey().evp()), 1);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384());
    std::size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    ASSERT_EQ(EVP_DigestSign(md, nullptr, &len, in, input.size()), 1);
    Bytes sig(len);
    ASSERT_EQ(EVP_DigestSign(md, sig.data(), &len, in, input.size()), 1);
    EVP_MD_CTX_free(md);
    EXPECT_EQ(VerifyRaw(RsaKey().Public(), Alg::kPS384, input, sig), salt == 48) << salt;
  }
}

std::string Forge(const json::Value& header, const PrivateKey& key, Alg alg) {
  const std::string input = SigningInput(json::Serialize(header), AsBytes("{}"));
  return input + "." + b64url::Encode(SignRaw(key, alg, input));
}

TEST(Jws, RefusesAlgNoneAndKeyHeaders) {
  const PrivateKey d = PrivateKey::GenerateEcP256();
  const PublicKey pub = d.Public();
  const std::string none = b64url::Encode(std::string_view(R"({"alg":"none"})")) + "." +
                           b64url::Encode(std::string_view("{}")) + ".AA";
  EXPECT_THROW(Verify(none, pub, Alg::kES256), Error);
  for (const char* h : {"jwk", "jku", "x5u", "x5c"}) {
    const json::Value header = json::Object{{"alg", "ES256"}, {h, "x"}};
    const std::string t = Forge(header, d, Alg::kES256);
    EXPECT_THROW(Verify(t, pub, Alg::kES256), Error) << h;
    EXPECT_NO_THROW(Verify(t, pub, Alg::kES256, {false, ""})) << h;
  }
  EXPECT_THROW(Verify(Forge(json::Object{{"alg", "ES256"}, {"crit", json::Array{"b64"}}}, d, Alg::kES256),
                      pub, Alg::kES256),
               Error);
  EXPECT_THROW(Verify(Forge(json::Object{{"typ", "JWT"}}, d, Alg::kES256), pub, Alg::kES256), Error);
  EXPECT_THROW(Sign(d, Alg::kES256, json::Object{{"alg", "PS384"}}, AsBytes("x")), Error);
  EXPECT_THROW(Sign(d, Alg::kPS384, json::Object{{"alg", "PS384"}}, AsBytes("x")), Error);
}

TEST(Jws, StrictCompactParser) {
  const std::string ok(kA3Jws);
  EXPECT_NO_THROW(ParseCompact(ok));
  EXPECT_THROW(ParseCompact(ok + ".x"), Error);  // 4 parts
  EXPECT_THROW(ParseCompact(ok.substr(0, ok.rfind('.'))), Error);  // 2 parts
  EXPECT_THROW(ParseCompact(ok + "="), Error);   // padding
  EXPECT_THROW(ParseCompact("+" + ok.substr(1)), Error);
  EXPECT_THROW(ParseCompact(ok.substr(0, ok.rfind('.') + 1)), Error);  // empty signature
  // Header must be a strict JSON object.
  const auto mk = [](std::string_view h) {
    return b64url::Encode(h) + "." + b64url::Encode(std::string_view("{}")) + ".AA";
  };
  EXPECT_THROW(ParseCompact(mk(R"({"alg":"ES256","alg":"ES256"})")), Error);
  EXPECT_THROW(ParseCompact(mk(R"(["alg"])")), Error);
  EXPECT_THROW(ParseCompact(mk(R"({"alg":1e9})")), Error);
  EXPECT_NO_THROW(ParseCompact(mk(R"({"alg":"ES256"})")));
}

TEST(Jws, PublicKeyValidation) {
  Bytes x = b64url::Decode(kA3X);
  Bytes y = b64url::Decode(kA3Y);
  y[31] ^= 1;
  EXPECT_THROW(PublicKey::EcP256(x, y), Error);  // not on the curve
  EXPECT_THROW(PublicKey::EcP256(Bytes(32), Bytes(32)), Error);
  // A coordinate >= p is refused, not reduced (EcP256 sets the point on a copy of one template key).
  EXPECT_THROW(PublicKey::EcP256(Bytes(32, 0xff), b64url::Decode(kA3Y)), Error);
  EXPECT_THROW(PublicKey::EcP256(b64url::Decode(kA3X), Bytes(32, 0xff)), Error);
  // Keys made one after another each hold their own point (the template is copied, never changed).
  const PublicKey a3 = PublicKey::EcP256(b64url::Decode(kA3X), b64url::Decode(kA3Y));
  const PublicKey other = PrivateKey::GenerateEcP256().Public();
  const json::Value other_jwk = other.Jwk();
  const PublicKey other2 = PublicKey::FromJwk(other_jwk);
  EXPECT_EQ(a3.Jwk().at("x").as_string(), kA3X);
  EXPECT_EQ(a3.Jwk().at("y").as_string(), kA3Y);
  EXPECT_EQ(json::Serialize(other2.Jwk()), json::Serialize(other_jwk));
  EXPECT_EQ(json::Serialize(PublicKey::EcP256(b64url::Decode(kA3X), b64url::Decode(kA3Y)).Jwk()),
            json::Serialize(a3.Jwk()));
  EXPECT_THROW(PublicKey::Rsa(Bytes(128, 0xff), Bytes{1, 0, 1}), Error);  // 1024 bits: too small
  EXPECT_THROW(PublicKey::FromJwk(json::Object{{"kty", "EC"}, {"crv", "P-256"}, {"x", std::string(kA3X)},
                                               {"y", std::string(kA3Y)}, {"d", "AA"}}),
               Error);
  EXPECT_THROW(PrivateKey::EcP256FromScalar(Bytes(32)), Error);
}

}  // namespace
}  // namespace realdid::jws
