#include "authority/privacypass_routes.h"

#include <algorithm>
#include <cctype>

#include "authority/problem.h"
#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jwk.h"

namespace realdid::authority {

namespace {

std::string MediaTypeOf(const HttpRequest& req) {
  std::string v = req.Header("Content-Type").value_or("");
  const std::size_t semi = v.find(';');
  if (semi != std::string::npos) v.resize(semi);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
  std::transform(v.begin(), v.end(), v.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return v;
}

HttpResponse Unprocessable(const HttpRequest& req, std::string_view detail) {
  return ProblemResponse(HttpProblem(422, std::string(detail)), req.request_id);
}

std::string ETagOf(std::string_view body) {
  const Bytes h = hash::Sha256(body);
  return "\"" + b64url::Encode(ByteView(h).subspan(0, 16)) + "\"";
}

bool IfNoneMatchHits(const HttpRequest& req, const std::string& etag) {
  const std::optional<std::string> inm = req.Header("If-None-Match");
  if (!inm) return false;
  if (*inm == "*") return true;
  // A list of entity tags; weak comparison (W/ prefix ignored).
  std::size_t pos = 0;
  while (pos < inm->size()) {
    std::size_t comma = inm->find(',', pos);
    if (comma == std::string::npos) comma = inm->size();
    std::string tag = inm->substr(pos, comma - pos);
    while (!tag.empty() && tag.front() == ' ') tag.erase(tag.begin());
    while (!tag.empty() && tag.back() == ' ') tag.pop_back();
    if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
    if (tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::vector<privacypass::TokenKey> PrivacyPassKeysFromManifest(
    const std::vector<ManifestKey>& manifest, std::string_view issuance_token) {
  std::vector<privacypass::TokenKey> out;
  for (const ManifestKey& k : manifest) {
    if (k.role != "privacypass" || k.token != issuance_token) continue;
    if (!k.jwk.is_object() || !k.nbf) {
      InvalidInput("keys.json: privacypass key '" + k.label + "' lacks its public JWK or nbf");
    }
    const blind_rsa::PublicKey pk = blind_rsa::PublicKey::FromComponents(
        b64url::Decode(k.jwk.at("n").as_string()), b64url::Decode(k.jwk.at("e").as_string()));
    out.push_back(privacypass::MakeTokenKey(hsm::KeyRef{k.label, k.cka_id}, pk, *k.nbf,
                                            k.exp.value_or(0)));
  }
  return out;
}

std::vector<privacypass::CredentialKey> PrivacyPassCredentialKeys(const issuance::Keys& keys) {
  std::vector<privacypass::CredentialKey> out;
  for (const issuance::SigningKey& k : keys.signing) {
    out.push_back({k.kid, jws::PublicKey::Rsa(k.pk.n(), k.pk.e()), k.exp});
  }
  return out;
}

std::string PrivacyPassDirectoryDocument(const privacypass::PrivacyPassIssuer& issuer,
                                        bool relative_request_uri) {
  privacypass::Directory d = issuer.CurrentDirectory();
  if (relative_request_uri) d.issuer_request_uri = issuer.settings().request_path;
  return privacypass::DirectoryJson(d);
}

void AddPrivacyPassRoutes(Router& router, privacypass::PrivacyPassIssuer& issuer,
                          PrivacyPassRouteOptions options) {
  privacypass::PrivacyPassIssuer* pp = &issuer;
  RouteOptions post;
  // Bodies: one request (259 bytes) or a batch (varint + max_batch requests).
  post.max_body_bytes = 8 + privacypass::kTokenRequestSize * issuer.settings().max_batch;
  router.Add(
      "POST", issuer.settings().request_path,
      [pp, options](const HttpRequest& req) {
        const std::string type = MediaTypeOf(req);
        const bool batch = type == privacypass::kMediaBatchRequest;
        if (!batch && type != privacypass::kMediaTokenRequest) {
          return ProblemResponse(
              HttpProblem(415, "expected Content-Type " +
                                   std::string(privacypass::kMediaTokenRequest) + " or " +
                                   std::string(privacypass::kMediaBatchRequest)),
              req.request_id);
        }
        const ByteView body = AsBytes(req.body);
        std::vector<privacypass::CheckedRequest> requests;
        try {
          if (batch) {
            requests = pp->ParseBatch(body);
          } else {
            requests.push_back(pp->ParseSingle(body));
          }
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::kInvalidInput) throw;
          return Unprocessable(req, e.detail());
        }
        std::optional<privacypass::Attestation> attestation;
        if (options.require_attestation) {
          const std::optional<std::string> header = req.Header(privacypass::kAttestationHeader);
          attestation = pp->Attest(header ? std::optional<std::string_view>(*header)
                                          : std::nullopt,
                                   body);
        }
        std::vector<Bytes> sigs;
        try {
          sigs = pp->Sign(requests, attestation ? &*attestation : nullptr);
        } catch (const privacypass::QuotaError& e) {
          HttpResponse r = ProblemResponse(ProblemFromError(e, req.request_id), req.request_id);
          r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_seconds()));
          return r;
        }
        HttpResponse r;
        r.status = 200;
        if (batch) {
          std::vector<std::optional<Bytes>> present(sigs.begin(), sigs.end());
          r.content_type = std::string(privacypass::kMediaBatchResponse);
          r.body = ToString(privacypass::SerializeBatchResponse(present));
        } else {
          r.content_type = std::string(privacypass::kMediaTokenResponse);
          r.body = ToString(sigs.front());
        }
        return r;
      },
      post);

  RouteOptions cacheable;
  cacheable.cacheable = true;
  router.Add(
      "GET", std::string(privacypass::kDirectoryPath),
      [pp, options](const HttpRequest& req) {
        const std::string doc = PrivacyPassDirectoryDocument(*pp, options.relative_request_uri);
        const std::string etag = ETagOf(doc);
        HttpResponse r;
        if (IfNoneMatchHits(req, etag)) {
          r.status = 304;
          r.content_type = std::string(privacypass::kMediaDirectory);
        } else {
          r.status = 200;
          r.content_type = std::string(privacypass::kMediaDirectory);
          r.body = doc;
        }
        r.headers.emplace_back("ETag", etag);
        r.headers.emplace_back("Cache-Control", "public, max-age=300, must-revalidate");
        return r;
      },
      cacheable);
}

}  // namespace realdid::authority
