#include "authority/wellknown_routes.h"

#include "core/base64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"

namespace realdid::authority {

// Generated at build time from docs/openapi.json (authority/embed_file.cmake).
extern const unsigned char kOpenApiJson[];
extern const std::size_t kOpenApiJsonSize;

std::string OpenApiDocument() {
  return std::string(reinterpret_cast<const char*>(kOpenApiJson), kOpenApiJsonSize);
}

std::string JwksDocument(const issuance::Keys& keys, const issuance::Settings& settings,
                         std::int64_t now, const json::Value& revocation_list_jwk) {
  json::Array arr;
  std::size_t modulus_bits = 0;
  for (const issuance::SigningKey& k : keys.signing) {
    if (k.exp <= now) continue;  // only keys whose window has not ended
    json::Object o = {{"kty", "RSA"},
                      {"n", b64url::Encode(k.pk.n())},
                      {"e", b64url::Encode(k.pk.e())},
                      {"kid", k.kid},
                      {"alg", "PS384"},
                      {"use", "sig"},
                      {"nbf", k.nbf},
                      {"exp", k.exp}};
    arr.emplace_back(std::move(o));
  }
  if (const issuance::SigningKey* active = keys.Active(now)) {
    modulus_bits = active->pk.modulus_bits();
  } else if (!keys.signing.empty()) {
    modulus_bits = keys.signing.back().pk.modulus_bits();
  }
  const Bytes& point = keys.escrow_pk.bytes();
  json::Object escrow = {{"kty", "EC"},
                         {"crv", "P-256"},
                         {"x", b64url::Encode(ByteView(point).subspan(1, 32))},
                         {"y", b64url::Encode(ByteView(point).subspan(33, 32))},
                         {"kid", keys.escrow_kid},
                         {"alg", "HPKE-Base-P256-SHA256-AES128GCM"}};
  json::Object policy = {{"vct", std::string(credential::kVct)},
                         {"modulus_bits", static_cast<std::int64_t>(modulus_bits)},
                         {"e", 65537},
                         {"credential_lifetime", settings.credential_lifetime},
                         {"k", settings.k},
                         {"min_k", settings.min_k}};
  json::Object doc = {{"keys", json::Value(std::move(arr))},
                      {"escrow", json::Value(std::move(escrow))},
                      {"policy", json::Value(std::move(policy))}};
  if (!revocation_list_jwk.is_null()) doc.emplace_back("revocation", revocation_list_jwk);
  return json::Serialize(json::Value(std::move(doc)));
}

void AddWellKnownRoutes(Router& router, const issuance::Keys& keys,
                        const issuance::Settings& settings, const issuance::Clock& clock,
                        const json::Value& revocation_list_jwk) {
  RouteOptions cacheable;
  cacheable.cacheable = true;
  const issuance::Keys* k = &keys;
  const issuance::Settings* s = &settings;
  const issuance::Clock* c = &clock;
  router.Add(
      "GET", "/.well-known/jwks.json",
      [k, s, c, revocation_list_jwk](const HttpRequest&) {
        HttpResponse r =
            HttpResponse::Json(200, JwksDocument(*k, *s, c->Now(), revocation_list_jwk));
        r.headers.emplace_back("Cache-Control", "public, max-age=300");
        return r;
      },
      cacheable);
  const std::string issuer_doc = json::Serialize(json::Value(json::Object{
      {"issuer", settings.iss}, {"jwks_uri", settings.iss + "/.well-known/jwks.json"}}));
  router.Add(
      "GET", "/.well-known/jwt-vc-issuer",
      [issuer_doc](const HttpRequest&) {
        HttpResponse r = HttpResponse::Json(200, issuer_doc);
        r.headers.emplace_back("Cache-Control", "public, max-age=3600");
        return r;
      },
      cacheable);
  const std::string openapi = OpenApiDocument();
  router.Add(
      "GET", "/openapi.json",
      [openapi](const HttpRequest&) {
        HttpResponse r = HttpResponse::Json(200, openapi);
        r.headers.emplace_back("Cache-Control", "public, max-age=3600");
        return r;
      },
      cacheable);
}

}  // namespace realdid::authority
