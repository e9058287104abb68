// Public, cacheable documents: GET /.well-known/jwks.json (the blind-signing keys whose window has
// not ended, the escrow key and the issuance policy; docs/protocol.md 5.0), GET
// /.well-known/jwt-vc-issuer and GET /openapi.json (docs/openapi.json, embedded at build time).
// Nothing here depends on the caller: the answers are the same for everyone (Cache-Control public).
// Thread-safety: handlers are thread-safe.
#pragma once

#include <string>

#include "authority/router.h"
#include "core/json.h"
#include "issuance/clock.h"
#include "issuance/service.h"

namespace realdid::authority {

// The key-set document at time `now` (exposed for tests). revocation_list_jwk, when not null, is
// published as member "revocation" (the ES256 key that signs the revocation lists).
std::string JwksDocument(const issuance::Keys& keys, const issuance::Settings& settings,
                         std::int64_t now, const json::Value& revocation_list_jwk = json::Value());
// docs/openapi.json as embedded at build time.
std::string OpenApiDocument();

void AddWellKnownRoutes(Router& router, const issuance::Keys& keys,
                        const issuance::Settings& settings, const issuance::Clock& clock,
                        const json::Value& revocation_list_jwk = json::Value());

}  // namespace realdid::authority
