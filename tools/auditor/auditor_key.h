// The auditor's own approval key, in the auditor's own PKCS#11 token (a smart card or HSM in
// production, a SoftHSM2 token per auditor in tests).
//
// GenerateApprovalKey creates an ECDSA P-256 key pair: the private key CKA_TOKEN, CKA_PRIVATE,
// CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_SIGN only, CKA_ALLOWED_MECHANISMS = CKM_ECDSA only; CKA_ID
// = its RFC 7638 thumbprint. It refuses to create a second key under the same label. It returns the
// public JWK, which is what the roster records. SignApproval signs ApprovalMessage(kind, hash)
// (warrant/content.h) with that key through hsm::Token (SHA-256 on the host, CKM_ECDSA in the
// token) and checks the signature against the public key before returning it.
// Security contract: the private key never leaves the token; the PIN is a Secret.
// Thread-safety: single-threaded tool code.
#pragma once

#include <string>

#include "core/bytes.h"
#include "core/json.h"
#include "warrant/content.h"

namespace realdid::auditor {

inline constexpr const char* kDefaultKeyLabel = "realdid-auditor-p256";

struct TokenOptions {
  std::string module_path = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token_label;
  Secret pin;
  std::string key_label = kDefaultKeyLabel;
};

json::Value GenerateApprovalKey(const TokenOptions& o);
json::Value ApprovalPublicKey(const TokenOptions& o);
Bytes SignApproval(const TokenOptions& o, warrant::ApprovalKind kind, ByteView content_hash);

}  // namespace realdid::auditor
