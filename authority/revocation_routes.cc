#include "authority/revocation_routes.h"

#include <algorithm>
#include <string_view>

#include "authority/admin_routes.h"
#include "authority/client_auth.h"
#include "authority/log.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/revocation_list.h"

namespace realdid::authority {
namespace {

std::int64_t ParseSince(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (text.size() > 1 && text[0] == '0')) {
    InvalidInput("since must be a non-negative decimal integer without leading zeros");
  }
  return std::stoll(text);
}

// Bodies that carry nothing must be exactly an empty JSON object.
void RequireEmptyObject(const std::string& body) {
  json::Value v;
  try {
    v = json::Parse(body);
  } catch (const Error&) {
    InvalidInput("the body must be the empty JSON object {}");
  }
  if (!v.is_object() || !v.as_object().empty()) {
    InvalidInput("the body must be the empty JSON object {}");
  }
}

// True when an If-None-Match header lists etag (or is "*").
bool Matches(const HttpRequest& req, const std::string& etag) {
  std::optional<std::string> inm = req.Header("If-None-Match");
  if (!inm) return false;
  std::string_view rest = *inm;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);  // weak comparison (RFC 9110 13.1.2)
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

HttpResponse ListResponse(const HttpRequest& req, const revocation::SignedList& list,
                          std::int64_t now, std::int64_t cap) {
  const std::string etag = RevocationEtag(list.jws);
  const std::int64_t max_age = std::clamp<std::int64_t>(list.next_update - now, 0, cap);
  HttpResponse r;
  if (Matches(req, etag)) {
    r.status = 304;
    r.content_type = "application/jwt";
  } else {
    r.status = 200;
    r.content_type = "application/jwt";
    r.body = list.jws;
  }
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(max_age));
  return r;
}

}  // namespace

json::Value RevocationListJwk(const std::vector<ManifestKey>& manifest,
                              std::string_view issuance_token) {
  for (const ManifestKey& k : manifest) {
    if (k.role != "revocation-list" || k.token != issuance_token) continue;
    if (!k.jwk.is_object() || jwk::Kid(k.jwk) != k.kid) {
      InvalidInput("[hsm] keys_manifest: revocation-list kid is not its thumbprint");
    }
    return json::Value(json::Object{{"kty", "EC"},
                                    {"crv", "P-256"},
                                    {"x", k.jwk.at("x")},
                                    {"y", k.jwk.at("y")},
                                    {"kid", k.kid},
                                    {"alg", "ES256"},
                                    {"use", "sig"}});
  }
  return json::Value();
}

std::unique_ptr<revocation::RevocationService> MakeRevocationService(
    const std::vector<ManifestKey>& manifest, std::string_view issuance_token,
    const issuance::Keys& keys, const std::string& iss, hsm::Token& token, db::Pool& pool,
    const issuance::Clock& clock) {
  const ManifestKey* list_key = nullptr;
  for (const ManifestKey& k : manifest) {
    if (k.role == "revocation-list" && k.token == issuance_token) list_key = &k;
  }
  if (list_key == nullptr) {
    LogWarn("key manifest has no revocation-list key: revocation endpoints are not served", {});
    return nullptr;
  }
  RevocationListJwk(manifest, issuance_token);  // checks the kid
  revocation::ServiceConfig config;
  config.iss = iss;
  config.list_key = hsm::KeyRef{list_key->label, list_key->cka_id};
  config.list_key_kid = list_key->kid;
  auto issuer = std::make_shared<std::vector<std::pair<std::string, jws::PublicKey>>>();
  for (const issuance::SigningKey& k : keys.signing) {
    config.kids.push_back(k.kid);
    issuer->emplace_back(k.kid, jws::PublicKey::Rsa(k.pk.n(), k.pk.e()));
  }
  config.issuer_keys = [issuer](std::string_view kid) -> std::optional<jws::PublicKey> {
    for (const auto& [k, pk] : *issuer) {
      if (k == kid) return pk;
    }
    return std::nullopt;
  };
  return std::make_unique<revocation::RevocationService>(std::move(config), token, pool, clock);
}

std::string RevocationEtag(const std::string& body) {
  return "\"" + b64url::Encode(hash::Sha256(body)) + "\"";
}

void AddRevocationRoutes(Router& router, revocation::RevocationService& service,
                         const issuance::Clock& clock, RevocationRoutesOptions options) {
  revocation::RevocationService* svc = &service;
  const issuance::Clock* c = &clock;
  const std::int64_t cap = options.max_age_cap;
  RouteOptions cacheable;
  cacheable.cacheable = true;
  router.Add(
      "GET", "/v1/revocation/lists/{kid}",
      [svc, c, cap](const HttpRequest& r) {
        return ListResponse(r, svc->Full(r.params.at("kid")), c->Now(), cap);
      },
      cacheable);
  router.Add(
      "GET", "/v1/revocation/lists/{kid}/deltas/{since}",
      [svc, c, cap](const HttpRequest& r) {
        std::int64_t since = ParseSince(r.params.at("since"));
        return ListResponse(r, svc->Delta(r.params.at("kid"), since), c->Now(), cap);
      },
      cacheable);
  RouteOptions json_body;
  json_body.consumes = "application/json";
  router.Add(
      "POST", "/v1/revocation/nonce",
      [svc](const HttpRequest& r) {
        RequireEmptyObject(r.body);
        revocation::RevocationNonce n = svc->CreateNonce();
        return HttpResponse::Json(
            200, json::Serialize(json::Value(json::Object{{"nonce", b64url::Encode(n.nonce)},
                                                          {"expires_at", n.expires_at}})));
      },
      json_body);
  RouteOptions revoke_body = json_body;
  revoke_body.max_body_bytes = std::size_t{64} * 1024;
  router.Add(
      "POST", "/v1/revocations",
      [svc](const HttpRequest& r) {
        revocation::HolderRevoked out = svc->RevokeByHolder(r.body);
        return HttpResponse::Json(
            200, json::Serialize(json::Value(
                     json::Object{{"kid", out.kid},
                                  {"revocation_id", b64url::Encode(out.revocation_id)},
                                  {"version", out.version},
                                  {"newly_revoked", out.newly_revoked}})));
      },
      revoke_body);
}

void AddOperatorRevocationRoutes(Router& router, revocation::RevocationService& service,
                                 db::Pool& pool) {
  revocation::RevocationService* svc = &service;
  RouteOptions json_body;
  json_body.consumes = "application/json";
  router.Add("POST", "/v1/admin/revocation/keys/{kid}",
             Privileged(
                 pool, {Role::kOperator},
                 [svc](const HttpRequest& r, const Principal&) {
                   RequireEmptyObject(r.body);
                   const std::string& kid = r.params.at("kid");
                   bool newly = false;
                   std::int64_t version = svc->RevokeKey(kid, &newly);
                   return HttpResponse::Json(
                       200, json::Serialize(json::Value(json::Object{{"kid", kid},
                                                                     {"version", version},
                                                                     {"key_revoked", true},
                                                                     {"newly_revoked", newly}})));
                 }),
             json_body);
}

}  // namespace realdid::authority
