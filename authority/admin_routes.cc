#include "authority/admin_routes.h"

#include <algorithm>
#include <charconv>
#include <memory>

#include "authority/log.h"
#include "core/error.h"
#include "db/access_store.h"
#include "db/audit_store.h"

namespace realdid::authority {
namespace {

constexpr int kMaxPage = 1000;

Bytes AuditJson(json::Object members) {
  return ToBytes(json::Serialize(json::Value(std::move(members))));
}

HttpResponse Json(int status, json::Object obj) {
  return HttpResponse::Json(status, json::Serialize(json::Value(std::move(obj))));
}

// A reason code as stored in persons.lock_reason / strikes.reason: ^[a-z][a-z0-9_-]{0,63}$.
bool IsReasonCode(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

std::int64_t ParseId(std::string_view v, const char* what) {
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || v.size() > 19 || ec != std::errc() || ptr != v.data() + v.size() || out < 0 ||
      (v.size() > 1 && v[0] == '0')) {
    InvalidInput(std::string(what) + " must be a non-negative decimal integer");
  }
  return out;
}

// Query "after=N&limit=M" (both optional, nothing else).
void ParsePage(std::string_view query, std::int64_t& after, int& limit) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) InvalidInput("malformed query");
    std::string_view k = part.substr(0, eq);
    std::string_view v = part.substr(eq + 1);
    if (k == "after") {
      after = ParseId(v, "after");
    } else if (k == "limit") {
      std::int64_t l = ParseId(v, "limit");
      if (l < 1 || l > kMaxPage) InvalidInput("limit must be between 1 and 1000");
      limit = static_cast<int>(l);
    } else {
      InvalidInput("unknown query parameter");
    }
  }
}

HttpResponse Status(const AdminContext& ctx, const Principal& p) {
  const std::int64_t now = ctx.clock->Now();
  struct Counts {
    std::int64_t locked = 0;
    std::int64_t active = 0;
  };
  Counts c = ctx.pool->Run("admin_status", db::TxOptions{db::Isolation::kReadCommitted, true},
                           [&](db::Tx& tx) {
                             return Counts{db::CountLockedPersons(tx, now),
                                           db::CountActiveSessions(tx)};
                           });
  return Json(200, {{"version", ctx.version},
                    {"time", now},
                    {"principal",
                     json::Object{{"id", p.id}, {"role", std::string(RoleName(p.role))}}},
                    {"locked_persons", c.locked},
                    {"active_sessions", c.active}});
}

HttpResponse Lockouts(const AdminContext& ctx, const HttpRequest& req) {
  std::int64_t after = 0;
  int limit = 100;
  ParsePage(req.query, after, limit);
  const std::int64_t now = ctx.clock->Now();
  std::vector<db::LockoutRow> rows =
      ctx.pool->Run("admin_lockouts", db::TxOptions{db::Isolation::kReadCommitted, true},
                    [&](db::Tx& tx) { return db::LockedPersons(tx, now, after, limit); });
  json::Array out;
  for (const db::LockoutRow& r : rows) {
    out.emplace_back(json::Object{{"person_id", r.person_id},
                                  {"locked_until", r.locked_until},
                                  {"reason", r.reason},
                                  {"strikes", r.strikes}});
  }
  json::Object body{{"lockouts", json::Value(std::move(out))}};
  if (rows.size() == static_cast<std::size_t>(limit)) {
    body.emplace_back("next_after", rows.back().person_id);
  }
  return Json(200, std::move(body));
}

