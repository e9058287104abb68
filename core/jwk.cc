#include "core/jwk.h"

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"

namespace realdid::jwk {

namespace {
ByteView StripLeadingZeros(ByteView v) {
  std::size_t i = 0;
  while (i < v.size() && v[i] == 0) ++i;
  return v.subspan(i);
}
}  // namespace

json::Value RsaPublic(ByteView n, ByteView e) {
  const ByteView nn = StripLeadingZeros(n);
  const ByteView ee = StripLeadingZeros(e);
  if (nn.empty() || ee.empty()) InvalidInput("JWK: empty RSA modulus or exponent");
  return json::Object{{"kty", "RSA"}, {"n", b64url::Encode(nn)}, {"e", b64url::Encode(ee)}};
}

json::Value EcP256Public(ByteView x, ByteView y) {
  if (x.size() != 32 || y.size() != 32) InvalidInput("JWK: P-256 coordinates must be 32 bytes");
  return json::Object{
      {"kty", "EC"}, {"crv", "P-256"}, {"x", b64url::Encode(x)}, {"y", b64url::Encode(y)}};
}

json::Value EcP256FromPoint(ByteView p) {
  if (p.size() != 65 || p[0] != 0x04) InvalidInput("JWK: expected an uncompressed P-256 point");
  return EcP256Public(p.subspan(1, 32), p.subspan(33, 32));
}

Bytes ThumbprintSha256(const json::Value& jwk) {
  if (!jwk.is_object()) InvalidInput("JWK: not an object");
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "k"}) {
    if (jwk.find(priv) != nullptr) InvalidInput("JWK: private key members are not accepted");
  }
  const std::string& kty = jwk.at("kty").as_string();
  json::Value canon;
  if (kty == "RSA") {
    canon = json::Object{{"e", jwk.at("e").as_string()},
                         {"kty", "RSA"},
                         {"n", jwk.at("n").as_string()}};
  } else if (kty == "EC") {
    if (jwk.at("crv").as_string() != "P-256") InvalidInput("JWK: only P-256 EC keys");
    canon = json::Object{{"crv", "P-256"},
                         {"kty", "EC"},
                         {"x", jwk.at("x").as_string()},
                         {"y", jwk.at("y").as_string()}};
  } else {
    InvalidInput("JWK: unsupported kty");
  }
  return hash::Sha256(json::Serialize(canon));
}

std::string Kid(const json::Value& jwk) { return b64url::Encode(ThumbprintSha256(jwk)); }

}  // namespace realdid::jwk
