#include "authority/health.h"

#include "authority/problem.h"
#include "core/json.h"

namespace realdid::authority {

void AddHealthRoutes(Router& router, ReadinessChecks& checks, Metrics* metrics) {
  router.Add("GET", "/healthz", [](const HttpRequest&) {
    return HttpResponse::Json(200, json::Serialize(json::Value(json::Object{{"status", "ok"}})));
  });
  router.Add("GET", "/readyz", [&checks, metrics](const HttpRequest& req) {
    ReadinessChecks::Result result = checks.Run();
    if (metrics != nullptr) metrics->SetReady(result.ready);
    if (result.ready) {
      json::Array names;
      for (const std::string& n : checks.names()) names.emplace_back(n);
      return HttpResponse::Json(
          200, json::Serialize(json::Value(
                   json::Object{{"status", "ready"}, {"checks", json::Value(std::move(names))}})));
    }
    std::string list;
    json::Array failed;
    for (const std::string& n : result.failed) {
      if (!list.empty()) list += ", ";
      list += n;
      failed.emplace_back(n);
    }
    Problem p = HttpProblem(503, "readiness checks failed: " + list);
    p.extensions.emplace_back("failed_checks", json::Value(std::move(failed)));
    return ProblemResponse(p, req.request_id);
  });
}

}  // namespace realdid::authority
