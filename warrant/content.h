// Warrant and roster-change documents: their one canonical JSON form (what approvals sign), the
// approval message, and the strict parsers of every request body the warrant listener accepts.
//
// Warrant content (canonical JSON per core/json.h, members in this order; docs/protocol.md 9):
//   {"v":1,"kind":"warrant","author":<auditor id>,"legal_basis":<1..1024 chars>,
//    "case_reference":<1..256 chars>,"scope":{"credential_sha256":<b64url 32>} | {"person_id":<int>},
//    "action":"resolve"|"revoke","filed_at_us":<int>,"expires_at":<int>,"nonce":<b64url 16>}
// Roster change content:
//   {"v":1,"kind":"roster_change","op":"add","label":<label>,"cert_sha256":<b64url 32>,
//    "public_jwk":{"kty":"EC","crv":"P-256","x":..,"y":..},"proposed_at_us":<int>,
//    "expires_at":<int>,"nonce":<b64url 16>}
//   or the same with "op":"remove","auditor_id":<int> instead of label/cert_sha256/public_jwk.
// content_hash = SHA-256(ASCII content). An approval is ES256 (raw r || s, 64 bytes) by the
// auditor's own P-256 key over ApprovalMessage(kind, content_hash) =
//   "realdid/v1/approve/warrant:" || content_hash   or   "realdid/v1/approve/roster:" || hash.
// The credential scope hash is SHA-256 of the credential's issuer-signed JWT (the
// `<header>.<payload>.<signature>` part, ASCII), so it is the same for the issued form and for
// every presentation of that credential.
//
// Security contract: every parser refuses unknown, missing, repeated or mistyped members, non-
// canonical base64url and out-of-range values with Error(kInvalidInput); the content parsers also
// refuse non-canonical JSON (a document is accepted only if it re-serializes to the same bytes), so
// the hash an auditor's tool recomputes is the hash the component verifies.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"

namespace realdid::warrant {

inline constexpr std::size_t kHashLen = 32;
inline constexpr std::size_t kNonceLen = 16;
inline constexpr std::size_t kSignatureLen = 64;
inline constexpr std::size_t kMaxLegalBasis = 1024;
inline constexpr std::size_t kMaxCaseReference = 256;
inline constexpr std::size_t kMaxCredential = 16 * 1024;

enum class Action { kResolve, kRevoke };
std::string_view ActionName(Action a) noexcept;

struct Scope {
  std::optional<Bytes> credential_sha256;  // 32 bytes, or
  std::optional<std::int64_t> person_id;   // > 0
  bool is_credential() const noexcept { return credential_sha256.has_value(); }
};

// What an auditor asks to file (POST /v1/warrants).
struct FileRequest {
  std::string legal_basis;
  std::string case_reference;
  Scope scope;
  Action action = Action::kResolve;
  std::int64_t expires_at = 0;  // Unix seconds
};

struct WarrantContent {
  std::int64_t author = 0;  // auditors.id
  std::string legal_basis;
  std::string case_reference;
  Scope scope;
  Action action = Action::kResolve;
  std::int64_t filed_at_us = 0;  // Unix microseconds (database clock)
  std::int64_t expires_at = 0;   // Unix seconds
  Bytes nonce;                   // 16
};

enum class RosterOp { kAdd, kRemove };

// What is proposed (POST /v1/roster/changes).
struct RosterChangeRequest {
  RosterOp op = RosterOp::kAdd;
  std::string label;             // add
  Bytes cert_sha256;             // add: 32 bytes
  json::Value public_jwk;        // add: EC P-256 public JWK (kty, crv, x, y only)
  std::int64_t auditor_id = 0;   // remove
  std::int64_t expires_at = 0;
};

struct RosterChangeContent {
  RosterChangeRequest change;
  std::int64_t proposed_at_us = 0;
  Bytes nonce;
};

// A genesis roster entry (realdid-warrant --genesis-roster FILE):
// {"v":1,"auditors":[{"label":..,"cert_sha256":<b64url 32>,"public_jwk":{EC P-256}}, ...]}
struct GenesisAuditor {
  std::string label;
  Bytes cert_sha256;
  json::Value public_jwk;
};

// ---- canonical documents ----
std::string SerializeWarrant(const WarrantContent& c);
WarrantContent ParseWarrant(std::string_view canonical);  // strict + canonical
std::string SerializeRosterChange(const RosterChangeContent& c);
RosterChangeContent ParseRosterChange(std::string_view canonical);  // strict + canonical

Bytes ContentHash(std::string_view content);  // SHA-256
enum class ApprovalKind { kWarrant, kRoster };
Bytes ApprovalMessage(ApprovalKind kind, ByteView content_hash);
// Verifies an ES256 approval against a P-256 public JWK. False on a bad signature or key.
bool VerifyApproval(const json::Value& public_jwk, ApprovalKind kind, ByteView content_hash,
                    ByteView signature);

// ---- request bodies ----
FileRequest ParseFileRequest(std::string_view body);
Bytes ParseApprovalRequest(std::string_view body);  // {"signature":<b64url 64>}
// {"credential":<SD-JWT string>} for credential scope, {} for person scope.
std::optional<std::string> ParseExecuteRequest(std::string_view body);
RosterChangeRequest ParseRosterChangeRequest(std::string_view body);
std::vector<GenesisAuditor> ParseGenesisRoster(std::string_view text);

// Checks a label, an EC P-256 public JWK (exactly kty, crv, x, y; a point on the curve) and
// returns the JWK in canonical member order. Throws kInvalidInput.
void CheckLabel(std::string_view label);
json::Value CanonicalP256Jwk(const json::Value& jwk);

}  // namespace realdid::warrant
