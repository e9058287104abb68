// Liveness and readiness endpoints.
//
// GET /healthz  -> 200 {"status":"ok"} while the process serves requests.
// GET /readyz   -> runs every ReadinessChecks probe; 200 {"status":"ready","checks":[...]} when all
//                  pass, else a 503 problem document whose "failed_checks" names the failed checks
//                  (names only: no error text, no secrets). Updates the realdid_ready gauge.
// Thread-safety: the handlers are thread-safe; checks and metrics must outlive the router.
#pragma once

#include "authority/metrics.h"
#include "authority/readiness.h"
#include "authority/router.h"

namespace realdid::authority {

void AddHealthRoutes(Router& router, ReadinessChecks& checks, Metrics* metrics);

}  // namespace realdid::authority
