// HTTP routes of revocation (docs/protocol.md 10, docs/openapi.json).
//
// Public listener:
//   GET  /v1/revocation/lists/{kid}                  signed full list (application/jwt)
//   GET  /v1/revocation/lists/{kid}/deltas/{since}   signed delta since version `since`
//   POST /v1/revocation/nonce                        {"nonce","expires_at"} for a holder proof
//   POST /v1/revocations                             holder revocation {"credential","proof"}
// Lists carry a strong ETag (the quoted base64url SHA-256 of the bytes), Cache-Control
// "public, max-age=N" with N = min(max_age_cap, next_update - now) (never past next_update), and
// answer 304 to a matching If-None-Match. The answers are the same for everyone.
// Admin (mTLS) listener, operator role only (authority/admin_routes.h Privileged):
//   POST /v1/admin/revocation/keys/{kid}             revokes the whole signing key
// Thread-safety: handlers are thread-safe (the service is).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authority/key_manifest.h"
#include "authority/router.h"
#include "core/json.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "issuance/clock.h"
#include "issuance/service.h"
#include "revocation/service.h"

namespace realdid::authority {

struct RevocationRoutesOptions {
  std::int64_t max_age_cap = 300;  // Cache-Control max-age ceiling (seconds)
};

// The revocation-list key of the manifest (role "revocation-list" on the issuance token) as
// published in the key set: {"kty","crv","x","y","kid","alg":"ES256","use":"sig"}; null if absent.
json::Value RevocationListJwk(const std::vector<ManifestKey>& manifest,
                              std::string_view issuance_token);
// The service over the manifest's revocation-list key and the issuer keys (nullptr and a warning
// log line when the manifest has no revocation-list key: a ceremony older than migration 0006).
std::unique_ptr<revocation::RevocationService> MakeRevocationService(
    const std::vector<ManifestKey>& manifest, std::string_view issuance_token,
    const issuance::Keys& keys, const std::string& iss, hsm::Token& token, db::Pool& pool,
    const issuance::Clock& clock);

// The strong ETag of a list body.
std::string RevocationEtag(const std::string& body);

void AddRevocationRoutes(Router& router, revocation::RevocationService& service,
                         const issuance::Clock& clock, RevocationRoutesOptions options = {});
void AddOperatorRevocationRoutes(Router& router, revocation::RevocationService& service,
                                 db::Pool& pool);

}  // namespace realdid::authority