HttpResponse Release(const AdminContext& ctx, const HttpRequest& req, const Principal& p) {
  const std::int64_t person_id = ParseId(req.params.at("person_id"), "person_id");
  json::Value body = json::Parse(req.body);
  if (!body.is_object() || body.as_object().size() != 1 || body.find("reason") == nullptr ||
      !body.at("reason").is_string()) {
    InvalidInput("the body must be {\"reason\": \"<code>\"}");
  }
  const std::string reason = body.at("reason").as_string();
  if (!IsReasonCode(reason)) InvalidInput("reason must match ^[a-z][a-z0-9_-]{0,63}$");
  const std::int64_t now = ctx.clock->Now();
  std::optional<db::LockoutRow> released =
      ctx.pool->Run("admin_lockout_release", [&](db::Tx& tx) {
        std::optional<db::LockoutRow> r = db::ReleaseLockout(tx, person_id, now);
        if (!r) return r;
        json::Object content = PrincipalAuditMembers(p);
        content.emplace_back("person_id", person_id);
        content.emplace_back("was_locked_until", r->locked_until);
        content.emplace_back("lock_reason", r->reason);
        content.emplace_back("release_reason", reason);
        db::AppendAudit(tx, "lockout.released", AuditJson(std::move(content)));
        return r;
      });
  if (!released) Fail(ErrorKind::kNotFound, "no such locked person");
  LogInfo("lockout released", {{"person_id", person_id}, {"principal_id", p.id}});
  return Json(200, {{"person_id", person_id}, {"released", true}, {"reason", reason}});
}

}  // namespace

json::Object PrincipalAuditMembers(const Principal& principal) {
  return json::Object{{"principal_id", principal.id},
                      {"role", std::string(RoleName(principal.role))}};
}

Handler Privileged(db::Pool& pool, std::initializer_list<Role> allowed, PrivilegedHandler fn,
                   bool audit_request) {
  std::vector<Role> roles(allowed);
  db::Pool* pp = &pool;
  return [pp, roles = std::move(roles), fn = std::move(fn),
          audit_request](const HttpRequest& req) -> HttpResponse {
    // Authorize against every role first: a known principal with the wrong role is audited.
    Principal p;
    try {
      p = Authorize(*pp, req, {Role::kOperator, Role::kAuditor, Role::kAdministrator});
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kForbidden) {
        LogWarn("admin request refused", {{"route", req.route}, {"reason", "unknown_certificate"}});
      }
      throw;
    }
    const bool allowed_role = std::find(roles.begin(), roles.end(), p.role) != roles.end();
    if (!allowed_role || audit_request) {
      pp->Run("admin_audit", [&](db::Tx& tx) {
        json::Object content = PrincipalAuditMembers(p);
        content.emplace_back("method", req.method);
        content.emplace_back("route", req.route);
        db::AppendAudit(tx, allowed_role ? "admin.request" : "admin.denied",
                        AuditJson(std::move(content)));
      });
    }
    if (!allowed_role) {
      LogWarn("admin request refused",
              {{"route", req.route}, {"reason", "role"}, {"principal_id", p.id}});
      throw Error(ErrorKind::kForbidden, "not authorized");
    }
    return fn(req, p);
  };
}

void AddAdminRoutes(Router& router, const AdminContext& context) {
  if (context.pool == nullptr || context.clock == nullptr) {
    InvalidInput("admin routes: pool and clock are required");
  }
  auto ctx = std::make_shared<const AdminContext>(context);
  db::Pool& pool = *context.pool;
  router.Add("GET", "/v1/admin/status",
             Privileged(pool, {Role::kOperator, Role::kAuditor, Role::kAdministrator},
                        [ctx](const HttpRequest&, const Principal& p) { return Status(*ctx, p); }));
  router.Add("GET", "/v1/admin/lockouts",
             Privileged(pool, {Role::kOperator, Role::kAuditor},
                        [ctx](const HttpRequest& r, const Principal&) { return Lockouts(*ctx, r); }));
  RouteOptions json_body;
  json_body.consumes = "application/json";
  json_body.max_body_bytes = 4096;
  router.Add("POST", "/v1/admin/lockouts/{person_id}/release",
             Privileged(
                 pool, {Role::kOperator},
                 [ctx](const HttpRequest& r, const Principal& p) { return Release(*ctx, r, p); },
                 false),
             json_body);
}

}  // namespace realdid::authority
