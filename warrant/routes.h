// The warrant component's HTTP routes (mutual TLS listener only; docs/openapi-warrant section of
// docs/operations.md and docs/protocol.md section 9 list them):
//   POST /v1/warrants                          file          {legal_basis, case_reference, scope,
//                                                             action, expires_at}
//   GET  /v1/warrants/{id}                     show
//   POST /v1/warrants/{id}/approvals           approve       {signature}
//   POST /v1/warrants/{id}/withdraw            withdraw      {}
//   POST /v1/warrants/{id}/execute             execute       {credential} | {}
//   GET  /v1/roster                            roster
//   POST /v1/roster/changes                    propose       {op, ...}
//   GET  /v1/roster/changes/{id}               show change
//   POST /v1/roster/changes/{id}/approvals     approve change {signature}
// Every route first calls authority::Authorize (401 without a client certificate, 403 for an
// unknown certificate or a role other than auditor), then the service checks the roster.
// Thread-safety: routes are registered before serving.
#pragma once

#include "authority/router.h"
#include "db/pool.h"
#include "warrant/service.h"

namespace realdid::warrant {

void AddWarrantRoutes(authority::Router& router, WarrantService& service, db::Pool& pool);

}  // namespace realdid::warrant
