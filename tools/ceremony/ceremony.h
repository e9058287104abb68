// The key ceremony: creates the authority's keys inside the HSM tokens and writes only their public
// parts to a manifest (keys.json). Separate from the service: the service never creates keys.
//
// Issuance token: blind-signing RSA (CKM_RSA_X_509 only), ID-lookup HMAC-SHA256 generic secret
// (CKM_SHA256_HMAC only), audit ECDSA P-256 (CKM_ECDSA only), data-wrapping AES-256 (CKM_AES_GCM
// only), revocation-list ECDSA P-256 (CKM_ECDSA only). Escrow token: escrow P-256
// (CKM_ECDH1_DERIVE only).
// Security contract: every private/secret key is CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not
// CKA_EXTRACTABLE, with exactly one allowed mechanism; this is read back and checked after creation.
// The run is all-or-nothing: every object it created is destroyed again if any step fails.
// Key ids: RSA/EC keys use the RFC 7638 thumbprint (CKA_ID = 32-byte digest, kid = base64url);
// secret keys use 16 random bytes (CKA_ID) and kid = their hex.
// Existing keys with the same labels make the run fail unless `force` (destroy and recreate).
// Thread-safety: single-threaded tool code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"

namespace realdid::ceremony {

struct Options {
  std::string module_path = "/usr/lib/softhsm/libsofthsm2.so";
  std::string issuance_token;
  Secret issuance_pin;
  std::string escrow_token;
  Secret escrow_pin;
  std::filesystem::path out_dir;
  int rsa_bits = 3072;
  bool force = false;
  // Validity window of the blind-signing key: nbf = now, exp = nbf + valid_days days (1..3650).
  int valid_days = 365;
  std::int64_t now = 0;  // Unix seconds; 0 = the system clock
};

struct KeyRecord {
  std::string role;    // blind-signing, id-lookup-hmac, audit-signing, data-wrapping,
                       // revocation-list, escrow,
                       // privacypass
  std::string token;   // token label
  std::string label;   // CKA_LABEL
  std::string kid;
  Bytes cka_id;
  std::string alg;
  json::Value jwk;     // public JWK, null for secret keys
  std::int64_t nbf = 0;  // validity window (blind-signing and privacypass keys; 0 = none)
  std::int64_t exp = 0;
};

// Fixed CKA_LABELs.
std::string BlindRsaLabel(int bits);  // realdid-blind-rsa<bits>
inline constexpr const char* kHmacLabel = "realdid-hmac";
inline constexpr const char* kAuditLabel = "realdid-audit-p256";
inline constexpr const char* kDataKeyLabel = "realdid-data-aes256";
inline constexpr const char* kEscrowLabel = "realdid-escrow-p256";
// Signs the per-key revocation lists (role "revocation-list", ES256, CKM_ECDSA only).
inline constexpr const char* kRevocationLabel = "realdid-revocation-p256";
// Privacy Pass token type 0x0002 (role "privacypass", RSA-2048, CKM_RSA_X_509 only, nbf/exp window).
inline constexpr const char* kPrivacyPassLabel = "realdid-pp-rsa2048";

// Runs the ceremony and writes <out_dir>/keys.json. Throws realdid::Error; kConflict when keys
// already exist and !force.
std::vector<KeyRecord> Run(const Options& options);

// One more blind-signing RSA key (label BlindRsaLabel(bits), CKA_ID = its thumbprint) on the
// issuance token, for key rotation (tools/ceremony/rotate.h). commit(record) runs before the key is
// kept: if it throws, the key is destroyed again and the exception propagates.
KeyRecord CreateBlindSigningKey(const std::string& module_path, const std::string& token,
                                 const Secret& pin, int bits,
                                 const std::function<void(const KeyRecord&)>& commit);

// The manifest document: {"version":1,"keys":[{role,token,label,kid,cka_id,alg,jwk?,nbf?,exp?}...]}
// (nbf/exp, Unix seconds, for the blind-signing key).
json::Value Manifest(const std::vector<KeyRecord>& keys);

}  // namespace realdid::ceremony
