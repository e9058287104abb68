// Principal administration for realdid-admin: checks a client certificate before it becomes a
// principal of the operator/auditor API, and adds / disables / lists rows of table principals
// (migration 0004) through the schema owner's connection.
//
// A certificate is refused when it is a CA (basicConstraints CA:TRUE, keyCertSign, or
// self-signed): the internal CA is not an operator role. It must be usable for TLS client
// authentication, and, when a CA is given, be issued by it (signature checked) and not be the CA
// itself. The fingerprint is SHA-256 of the DER encoding (authority/client_auth.h).
// Thread-safety: free functions. Errors: Error(kInvalidInput) naming the rule; DbError from the
// database (a duplicate certificate is kConflict).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::admin {

struct CertificateInfo {
  Bytes der;
  Bytes sha256;
  std::string subject;  // RFC 2253
};

// Parses one PEM certificate and applies the rules above. ca_pem may be empty (no issuer check).
CertificateInfo InspectClientCertificate(std::string_view cert_pem, std::string_view ca_pem);

struct PrincipalRow {
  std::int64_t id = 0;
  std::string subject;
  Bytes cert_sha256;
  std::string role;
  std::string created_at;
  std::optional<std::string> disabled_at;
};

// Inserts the principal; returns its id. role: operator | auditor | administrator.
std::int64_t AddPrincipal(db::Pool& owner_pool, const CertificateInfo& cert, std::string_view role);
// Disables the principal with this fingerprint; false when none is enabled.
bool DisablePrincipal(db::Pool& owner_pool, ByteView cert_sha256);
std::vector<PrincipalRow> ListPrincipals(db::Pool& pool);

}  // namespace realdid::admin
