// The operator/auditor API of the authority, served on its own mutually authenticated listener
// ([admin] in the configuration; docs/operations.md "operator API").
//
//   GET  /v1/admin/status                               operator, auditor, administrator
//   GET  /v1/admin/lockouts[?after=ID&limit=N]          operator, auditor
//   POST /v1/admin/lockouts/{person_id}/release         operator       {"reason":"<code>"}
//
// Every route is wrapped by Privileged(): Authorize() against table principals (401 without a
// client certificate, 403 for an unknown or disabled certificate or a role the route does not
// allow), then the handler. Audit (db/audit_store.h, canonical JSON, principal id and role, never
// the certificate or identity data): every authorized request appends `admin.request` (the
// privileged login is recorded per request: the HTTP layer cannot see connections), except
// routes that audit their own act in the same transaction (they pass audit_request = false and
// put PrincipalAuditMembers() into their row); a known principal refused for its role appends
// `admin.denied`. Other components add their operator routes to the same Router with
// Privileged(); their handlers receive the authorized Principal.
// Thread-safety: handlers are thread-safe (pool and clock are).
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "authority/client_auth.h"
#include "authority/router.h"
#include "core/json.h"
#include "db/pool.h"
#include "issuance/clock.h"

namespace realdid::authority {

using PrivilegedHandler = std::function<HttpResponse(const HttpRequest&, const Principal&)>;

// {"principal_id": id, "role": "<role>"}: the members every privileged audit row carries.
json::Object PrincipalAuditMembers(const Principal& principal);

// Wraps fn with authorization (and the admin.request audit row unless audit_request is false).
Handler Privileged(db::Pool& pool, std::initializer_list<Role> allowed, PrivilegedHandler fn,
                   bool audit_request = true);

struct AdminContext {
  db::Pool* pool = nullptr;                  // required; must outlive the router
  const issuance::Clock* clock = nullptr;    // required; must outlive the router
  std::string version;                       // service version for /v1/admin/status
};

void AddAdminRoutes(Router& router, const AdminContext& context);

}  // namespace realdid::authority
