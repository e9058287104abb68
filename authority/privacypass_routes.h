// HTTP endpoints of Privacy Pass issuance (RFC 9578 token type 0x0002; docs/protocol.md 11) over
// privacypass::PrivacyPassIssuer.
//
//   POST <issuer-request-uri path> (default /v1/privacypass/token-request)
//        Content-Type application/private-token-request            -> application/private-token-response
//        Content-Type application/private-token-generic-batch-request
//                                             -> application/private-token-generic-batch-response
//        header RealDID-Attestation: presentation with no disclosures, KB-JWT nonce =
//        base64url(SHA-256(body)), aud = iss
//   GET  /.well-known/private-token-issuer-directory -> application/private-token-issuer-directory
//        with ETag, Cache-Control and 304 on If-None-Match
// Refusals (RFC 9457 problems): another media type 415; a malformed request, another token type, an
// unknown truncated key id, a blinded message of the wrong size or out of range 422 (RFC 9578 5.2,
// a whole batch at once); missing or invalid attestation 401; revoked credential 403; daily quota
// spent 429 with Retry-After (seconds to the next 00:00 UTC); a batch counts each token.
// With options.require_attestation = false the attestation and quota steps are skipped: only for a
// benchmark-only loopback listener, never the public one.
// Thread-safety: handlers are thread-safe (the issuer is).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authority/key_manifest.h"
#include "authority/router.h"
#include "issuance/service.h"
#include "privacypass/issuer.h"

namespace realdid::authority {

struct PrivacyPassRouteOptions {
  bool require_attestation = true;
  // The directory's issuer-request-uri as the request path alone (RFC 9578 4: a URL relative to
  // the directory's), so a client resolves it against the listener it asked: the bench listener.
  bool relative_request_uri = false;
};

// The "privacypass" keys of keys.json on the issuance token (RSA-2048 public JWK, nbf/exp).
// Empty when the manifest has none. Throws Error(kInvalidInput) on a malformed entry.
std::vector<privacypass::TokenKey> PrivacyPassKeysFromManifest(
    const std::vector<ManifestKey>& manifest, std::string_view issuance_token);
// The credential keys an attestation may be signed with: the issuance service's blind-signing keys.
std::vector<privacypass::CredentialKey> PrivacyPassCredentialKeys(const issuance::Keys& keys);

// The directory document and its ETag (exposed for tests).
std::string PrivacyPassDirectoryDocument(const privacypass::PrivacyPassIssuer& issuer,
                                        bool relative_request_uri = false);

void AddPrivacyPassRoutes(Router& router, privacypass::PrivacyPassIssuer& issuer,
                          PrivacyPassRouteOptions options = {});

}  // namespace realdid::authority
