#include "authority/issuance_routes.h"

#include <set>

#include "authority/problem.h"
#include "core/base64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"

namespace realdid::authority {
namespace {

using issuance::IssuanceError;

json::Value ParseObject(const std::string& body) {
  json::Value v = json::Parse(body);
  if (!v.is_object()) InvalidInput("the body must be a JSON object");
  return v;
}

// Exactly these members, no others.
void RequireMembers(const json::Value& obj, std::initializer_list<std::string_view> names,
                    std::string_view what) {
  std::set<std::string_view> allowed(names);
  for (const json::Member& m : obj.as_object()) {
    if (allowed.count(m.first) == 0) {
      InvalidInput(std::string(what) + ": unknown member '" + m.first + "'");
    }
  }
  for (std::string_view n : names) {
    if (obj.find(n) == nullptr) InvalidInput(std::string(what) + ": missing member '" +
                                             std::string(n) + "'");
  }
}

Bytes B64(const json::Value& obj, std::string_view name, std::size_t len) {
  const json::Value& v = obj.at(name);
  if (!v.is_string()) InvalidInput(std::string(name) + " must be a base64url string");
  Bytes b;
  try {
    b = b64url::Decode(v.as_string());
  } catch (const Error&) {
    InvalidInput(std::string(name) + " is not canonical base64url");
  }
  if (len != 0 && b.size() != len) {
    InvalidInput(std::string(name) + " must be " + std::to_string(len) + " bytes");
  }
  return b;
}

HttpResponse Json(int status, json::Object obj) {
  return HttpResponse::Json(status, json::Serialize(json::Value(std::move(obj))));
}

HttpResponse ProblemFor(const IssuanceError& e, const HttpRequest& req) {
  Problem p;
  switch (e.problem()) {
    case issuance::Problem::kInvalidIdNumber:
      p = {400, "urn:realdid:problem:invalid-id-number", "Invalid ID number",
           std::string(e.detail()), {}};
      break;
    case issuance::Problem::kCtidFailed:
      p = {401, "urn:realdid:problem:ctid-failed", "Real-name check failed",
           std::string(e.detail()), {}};
      break;
    case issuance::Problem::kLocked:
      p = {403, "urn:realdid:problem:locked", "Locked out", std::string(e.detail()), {}};
      break;
    case issuance::Problem::kCheatDetected:
      p = {422, "urn:realdid:problem:cheat-detected", "Cheat detected", std::string(e.detail()),
           {}};
      break;
    case issuance::Problem::kCtidUnavailable:
      p = {503, "urn:realdid:problem:unavailable", "Service unavailable",
           "The real-name platform is temporarily unavailable; retry later.", {}};
      break;
  }
  if (e.locked_until) p.extensions.emplace_back("locked_until", json::Value(*e.locked_until));
  HttpResponse r = ProblemResponse(p, req.request_id);
  if (e.retry_after_seconds) {
    r.headers.emplace_back("Retry-After", std::to_string(*e.retry_after_seconds));
  }
  return r;
}

// Runs a handler body; maps service outcomes and malformed messages to their problem types.
template <class F>
HttpResponse Guarded(const HttpRequest& req, F&& body) {
  try {
    return body();
  } catch (const IssuanceError& e) {
    return ProblemFor(e, req);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInvalidInput) {
      return ProblemResponse(
          {400, "urn:realdid:problem:bad-request", "Bad request", std::string(e.detail()), {}},
          req.request_id);
    }
    if (e.kind() == ErrorKind::kUnauthorized) {
      HttpResponse r = ProblemResponse(ProblemFromError(e, req.request_id), req.request_id);
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    throw;  // authority/problem.h maps the rest (404, 409, 503, 500)
  }
}

Bytes SessionIdFrom(const HttpRequest& req) {
  auto it = req.params.find("id");
  try {
    if (it != req.params.end()) {
      Bytes id = b64url::Decode(it->second);
      if (id.size() == 16) return id;
    }
  } catch (const Error&) {
  }
  Fail(ErrorKind::kNotFound, "no such session");
}

Secret BearerFrom(const HttpRequest& req) {
  std::optional<std::string> h = req.Header("Authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (!h || h->size() <= kPrefix.size() || h->compare(0, kPrefix.size(), kPrefix) != 0) {
    Fail(ErrorKind::kUnauthorized, "missing or wrong session secret");
  }
  try {
    Bytes b = b64url::Decode(std::string_view(*h).substr(kPrefix.size()));
    if (b.size() == 16) return Secret(std::move(b));
  } catch (const Error&) {
  }
  Fail(ErrorKind::kUnauthorized, "missing or wrong session secret");
}

// Admission before anything that may reach CTID (authority/access_limiter.h): 429 + Retry-After
// when the source is over its rate or in the penalty box; a failed real-name check counts
// against the source.
template <class F>
HttpResponse Limited(AccessLimiter* limiter, const HttpRequest& req, bool counts_ctid, F&& body) {
  if (limiter != nullptr) {
    AccessLimiter::Decision d = limiter->Admit(req.peer_address);
    if (!d.allowed) {
      Problem p = ProblemFromError(
          Error(ErrorKind::kRateLimited, d.reason == "rate"
                                             ? "too many requests from this address; retry later"
                                             : "too many failed real-name checks from this "
                                               "address; retry later"),
          req.request_id);
      p.extensions.emplace_back("retry_after_seconds",
                                json::Value(std::int64_t{d.retry_after_seconds}));
      HttpResponse r = ProblemResponse(p, req.request_id);
      r.headers.emplace_back("Retry-After", std::to_string(d.retry_after_seconds));
      return r;
    }
  }
  try {
    return body();
  } catch (const IssuanceError& e) {
    if (counts_ctid && limiter != nullptr && e.problem() == issuance::Problem::kCtidFailed) {
      limiter->RecordCtidFailure(req.peer_address);
    }
    throw;
  }
}

HttpResponse HandleNonce(issuance::IssuanceService& svc, const HttpRequest& req) {
  json::Value body = ParseObject(req.body.empty() ? "{}" : req.body);
  RequireMembers(body, {}, "nonce request");
  issuance::NonceGrant g = svc.CreateNonce();
  return Json(201, {{"nonce", b64url::Encode(g.nonce)}, {"expires_at", g.expires_at}});
}

// The body of POST /v1/issuance/sessions and POST /v1/issuance/history.
issuance::OpenRequest ParseRealNameRequest(const HttpRequest& req, std::string_view what) {
  json::Value body = ParseObject(req.body);
  RequireMembers(body, {"name", "id_number", "nonce", "ctid_token"}, what);
  issuance::OpenRequest r;
  const json::Value& name = body.at("name");
  const json::Value& id = body.at("id_number");
  const json::Value& token = body.at("ctid_token");
  if (!name.is_string() || name.as_string().empty() || name.as_string().size() > 256) {
    InvalidInput("name must be a non-empty string of at most 256 bytes");
  }
  if (!id.is_string()) InvalidInput("id_number must be a string");
  if (!token.is_string() || token.as_string().empty() || token.as_string().size() > 4096) {
    InvalidInput("ctid_token must be a non-empty string of at most 4096 bytes");
  }
  r.name = Secret::FromString(name.as_string());
  r.id_number = Secret::FromString(id.as_string());
  r.nonce = B64(body, "nonce", 16);
  r.ctid_token = token.as_string();
  return r;
}

HttpResponse HandleOpen(issuance::IssuanceService& svc, const HttpRequest& req) {
  issuance::OpenedSession s = svc.OpenSession(ParseRealNameRequest(req, "session request"));
  const credential::Attested& a = s.values.attested;
  json::Object attested = {{"age_over_18", a.age_over_18},
                           {"age_over_60", a.age_over_60},
                           {"province", a.province},
                           {"nationality", a.nationality},
                           {"real_name_verified", a.real_name_verified}};
  return Json(201, {{"session_id", b64url::Encode(s.session_id)},
                    {"session_secret", b64url::Encode(s.session_secret.reveal())},
                    {"issuance_id", b64url::Encode(s.issuance_id)},
                    {"iss", s.values.iss},
                    {"vct", s.values.vct},
                    {"kid", s.values.kid},
                    {"iat", s.values.iat},
                    {"exp", s.values.exp},
                    {"attested", json::Value(std::move(attested))},
                    {"escrow_kid", s.values.escrow_kid},
                    {"k", s.k},
                    {"expires_at", s.expires_at}});
}

HttpResponse HandleCommit(issuance::IssuanceService& svc, const HttpRequest& req) {
  Bytes session_id = SessionIdFrom(req);
  Secret secret = BearerFrom(req);
  json::Value body = ParseObject(req.body);
  RequireMembers(body, {"candidates"}, "commit");
  std::vector<issuance::Candidate> cands;
  const json::Value& arr = body.at("candidates");
  if (!arr.is_array()) InvalidInput("candidates must be an array");
  if (arr.as_array().size() > 1024) InvalidInput("too many candidates");
  for (const json::Value& c : arr.as_array()) {
    if (!c.is_object()) InvalidInput("a candidate must be an object");
    RequireMembers(c, {"blinded_msg", "trace"}, "candidate");
    cands.push_back({B64(c, "blinded_msg", 0), B64(c, "trace", 161)});
  }
  int j = svc.Commit(session_id, secret, cands);
  return Json(200, {{"challenge", j}});
}

HttpResponse HandleReveal(issuance::IssuanceService& svc, const HttpRequest& req) {
  Bytes session_id = SessionIdFrom(req);
  Secret secret = BearerFrom(req);
  json::Value body = ParseObject(req.body);
  RequireMembers(body, {"openings"}, "reveal");
  const json::Value& arr = body.at("openings");
  if (!arr.is_array()) InvalidInput("openings must be an array");
  if (arr.as_array().size() > 1024) InvalidInput("too many openings");
  std::vector<issuance::Opening> openings;
  for (const json::Value& o : arr.as_array()) {
    if (!o.is_object()) InvalidInput("an opening must be an object");
    RequireMembers(o,
                   {"index", "holder_jwk", "jti", "salts", "pss_salt", "r", "escrow_ikm",
                    "trace_ikm"},
                   "opening");
    issuance::Opening op;
    std::int64_t index = o.at("index").as_int();
    if (index < 0 || index > 1023) InvalidInput("index out of range");
    op.index = static_cast<int>(index);
    const json::Value& jwk = o.at("holder_jwk");
    if (!jwk.is_object()) InvalidInput("holder_jwk must be an object");
    RequireMembers(jwk, {"kty", "crv", "x", "y"}, "holder_jwk");
    if (jwk.at("kty") != json::Value("EC") || jwk.at("crv") != json::Value("P-256")) {
      InvalidInput("holder_jwk must be an EC P-256 key");
    }
    op.holder_x = B64(jwk, "x", 32);
    op.holder_y = B64(jwk, "y", 32);
    op.jti = B64(o, "jti", 16);
    const json::Value& salts = o.at("salts");
    if (!salts.is_array() || salts.as_array().size() != credential::kNumDisclosed) {
      InvalidInput("salts must be an array of 5");
    }
    for (std::size_t i = 0; i < credential::kNumDisclosed; ++i) {
      const json::Value& sv = salts.as_array()[i];
      if (!sv.is_string()) InvalidInput("a salt must be a base64url string");
      Bytes salt;
      try {
        salt = b64url::Decode(sv.as_string());
      } catch (const Error&) {
        InvalidInput("a salt is not canonical base64url");
      }
      if (salt.size() != credential::kSaltSize) InvalidInput("a salt must be 16 bytes");
      op.salts[i] = std::move(salt);
    }
    op.pss_salt = B64(o, "pss_salt", 48);
    op.r = B64(o, "r", 0);
    op.escrow_ikm = B64(o, "escrow_ikm", 32);
    op.trace_ikm = B64(o, "trace_ikm", 32);
    openings.push_back(std::move(op));
  }
  Bytes sig = svc.Reveal(session_id, secret, openings);
  return Json(200, {{"blind_signature", b64url::Encode(sig)}});
}

HttpResponse HandleCancel(issuance::IssuanceService& svc, const HttpRequest& req) {
  Bytes session_id = SessionIdFrom(req);
  Secret secret = BearerFrom(req);
  json::Value body = ParseObject(req.body.empty() ? "{}" : req.body);
  RequireMembers(body, {}, "cancel");
  svc.CancelSession(session_id, secret);
  return Json(200, {{"state", "cancelled"}});
}

HttpResponse HandleHistory(issuance::IssuanceService& svc, const HttpRequest& req) {
  issuance::History h = svc.ResidentHistory(ParseRealNameRequest(req, "history request"));
  json::Array sessions;
  for (const issuance::HistoryEntry& e : h.sessions) {
    sessions.emplace_back(json::Object{{"session_id", b64url::Encode(e.session_id)},
                                       {"kid", e.kid},
                                       {"state", e.state},
                                       {"created_at", e.created_at},
                                       {"expires_at", e.expires_at},
                                       {"iat", e.iat},
                                       {"exp", e.exp}});
  }
  json::Object out{{"sessions", json::Value(std::move(sessions))}};
  if (h.locked_until) {
    out.emplace_back("locked_until", *h.locked_until);
    out.emplace_back("lock_reason", h.lock_reason.value_or(""));
  }
  return Json(200, std::move(out));
}

Bytes JwkBytes(const json::Value& jwk, std::string_view member) {
  return b64url::Decode(jwk.at(member).as_string());
}

}  // namespace

void IssuanceMetrics::OnSession(std::string_view result) noexcept {
  try {
    metrics_.IncIssuanceSession(result);
  } catch (...) {
  }
}
void IssuanceMetrics::OnCheat() noexcept { metrics_.IncIssuanceCheat(); }
void IssuanceMetrics::OnSignature() noexcept { metrics_.IncIssuanceSignature(); }
void IssuanceMetrics::OnLockout() noexcept { metrics_.IncLockout(); }

issuance::Keys IssuanceKeysFromManifest(const std::vector<ManifestKey>& manifest,
                                        std::string_view issuance_token) {
  std::vector<issuance::SigningKey> signing;
  std::optional<hsm::KeyRef> hmac, data;
  std::optional<hpke::PublicKey> escrow_pk;
  std::string escrow_kid;
  try {
    for (const ManifestKey& k : manifest) {
      if (k.role == "escrow") {
        Bytes point = Concat({Bytes{0x04}, JwkBytes(k.jwk, "x"), JwkBytes(k.jwk, "y")});
        escrow_pk = hpke::DeserializePublicKey(point);
        if (jwk::Kid(k.jwk) != k.kid) InvalidInput("escrow kid is not its thumbprint");
        escrow_kid = k.kid;
        continue;
      }
      if (k.token != issuance_token) continue;
      if (k.role == "blind-signing") {
        if (!k.nbf || !k.exp) InvalidInput("blind-signing key '" + k.label + "' has no nbf/exp");
        if (jwk::Kid(k.jwk) != k.kid) InvalidInput("blind-signing kid is not its thumbprint");
        signing.push_back(issuance::SigningKey{
            hsm::KeyRef{k.label, k.cka_id}, k.kid,
            blind_rsa::PublicKey::FromComponents(JwkBytes(k.jwk, "n"), JwkBytes(k.jwk, "e")),
            *k.nbf, *k.exp});
      } else if (k.role == "id-lookup-hmac") {
        hmac = hsm::KeyRef{k.label, k.cka_id};
      } else if (k.role == "data-wrapping") {
        data = hsm::KeyRef{k.label, k.cka_id};
      }
    }
  } catch (const Error& e) {
    InvalidInput("[hsm] keys_manifest: " + std::string(e.detail()));
  }
  if (signing.empty()) InvalidInput("[hsm] keys_manifest: no blind-signing key on the token");
  if (!hmac) InvalidInput("[hsm] keys_manifest: no id-lookup-hmac key on the token");
  if (!data) InvalidInput("[hsm] keys_manifest: no data-wrapping key on the token");
  if (!escrow_pk) InvalidInput("[hsm] keys_manifest: no escrow key");
  return issuance::Keys{std::move(signing), *hmac, *data, *escrow_pk, escrow_kid};
}

void AddIssuanceRoutes(Router& router, issuance::IssuanceService& service,
                       AccessLimiter* limiter) {
  RouteOptions json_body;
  json_body.consumes = "application/json";
  issuance::IssuanceService* svc = &service;
  router.Add(
      "POST", "/v1/ctid/nonce",
      [svc, limiter](const HttpRequest& r) {
        return Guarded(r, [&] {
          return Limited(limiter, r, false, [&] { return HandleNonce(*svc, r); });
        });
      },
      json_body);
  router.Add(
      "POST", "/v1/issuance/sessions",
      [svc, limiter](const HttpRequest& r) {
        return Guarded(r, [&] {
          return Limited(limiter, r, true, [&] { return HandleOpen(*svc, r); });
        });
      },
      json_body);
  router.Add(
      "POST", "/v1/issuance/history",
      [svc, limiter](const HttpRequest& r) {
        return Guarded(r, [&] {
          return Limited(limiter, r, true, [&] { return HandleHistory(*svc, r); });
        });
      },
      json_body);
  router.Add(
      "POST", "/v1/issuance/sessions/{id}/cancel",
      [svc](const HttpRequest& r) { return Guarded(r, [&] { return HandleCancel(*svc, r); }); },
      json_body);
  router.Add(
      "POST", "/v1/issuance/sessions/{id}/commit",
      [svc](const HttpRequest& r) { return Guarded(r, [&] { return HandleCommit(*svc, r); }); },
      json_body);
  router.Add(
      "POST", "/v1/issuance/sessions/{id}/reveal",
      [svc](const HttpRequest& r) { return Guarded(r, [&] { return HandleReveal(*svc, r); }); },
      json_body);
}

}  // namespace realdid::authority
