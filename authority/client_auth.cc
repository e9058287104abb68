#include "authority/client_auth.h"

#include <algorithm>

#include "core/error.h"
#include "core/hash.h"

namespace realdid::authority {
namespace {

constexpr const char* kLookupSql =
    "SELECT id, subject, role FROM principals WHERE cert_sha256 = $1 AND disabled_at IS NULL";

Principal Check(db::Tx& tx, const HttpRequest& request, std::initializer_list<Role> allowed) {
  if (request.peer_certificate_der.empty()) {
    throw Error(ErrorKind::kUnauthorized, "client certificate required");
  }
  Bytes fingerprint = CertificateFingerprint(request.peer_certificate_der);
  db::Result r = tx.Exec(kLookupSql, {ByteView(fingerprint)});
  if (r.empty()) throw Error(ErrorKind::kForbidden, "not authorized");
  db::Row row = r[0];
  std::optional<Role> role = ParseRole(row.GetString("role"));
  if (!role || std::find(allowed.begin(), allowed.end(), *role) == allowed.end()) {
    throw Error(ErrorKind::kForbidden, "not authorized");
  }
  Principal p;
  p.id = row.GetInt64("id");
  p.subject = row.GetString("subject");
  p.cert_sha256 = std::move(fingerprint);
  p.role = *role;
  return p;
}

}  // namespace

std::string_view RoleName(Role role) noexcept {
  switch (role) {
    case Role::kOperator:
      return "operator";
    case Role::kAuditor:
      return "auditor";
    case Role::kAdministrator:
      return "administrator";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) noexcept {
  for (Role r : {Role::kOperator, Role::kAuditor, Role::kAdministrator}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

Bytes CertificateFingerprint(ByteView der) { return hash::Sha256(der); }

Principal Authorize(db::Pool& pool, const HttpRequest& request,
                    std::initializer_list<Role> allowed) {
  if (request.peer_certificate_der.empty()) {
    throw Error(ErrorKind::kUnauthorized, "client certificate required");
  }
  return pool.Run("principal_lookup", db::TxOptions{db::Isolation::kReadCommitted, true},
                  [&](db::Tx& tx) { return Check(tx, request, allowed); });
}

Principal Authorize(db::Tx& tx, const HttpRequest& request, std::initializer_list<Role> allowed) {
  return Check(tx, request, allowed);
}

}  // namespace realdid::authority
