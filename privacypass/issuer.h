// PrivacyPassIssuer: the authority as Privacy Pass attester and issuer (RFC 9576 "joint attester
// and issuer" deployment) for RealDID holders, token type 0x0002 (RFC 9578). No HTTP here:
// authority/privacypass_routes.h parses the media types and maps the errors.
//
// Flow of one request (docs/protocol.md 11): ParseSingle/ParseBatch (strict wire format, key
// lookup by truncated key id among the keys whose window contains now, 1 < m < n - 1; all-or-
// nothing for a batch) -> Attest (the RealDID-Attestation header: a presentation of an unexpired
// RealDID credential under one of the authority's blind-signing keys, with NO disclosures and a
// KB-JWT whose aud is the authority's iss and whose nonce is base64url(SHA-256(request body))) ->
// Sign (in one transaction: revoked? -> 403; the credential's quota for the UTC day covers every
// token of the request? -> else 429; then the raw RSA operation in the HSM per token, which checks
// s^e mod n == m before anything is returned).
// The attestation step is separable: Sign(requests, nullptr) issues without attestation or quota;
// only the benchmark listener (never the public one) is wired that way.
//
// Security contract:
//  - The authority learns, per request: that some valid unrevoked credential asked for n tokens
//    today, and that credential's revocation id (needed for the quota and the revocation check).
//    It never sees a token's nonce, challenge or final signature (blind RSA), so a redeemed token
//    cannot be linked to its issuance, and no per-person identifier is stored with the quota.
//  - Quota rows hold the revocation id and the day only. Nothing about tokens is logged or audited.
//  - The token key is RSA-2048 used only for this (RFC 9474: one key per use), CKM_RSA_X_509 only.
// Errors: Error(kInvalidInput) malformed token request (422 at the edge), kUnauthorized missing or
// invalid attestation, kForbidden revoked credential, QuotaError (kRateLimited) quota spent,
// kUnavailable HSM/database trouble, kCryptoFailure a bad HSM result.
// Thread-safety: all public member functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/blind_rsa.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/jws.h"
#include "core/privacypass.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "issuance/clock.h"

namespace realdid::privacypass {

inline constexpr std::string_view kAttestationHeader = "RealDID-Attestation";

// One RSA-2048 token key in the HSM with its validity window [nbf, exp) (exp 0 = open-ended).
struct TokenKey {
  hsm::KeyRef ref;
  blind_rsa::PublicKey pk;
  Bytes spki;    // id-RSASSA-PSS SPKI (core/privacypass.h PssSpki)
  Bytes key_id;  // SHA-256(spki)
  std::int64_t nbf = 0;
  std::int64_t exp = 0;
};
TokenKey MakeTokenKey(hsm::KeyRef ref, const blind_rsa::PublicKey& pk, std::int64_t nbf,
                      std::int64_t exp);

// A RealDID blind-signing key the attestation's credential may be signed with.
struct CredentialKey {
  std::string kid;
  jws::PublicKey pk;
  std::int64_t exp = 0;  // window end: keys whose window ended no longer attest
};

struct IssuerSettings {
  std::string iss;                   // the authority's base URL: the KB-JWT aud
  std::string request_path = "/v1/privacypass/token-request";
  std::int64_t daily_quota = 100;    // tokens per credential per UTC day
  std::size_t max_batch = 100;       // token requests per batched request
  std::int64_t kb_max_age = 300;     // KB-JWT freshness (seconds)
};

// The quota is spent: retry after the next UTC midnight.
class QuotaError : public Error {
 public:
  QuotaError(const std::string& detail, std::int64_t retry_after_seconds)
      : Error(ErrorKind::kRateLimited, detail), retry_after_seconds_(retry_after_seconds) {}
  std::int64_t retry_after_seconds() const noexcept { return retry_after_seconds_; }

 private:
  std::int64_t retry_after_seconds_;
};

// A verified attestation: which credential asked (for quota and revocation) and nothing else.
struct Attestation {
  std::string kid;      // the credential's issuer key id
  Bytes revocation_id;  // SHA-256(jti || thumbprint(cnf))
};

// A parsed, checked token request and the key it names.
struct CheckedRequest {
  TokenRequest request;
  const TokenKey* key = nullptr;
};

class PrivacyPassIssuer {
 public:
  // References must outlive the issuer. Throws Error(kInvalidInput) when there is no token key,
  // a key is not RSA-2048/e=65537, two keys share a truncated key id, or a setting is out of range.
  PrivacyPassIssuer(IssuerSettings settings, std::vector<TokenKey> token_keys,
                    std::vector<CredentialKey> credential_keys, hsm::Token& token, db::Pool& pool,
                    const issuance::Clock& clock);

  const IssuerSettings& settings() const noexcept { return settings_; }
  // The directory at now: every key whose window has not ended, oldest not-before first.
  Directory CurrentDirectory() const;

  CheckedRequest ParseSingle(ByteView body) const;
  std::vector<CheckedRequest> ParseBatch(ByteView body) const;
  // Verifies the RealDID-Attestation header value against the request body.
  Attestation Attest(std::optional<std::string_view> header, ByteView body) const;
  // Revocation + quota (when attestation is given), then one blind signature per request, in
  // request order.
  std::vector<Bytes> Sign(const std::vector<CheckedRequest>& requests,
                          const Attestation* attestation);

 private:
  const TokenKey* KeyFor(std::uint8_t truncated_id, std::int64_t now) const;
  CheckedRequest Check(TokenRequest request, std::int64_t now) const;

  const IssuerSettings settings_;
  const std::vector<TokenKey> token_keys_;
  const std::vector<CredentialKey> credential_keys_;
  hsm::Token& token_;
  db::Pool& pool_;
  const issuance::Clock& clock_;
};

// Seconds from now to the next 00:00 UTC (1..86400).
std::int64_t SecondsToUtcMidnight(std::int64_t now);

}  // namespace realdid::privacypass
