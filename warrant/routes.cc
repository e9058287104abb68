#include "warrant/routes.h"

#include <charconv>

#include "authority/client_auth.h"
#include "authority/log.h"
#include "core/base64url.h"
#include "core/error.h"
#include "core/json.h"

namespace realdid::warrant {
namespace {

using authority::HttpRequest;
using authority::HttpResponse;
using authority::Role;

authority::RouteOptions JsonBody() {
  authority::RouteOptions o;
  o.consumes = "application/json";
  o.max_body_bytes = std::size_t{64} * 1024;
  return o;
}

std::int64_t IdParam(const HttpRequest& req) {
  const std::string& s = req.params.at("id");
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || s.size() > 18 || ec != std::errc() || ptr != s.data() + s.size() || v <= 0 ||
      s[0] == '0') {
    throw Error(ErrorKind::kNotFound, "no such object");
  }
  return v;
}

Bytes Caller(db::Pool& pool, const HttpRequest& req) {
  return authority::Authorize(pool, req, {Role::kAuditor}).cert_sha256;
}

HttpResponse Json(int status, const json::Value& v) {
  return HttpResponse::Json(status, json::Serialize(v));
}

json::Value WarrantJson(const WarrantView& w) {
  json::Value v = json::Object{};
  v.set("id", w.id);
  v.set("content", w.content);
  v.set("content_hash", b64url::Encode(w.content_hash));
  v.set("state", w.state);
  v.set("author", w.author);
  v.set("approvals_valid", w.approvals_valid);
  v.set("approvals_required", w.approvals_required);
  json::Array a;
  for (std::int64_t id : w.approvers) a.emplace_back(id);
  v.set("approvers", std::move(a));
  return v;
}

json::Value ChangeJson(const ChangeView& c) {
  json::Value v = json::Object{};
  v.set("id", c.id);
  v.set("content", c.content);
  v.set("content_hash", b64url::Encode(c.content_hash));
  v.set("state", c.state);
  v.set("approvals_valid", c.approvals_valid);
  v.set("approvals_required", c.approvals_required);
  if (c.applied_auditor_id) v.set("auditor_id", *c.applied_auditor_id);
  return v;
}

}  // namespace

void AddWarrantRoutes(authority::Router& router, WarrantService& service, db::Pool& pool) {
  router.Add("POST", "/v1/warrants", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    FileRequest r = ParseFileRequest(req.body);
    WarrantView w = service.File(me, r);
    authority::LogInfo("warrant filed", {{"request_id", req.request_id}, {"warrant_id", w.id}});
    return Json(201, WarrantJson(w));
  }, JsonBody());
  router.Add("GET", "/v1/warrants/{id}", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    return Json(200, WarrantJson(service.Get(me, IdParam(req))));
  });
  router.Add("POST", "/v1/warrants/{id}/approvals", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    std::int64_t id = IdParam(req);
    Bytes sig = ParseApprovalRequest(req.body);
    WarrantView w = service.Approve(me, id, sig);
    authority::LogInfo("warrant approved", {{"request_id", req.request_id}, {"warrant_id", id},
                                            {"approvals_valid", w.approvals_valid}});
    return Json(201, WarrantJson(w));
  }, JsonBody());
  router.Add("POST", "/v1/warrants/{id}/withdraw", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    std::int64_t id = IdParam(req);
    json::Value body = json::Parse(req.body.empty() ? "{}" : req.body);
    if (!body.is_object() || !body.as_object().empty()) InvalidInput("withdraw: body must be {}");
    WarrantView w = service.Withdraw(me, id);
    authority::LogInfo("warrant withdrawn", {{"request_id", req.request_id}, {"warrant_id", id}});
    return Json(200, WarrantJson(w));
  }, JsonBody());
  router.Add("POST", "/v1/warrants/{id}/execute", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    std::int64_t id = IdParam(req);
    std::optional<std::string> credential = ParseExecuteRequest(req.body);
    ExecutionResult r = service.Execute(me, id, credential);
    // Logged: the outcome kind only; never the identity, never a revocation id.
    authority::LogInfo("warrant executed",
                       {{"request_id", req.request_id}, {"warrant_id", id},
                        {"outcome", r.outcome == "resolved" || r.outcome == "listed" ? r.outcome
                                                                                     : "cheat"},
                        {"audit_seq", r.audit_seq}});
    json::Value v = json::Object{};
    v.set("warrant_id", id);
    v.set("outcome", r.outcome);
    if (!r.reason.empty()) v.set("reason", r.reason);
    if (r.person_id) v.set("person_id", *r.person_id);
    if (r.outcome == "resolved") {
      json::Value who = json::Object{};
      who.set("name", std::string(r.name.reveal_string()));
      who.set("id_number", std::string(r.id_number.reveal_string()));
      v.set("identity", std::move(who));
    }
    if (r.outcome == "listed") {
      json::Array list;
      for (const CredentialEntry& e : r.credentials) {
        json::Value c = json::Object{};
        c.set("kid", e.kid);
        c.set("revocation_id", b64url::Encode(e.revocation_id));
        c.set("holder_thumbprint", b64url::Encode(e.holder_thumbprint));
        list.push_back(std::move(c));
      }
      v.set("credentials", std::move(list));
      v.set("unreadable_traces", static_cast<std::int64_t>(r.unreadable_traces));
      v.set("newly_revoked", static_cast<std::int64_t>(r.newly_revoked));
    }
    v.set("audit_seq", r.audit_seq);
    return Json(200, v);
  }, JsonBody());
  router.Add("GET", "/v1/roster", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    json::Array list;
    for (const AuditorView& a : service.Roster(me)) {
      json::Value e = json::Object{};
      e.set("id", a.id);
      e.set("label", a.label);
      e.set("cert_sha256", b64url::Encode(a.cert_sha256));
      e.set("public_jwk", json::Parse(a.public_jwk));
      e.set("key_kid", a.key_kid);
      e.set("enrolled_at_us", a.enrolled_at_us);
      e.set("enrolled_by", a.enrolled_by);
      e.set("active", a.active);
      list.push_back(std::move(e));
    }
    json::Value v = json::Object{};
    v.set("auditors", std::move(list));
    return Json(200, v);
  });
  router.Add("POST", "/v1/roster/changes", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    RosterChangeRequest r = ParseRosterChangeRequest(req.body);
    ChangeView c = service.ProposeChange(me, r);
    authority::LogInfo("roster change proposed", {{"request_id", req.request_id}, {"change_id", c.id}});
    return Json(201, ChangeJson(c));
  }, JsonBody());
  router.Add("GET", "/v1/roster/changes/{id}", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    return Json(200, ChangeJson(service.GetChange(me, IdParam(req))));
  });
  router.Add("POST", "/v1/roster/changes/{id}/approvals", [&service, &pool](const HttpRequest& req) {
    Bytes me = Caller(pool, req);
    std::int64_t id = IdParam(req);
    Bytes sig = ParseApprovalRequest(req.body);
    ChangeView c = service.ApproveChange(me, id, sig);
    authority::LogInfo("roster change approved", {{"request_id", req.request_id}, {"change_id", id},
                                                  {"state", c.state}});
    return Json(201, ChangeJson(c));
  }, JsonBody());
}

}  // namespace realdid::warrant
