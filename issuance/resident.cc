// The resident's own views of issuance (BRIEF section 6): cancelling an open session before its
// commit, and the issuance history behind a fresh real-name check. Members of IssuanceService.
#include "core/base64url.h"
#include "core/error.h"
#include "core/json.h"
#include "db/access_store.h"
#include "db/audit_store.h"
#include "issuance/identity_box.h"
#include "issuance/service.h"

namespace realdid::issuance {
namespace {

Bytes AuditJson(json::Object members) {
  return ToBytes(json::Serialize(json::Value(std::move(members))));
}

}  // namespace

void IssuanceService::CancelSession(ByteView session_id, const Secret& session_secret) {
  const db::SessionRow s = LoadAuthorized(session_id, session_secret);
  if (s.state == "cancelled") return;
  if (s.state != "open") {
    Fail(ErrorKind::kConflict, "the session is " + s.state + "; only an open session (before "
                               "its commit) can be cancelled");
  }
  pool_.Run("issuance_cancel", [&](db::Tx& tx) {
    std::optional<db::SessionRow> cur = db::GetSession(tx, session_id, true);
    if (!cur) Fail(ErrorKind::kNotFound, "no such session");
    if (cur->state == "cancelled") return;
    if (!db::CancelOpenSession(tx, session_id)) {
      Fail(ErrorKind::kConflict, "the session is " + cur->state +
                                     "; only an open session (before its commit) can be cancelled");
    }
    db::AppendAudit(tx, "issuance.session_cancelled",
                    AuditJson({{"person_id", cur->person_id},
                               {"session_id", b64url::Encode(session_id)}}));
  });
  Event("cancelled");
}

History IssuanceService::ResidentHistory(const OpenRequest& req) {
  const std::int64_t now = clock_.Now();
  const RealNameCheck checked = VerifyRealName(req, now);
  return pool_.Run("issuance_history", [&](db::Tx& tx) {
    History h;
    std::optional<db::PersonRow> person = db::FindPersonByLookup(tx, checked.lookup, false);
    if (!person) return h;  // never verified here before: nothing to show, nothing stored
    const Identity stored = OpenIdentity(token_, keys_.data_wrapping,
                                         {person->identity_ct, person->data_key_ct},
                                         checked.lookup);
    if (!(stored.id_number == req.id_number)) Fail(ErrorKind::kInternal, "lookup collision");
    if (!(stored.name == req.name)) {
      Fail(ErrorKind::kConflict,
           "the verified name differs from the stored identity; operator review needed");
    }
    for (db::SessionSummary& s : db::SessionsOfPerson(tx, person->id, kMaxHistory)) {
      h.sessions.push_back(HistoryEntry{std::move(s.id), std::move(s.kid), std::move(s.state),
                                        s.created_at, s.expires_at, s.iat, s.exp});
    }
    if (person->locked_until && *person->locked_until > now) {
      h.locked_until = person->locked_until;
      h.lock_reason = person->lock_reason;
    }
    db::AppendAudit(tx, "issuance.history_viewed",
                    AuditJson({{"person_id", person->id},
                               {"sessions", static_cast<std::int64_t>(h.sessions.size())}}));
    return h;
  });
}

}  // namespace realdid::issuance
