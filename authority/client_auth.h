// Who may do what on the operator/auditor (mutual TLS) listeners: principals and their roles.
//
// A principal is one client certificate issued by the internal CA (scripts/pki.sh), identified by
// SHA-256 of its DER encoding, with exactly one role, stored in table `principals` (migration
// 0004_principals.sql). The TLS layer has already verified the certificate chain against the
// internal CA (require_client_cert); Authorize() then decides whether that certificate is a known,
// enabled principal whose role is in the set the endpoint allows. The internal CA's own certificate
// is never a principal (the tooling refuses a CA:TRUE certificate, and so does the table's owner
// tool); the CA is not an operator role.
//
// Thread-safety: free functions; Authorize uses the (thread-safe) pool.
// Security contract: the certificate, its hash and its subject never appear in an error detail or a
// log line written here; errors say only "client certificate required" / "not authorized".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "authority/router.h"
#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::authority {

enum class Role { kOperator, kAuditor, kAdministrator };

// "operator", "auditor", "administrator".
std::string_view RoleName(Role role) noexcept;
// Inverse of RoleName; nullopt for any other text.
std::optional<Role> ParseRole(std::string_view name) noexcept;

struct Principal {
  std::int64_t id = 0;
  std::string subject;  // the subject DN recorded when the principal was added (not identity data)
  Bytes cert_sha256;    // 32 bytes
  Role role = Role::kOperator;
};

// SHA-256 of the DER certificate (the principals.cert_sha256 key).
Bytes CertificateFingerprint(ByteView der);

// Looks up SHA-256(DER) of the verified client certificate (HttpRequest::peer_certificate_der) in
// table principals (migration 0004_principals.sql), not disabled. No certificate ->
// Error(kUnauthorized); unknown/disabled certificate or a role not in `allowed` -> Error(kForbidden).
// Never logs the certificate. A database failure propagates as its DbError (503).
Principal Authorize(db::Pool& pool, const HttpRequest& request, std::initializer_list<Role> allowed);

// Same lookup inside a caller's transaction (for handlers that authorize and act atomically).
Principal Authorize(db::Tx& tx, const HttpRequest& request, std::initializer_list<Role> allowed);

}  // namespace realdid::authority
