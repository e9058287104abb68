#include "privacypass/issuer.h"

#include <algorithm>
#include <utility>

#include "core/base64url.h"
#include "core/credential.h"
#include "core/hash.h"
#include "core/sdjwt.h"
#include "db/privacypass_store.h"
#include "db/revocation_store.h"

namespace realdid::privacypass {

namespace {

bool InWindow(const TokenKey& k, std::int64_t now) {
  return k.nbf <= now && (k.exp == 0 || now < k.exp);
}

bool Overlap(const TokenKey& a, const TokenKey& b) {
  const std::int64_t a_end = a.exp == 0 ? INT64_MAX : a.exp;
  const std::int64_t b_end = b.exp == 0 ? INT64_MAX : b.exp;
  return a.nbf < b_end && b.nbf < a_end;
}

}  // namespace

TokenKey MakeTokenKey(hsm::KeyRef ref, const blind_rsa::PublicKey& pk, std::int64_t nbf,
                      std::int64_t exp) {
  TokenKey k{std::move(ref), pk, PssSpki(pk), {}, nbf, exp};
  k.key_id = TokenKeyId(k.spki);
  return k;
}

std::int64_t SecondsToUtcMidnight(std::int64_t now) { return 86400 - (now % 86400); }

PrivacyPassIssuer::PrivacyPassIssuer(IssuerSettings settings, std::vector<TokenKey> token_keys,
                                     std::vector<CredentialKey> credential_keys,
                                     hsm::Token& token, db::Pool& pool,
                                     const issuance::Clock& clock)
    : settings_(std::move(settings)),
      token_keys_(std::move(token_keys)),
      credential_keys_(std::move(credential_keys)),
      token_(token),
      pool_(pool),
      clock_(clock) {
  if (settings_.iss.empty()) InvalidInput("privacypass: iss is required");
  if (settings_.daily_quota < 1 || settings_.max_batch < 1 || settings_.kb_max_age < 1) {
    InvalidInput("privacypass: daily_quota, max_batch and kb_max_age must be positive");
  }
  if (token_keys_.empty()) InvalidInput("privacypass: no token key");
  for (std::size_t i = 0; i < token_keys_.size(); ++i) {
    const TokenKey& a = token_keys_[i];
    if (a.pk.modulus_bits() != 2048 || a.spki != PssSpki(a.pk) || a.key_id != TokenKeyId(a.spki)) {
      InvalidInput("privacypass: token keys must be RSA-2048 with e = 65537");
    }
    for (std::size_t j = i + 1; j < token_keys_.size(); ++j) {
      const TokenKey& b = token_keys_[j];
      if (a.key_id.back() == b.key_id.back() && Overlap(a, b)) {
        InvalidInput("privacypass: two token keys with overlapping windows share a truncated key id");
      }
    }
  }
}

Directory PrivacyPassIssuer::CurrentDirectory() const {
  const std::int64_t now = clock_.Now();
  std::vector<const TokenKey*> keys;
  for (const TokenKey& k : token_keys_) {
    if (k.exp == 0 || now < k.exp) keys.push_back(&k);
  }
  std::stable_sort(keys.begin(), keys.end(),
                   [](const TokenKey* a, const TokenKey* b) { return a->nbf < b->nbf; });
  Directory d;
  d.issuer_request_uri = settings_.iss + settings_.request_path;
  for (const TokenKey* k : keys) d.keys.push_back({k->spki, k->nbf});
  return d;
}

const TokenKey* PrivacyPassIssuer::KeyFor(std::uint8_t truncated_id, std::int64_t now) const {
  for (const TokenKey& k : token_keys_) {
    if (k.key_id.back() == truncated_id && InWindow(k, now)) return &k;
  }
  return nullptr;
}

CheckedRequest PrivacyPassIssuer::Check(TokenRequest request, std::int64_t now) const {
  const TokenKey* key = KeyFor(request.truncated_token_key_id, now);
  if (key == nullptr) {
    InvalidInput("TokenRequest: truncated_token_key_id names no current token key");
  }
  CheckTokenRequest(request, key->pk, key->key_id);
  return CheckedRequest{std::move(request), key};
}

CheckedRequest PrivacyPassIssuer::ParseSingle(ByteView body) const {
  return Check(TokenRequest::Parse(body), clock_.Now());
}

std::vector<CheckedRequest> PrivacyPassIssuer::ParseBatch(ByteView body) const {
  const std::int64_t now = clock_.Now();
  std::vector<CheckedRequest> out;
  for (TokenRequest& r : ParseBatchRequest(body, settings_.max_batch)) {
    out.push_back(Check(std::move(r), now));
  }
  return out;
}

Attestation PrivacyPassIssuer::Attest(std::optional<std::string_view> header,
                                      ByteView body) const {
  if (!header || header->empty()) {
    Fail(ErrorKind::kUnauthorized, "the RealDID-Attestation header is required");
  }
  if (header->size() > 16384) Fail(ErrorKind::kUnauthorized, "attestation too large");
  const std::int64_t now = clock_.Now();
  sdjwt::VerifyOptions o;
  o.issuer_keys = [this, now](std::string_view kid) -> std::optional<jws::PublicKey> {
    for (const CredentialKey& k : credential_keys_) {
      if (k.kid == kid && now < k.exp) return k.pk;
    }
    return std::nullopt;
  };
  o.now = now;
  o.audience = settings_.iss;
  o.nonce = b64url::Encode(hash::Sha256(body));
  o.kb_max_age = settings_.kb_max_age;
  try {
    credential::VerifiedPresentation v = credential::VerifyPresentation(*header, o);
    if (!v.parsed.disclosures.empty()) {
      Fail(ErrorKind::kUnauthorized, "the attestation must disclose no claim");
    }
    return Attestation{v.parsed.kid, credential::RevocationId(v.parsed)};
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInvalidInput && e.kind() != ErrorKind::kCryptoFailure) throw;
    Fail(ErrorKind::kUnauthorized, "invalid attestation: " + std::string(e.detail()));
  }
}

std::vector<Bytes> PrivacyPassIssuer::Sign(const std::vector<CheckedRequest>& requests,
                                           const Attestation* attestation) {
  if (requests.empty()) InvalidInput("no token request");
  if (attestation != nullptr) {
    const std::int64_t now = clock_.Now();
    const std::int64_t day = now / 86400;
    const auto n = static_cast<std::int64_t>(requests.size());
    struct Outcome {
      bool revoked = false;
      bool spent = false;
    };
    const Outcome o = pool_.Run("privacypass_quota", [&](db::Tx& tx) {
      Outcome out;
      if (db::IsRevoked(tx, attestation->kid, attestation->revocation_id)) {
        out.revoked = true;
        return out;
      }
      out.spent = !db::ConsumePrivacyPassQuota(tx, attestation->revocation_id, day, n,
                                               settings_.daily_quota)
                       .has_value();
      return out;
    });
    if (o.revoked) Fail(ErrorKind::kForbidden, "the attesting credential is revoked");
    if (o.spent) {
      throw QuotaError("the daily token quota of this credential (" +
                           std::to_string(settings_.daily_quota) + ") does not cover " +
                           std::to_string(n) + " more token(s) today",
                       SecondsToUtcMidnight(now));
    }
  }
  std::vector<Bytes> sigs;
  sigs.reserve(requests.size());
  for (const CheckedRequest& r : requests) {
    // RsaRawPrivate checks s^e mod n == m on the host before returning.
    sigs.push_back(token_.RsaRawPrivate(r.key->ref, r.request.blinded_msg));
  }
  return sigs;
}

}  // namespace realdid::privacypass
