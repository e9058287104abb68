// core/jwk.h: RFC 7638 thumbprints and JWK construction.
#include "core/jwk.h"

#include <gtest/gtest.h>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"

namespace realdid::jwk {
namespace {

// RFC 7638 section 3.1.
constexpr std::string_view kRfcN =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZ"
    "CiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8K"
    "JZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_x"
    "BniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

TEST(Jwk, Rfc7638Example) {
  const json::Value key = json::Object{{"kty", "RSA"}, {"n", kRfcN}, {"e", "AQAB"}, {"alg", "RS256"},
                                       {"kid", "2011-04-29"}};
  EXPECT_EQ(Kid(key), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  // RsaPublic from raw bytes gives the same thumbprint, leading zeros stripped.
  Bytes n = b64url::Decode(kRfcN);
  n.insert(n.begin(), 0x00);
  EXPECT_EQ(Kid(RsaPublic(n, Bytes{0x00, 0x01, 0x00, 0x01})), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jwk, EcThumbprintUsesRequiredMembersInOrder) {
  Bytes x(32, 0x11), y(32, 0x22);
  const json::Value k = EcP256Public(x, y);
  EXPECT_EQ(json::Serialize(k), R"({"kty":"EC","crv":"P-256","x":")" + b64url::Encode(x) + R"(","y":")" +
                                    b64url::Encode(y) + "\"}");
  const std::string canon = R"({"crv":"P-256","kty":"EC","x":")" + b64url::Encode(x) + R"(","y":")" +
                            b64url::Encode(y) + "\"}";
  EXPECT_EQ(ThumbprintSha256(k), hash::Sha256(canon));
  EXPECT_EQ(EcP256FromPoint(Concat({Bytes{0x04}, x, y})), k);
}

TEST(Jwk, Refusals) {
  EXPECT_THROW(EcP256Public(Bytes(31), Bytes(32)), Error);
  EXPECT_THROW(EcP256FromPoint(Bytes(65, 0x02)), Error);
  EXPECT_THROW(RsaPublic(Bytes{0, 0}, Bytes{1}), Error);
  EXPECT_THROW(ThumbprintSha256(json::Value(json::Object{{"kty", "oct"}, {"k", "AA"}})), Error);
  EXPECT_THROW(ThumbprintSha256(json::Value(json::Object{{"kty", "OKP"}})), Error);
  EXPECT_THROW(ThumbprintSha256(json::Value(
                   json::Object{{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}})),
               Error);
  EXPECT_THROW(ThumbprintSha256(json::Value(json::Object{{"kty", "RSA"}, {"n", kRfcN}, {"e", "AQAB"},
                                                         {"d", "AA"}})),
               Error);
  EXPECT_THROW(ThumbprintSha256(json::Value("x")), Error);
}

}  // namespace
}  // namespace realdid::jwk
