#include "warrant/service.h"

#include <algorithm>
#include <set>

#include "authority/key_manifest.h"
#include "core/base64url.h"
#include "core/credential.h"
#include "core/error.h"
#include "core/escrow.h"
#include "core/hash.h"
#include "core/jwk.h"
#include "db/audit_store.h"
#include "db/db_error.h"
#include "db/issuance_store.h"
#include "db/revocation_store.h"
#include "issuance/identity_box.h"
#include "warrant/store.h"

namespace realdid::warrant {
namespace {

constexpr std::string_view kCheat = "inconsistent: cheat";

[[noreturn]] void Refuse(ErrorKind kind, const std::string& why) { throw Error(kind, why); }

store::AuditorRow RequireAuditor(db::Tx& tx, ByteView cert) {
  std::optional<store::AuditorRow> a = store::ActiveAuditorByCert(tx, cert);
  if (!a) Refuse(ErrorKind::kForbidden, "not an enrolled auditor");
  return *a;
}

std::string B64(ByteView b) { return b64url::Encode(b); }

void Audit(db::Tx& tx, std::string_view kind, const json::Value& content,
           std::int64_t* seq_out = nullptr) {
  db::AuditAppended a = db::AppendAudit(tx, kind, AsBytes(json::Serialize(content)));
  if (seq_out != nullptr) *seq_out = a.seq;
}

// The approvals of a document that count under the rules of service.h, re-verified now.
struct Counted {
  std::vector<std::int64_t> auditors;
};

Counted CountApprovals(db::Tx& tx, const std::vector<store::ApprovalRow>& approvals,
                       ApprovalKind kind, ByteView content_hash, std::int64_t filed_at_us,
                       std::optional<std::int64_t> excluded_author) {
  Counted c;
  std::set<std::string> keys;
  for (const store::ApprovalRow& a : approvals) {
    if (excluded_author && a.auditor_id == *excluded_author) continue;
    std::optional<store::AuditorRow> who = store::GetAuditor(tx, a.auditor_id);
    if (!who || who->removed_at_us || who->enrolled_at_us >= filed_at_us) continue;
    json::Value jwk;
    try {
      jwk = json::Parse(who->public_jwk);
    } catch (const Error&) {
      continue;
    }
    if (!VerifyApproval(jwk, kind, content_hash, a.signature)) continue;
    if (!keys.insert(who->key_kid).second) continue;  // one key counts once
    if (std::find(c.auditors.begin(), c.auditors.end(), a.auditor_id) != c.auditors.end()) continue;
    c.auditors.push_back(a.auditor_id);
  }
  return c;
}

// The warrant's content as the source of truth: canonical, hash matching, columns consistent.
WarrantContent CheckedContent(const store::WarrantRow& w) {
  WarrantContent c;
  try {
    c = ParseWarrant(w.content);
  } catch (const Error&) {
    Fail(ErrorKind::kInternal, "warrant: stored content is not canonical");
  }
  if (!ConstantTimeEqual(ContentHash(w.content), w.content_hash) ||
      c.author != w.author_auditor_id || c.expires_at != w.expires_at ||
      c.filed_at_us != w.filed_at_us || c.scope.credential_sha256 != w.credential_sha256 ||
      c.scope.person_id != w.person_id || ActionName(c.action) != w.action) {
    Fail(ErrorKind::kInternal, "warrant: stored columns disagree with the content");
  }
  return c;
}

WarrantView View(db::Tx& tx, const store::WarrantRow& w, int required) {
  WarrantView v;
  v.id = w.id;
  v.content = w.content;
  v.content_hash = w.content_hash;
  v.state = w.state;
  v.author = w.author_auditor_id;
  v.approvals_required = required;
  Counted c = CountApprovals(tx, store::WarrantApprovals(tx, w.id), ApprovalKind::kWarrant,
                             ContentHash(w.content), w.filed_at_us, w.author_auditor_id);
  v.approvers = c.auditors;
  v.approvals_valid = static_cast<int>(c.auditors.size());
  return v;
}

ChangeView ViewChange(db::Tx& tx, const store::ChangeRow& ch, int required) {
  ChangeView v;
  v.id = ch.id;
  v.content = ch.content;
  v.content_hash = ch.content_hash;
  v.state = ch.state;
  v.approvals_required = required;
  Counted c = CountApprovals(tx, store::ChangeApprovals(tx, ch.id), ApprovalKind::kRoster,
                             ContentHash(ch.content), ch.filed_at_us, ch.proposer_auditor_id);
  v.approvals_valid = static_cast<int>(c.auditors.size());
  return v;
}

AuditorView ToView(const store::AuditorRow& a) {
  return AuditorView{a.id,      a.label,          a.cert_sha256, a.public_jwk,
                     a.key_kid, a.enrolled_at_us, a.enrolled_by, !a.removed_at_us.has_value()};
}

Bytes JwkBytes(const json::Value& jwk, std::string_view member) {
  return b64url::Decode(jwk.at(member).as_string());
}

}  // namespace

ServiceKeys KeysFromManifest(const std::string& manifest_path, const std::string& escrow_token,
                             const std::string& identity_token) {
  ServiceKeys keys;
  bool have_escrow = false;
  bool have_data = false;
  try {
    for (const authority::ManifestKey& k : authority::LoadKeyManifest(manifest_path)) {
      if (k.role == "escrow" && k.token == escrow_token) {
        Bytes point = Concat({Bytes{0x04}, JwkBytes(k.jwk, "x"), JwkBytes(k.jwk, "y")});
        (void)hpke::DeserializePublicKey(point);
        if (jwk::Kid(k.jwk) != k.kid) InvalidInput("escrow kid is not its thumbprint");
        keys.escrow = hsm::KeyRef{k.label, k.cka_id};
        keys.escrow_public = point;
        keys.escrow_kid = k.kid;
        have_escrow = true;
      } else if (k.role == "data-wrapping" && k.token == identity_token) {
        keys.data_wrapping = hsm::KeyRef{k.label, k.cka_id};
        have_data = true;
      } else if (k.role == "blind-signing") {
        if (jwk::Kid(k.jwk) != k.kid) InvalidInput("blind-signing kid is not its thumbprint");
        keys.issuer_keys.emplace(k.kid, jws::PublicKey::FromJwk(k.jwk));
      }
    }
  } catch (const Error& e) {
    InvalidInput("[hsm] keys_manifest: " + std::string(e.detail()));
  }
  if (!have_escrow) InvalidInput("[hsm] keys_manifest: no escrow key on the escrow token");
  if (!have_data) InvalidInput("[hsm] keys_manifest: no data-wrapping key on the identity token");
  if (keys.issuer_keys.empty()) InvalidInput("[hsm] keys_manifest: no blind-signing key");
  return keys;
}

WarrantService::WarrantService(ServiceSettings settings, ServiceKeys keys, db::Pool& pool,
                               hsm::Token& escrow_token, hsm::Token& identity_token, Clock clock)
    : settings_(settings),
      keys_(std::move(keys)),
      escrow_pk_(hpke::DeserializePublicKey(keys_.escrow_public)),
      pool_(pool),
      escrow_token_(escrow_token),
      identity_token_(identity_token),
      clock_(std::move(clock)) {
  if (settings_.approvals < 1) InvalidInput("warrant: approvals must be at least 1");
}

WarrantView WarrantService::File(ByteView caller_cert, const FileRequest& request) {
  const std::int64_t now = clock_();
  if (request.expires_at <= now) Refuse(ErrorKind::kInvalidInput, "expires_at must be in the future");
  if (request.expires_at > now + settings_.max_lifetime) {
    Refuse(ErrorKind::kInvalidInput, "expires_at is beyond the longest warrant lifetime");
  }
  return pool_.Run("warrant_file", [&](db::Tx& tx) {
    store::AuditorRow author = RequireAuditor(tx, caller_cert);
    WarrantContent c;
    c.author = author.id;
    c.legal_basis = request.legal_basis;
    c.case_reference = request.case_reference;
    c.scope = request.scope;
    c.action = request.action;
    c.filed_at_us = store::DbNowMicros(tx);
    c.expires_at = request.expires_at;
    c.nonce = RandomBytes(kNonceLen);
    store::NewWarrant w;
    w.content = SerializeWarrant(c);
    w.content_hash = ContentHash(w.content);
    w.author_auditor_id = author.id;
    w.legal_basis = c.legal_basis;
    w.case_reference = c.case_reference;
    w.credential_sha256 = c.scope.credential_sha256;
    w.person_id = c.scope.person_id;
    w.action = std::string(ActionName(c.action));
    w.filed_at_us = c.filed_at_us;
    w.expires_at = c.expires_at;
    std::int64_t id = store::InsertWarrant(tx, w);
    json::Value a = json::Object{};
    a.set("warrant_id", id);
    a.set("content_hash", B64(w.content_hash));
    a.set("author", author.id);
    Audit(tx, "warrant.filed", a);
    return View(tx, *store::GetWarrant(tx, id, false), settings_.approvals);
  });
}

WarrantView WarrantService::Get(ByteView caller_cert, std::int64_t id) {
  return pool_.Run("warrant_get", [&](db::Tx& tx) {
    RequireAuditor(tx, caller_cert);
    std::optional<store::WarrantRow> w = store::GetWarrant(tx, id, false);
    if (!w) Refuse(ErrorKind::kNotFound, "no such warrant");
    return View(tx, *w, settings_.approvals);
  });
}

WarrantView WarrantService::Approve(ByteView caller_cert, std::int64_t id, ByteView signature) {
  const std::int64_t now = clock_();
  return pool_.Run("warrant_approve", [&](db::Tx& tx) {
    store::AuditorRow me = RequireAuditor(tx, caller_cert);
    std::optional<store::WarrantRow> w = store::GetWarrant(tx, id, true);
    if (!w) Refuse(ErrorKind::kNotFound, "no such warrant");
    CheckedContent(*w);
    if (w->state != "filed" && w->state != "approved") {
      Refuse(ErrorKind::kConflict, "warrant is " + w->state);
    }
    if (now >= w->expires_at) Refuse(ErrorKind::kConflict, "warrant has expired");
    if (me.id == w->author_auditor_id) Refuse(ErrorKind::kForbidden, "self-approval is refused");
    if (me.enrolled_at_us >= w->filed_at_us) {
      Refuse(ErrorKind::kForbidden, "approver was enrolled after the warrant was filed");
    }
    if (!VerifyApproval(json::Parse(me.public_jwk), ApprovalKind::kWarrant, w->content_hash,
                        signature)) {
      Refuse(ErrorKind::kInvalidInput, "approval signature does not verify under the roster key");
    }
    try {
      store::InsertWarrantApproval(tx, id, me.id, signature, store::DbNowMicros(tx));
    } catch (const db::DbError& e) {
      if (e.kind() == ErrorKind::kConflict) Refuse(ErrorKind::kConflict, "already approved");
      throw;
    }
    WarrantView v = View(tx, *w, settings_.approvals);
    if (v.approvals_valid >= settings_.approvals && w->state == "filed") {
      store::SetWarrantState(tx, id, "filed", "approved");
      v.state = "approved";
    }
    json::Value a = json::Object{};
    a.set("warrant_id", id);
    a.set("content_hash", B64(w->content_hash));
    a.set("auditor", me.id);
    a.set("approvals_valid", v.approvals_valid);
    Audit(tx, "warrant.approved", a);
    return v;
  });
}

WarrantView WarrantService::Withdraw(ByteView caller_cert, std::int64_t id) {
  return pool_.Run("warrant_withdraw", [&](db::Tx& tx) {
    store::AuditorRow me = RequireAuditor(tx, caller_cert);
    std::optional<store::WarrantRow> w = store::GetWarrant(tx, id, true);
    if (!w) Refuse(ErrorKind::kNotFound, "no such warrant");
    if (!store::SetWarrantState(tx, id, w->state, "withdrawn") ||
        (w->state != "filed" && w->state != "approved")) {
      Refuse(ErrorKind::kConflict, "warrant is " + w->state);
    }
    json::Value a = json::Object{};
    a.set("warrant_id", id);
    a.set("content_hash", B64(w->content_hash));
    a.set("auditor", me.id);
    Audit(tx, "warrant.withdrawn", a);
    w->state = "withdrawn";
    return View(tx, *w, settings_.approvals);
  });
}

ExecutionResult WarrantService::Execute(ByteView caller_cert, std::int64_t id,
                                        const std::optional<std::string>& credential) {
  const std::int64_t now = clock_();
  bool expired = false;
  ExecutionResult result = pool_.Run("warrant_execute", [&](db::Tx& tx) {
    ExecutionResult r;
    expired = false;
    store::AuditorRow me = RequireAuditor(tx, caller_cert);
    std::optional<store::WarrantRow> w = store::GetWarrant(tx, id, true);
    if (!w) Refuse(ErrorKind::kNotFound, "no such warrant");
    const WarrantContent content = CheckedContent(*w);
    if (w->state == "executed" || store::HasExecution(tx, id)) {
      Refuse(ErrorKind::kConflict, "warrant was already executed (single use)");
    }
    if (w->state == "withdrawn") Refuse(ErrorKind::kConflict, "warrant was withdrawn");
    if (w->state == "expired" || now >= content.expires_at) {
      expired = w->state != "expired";
      return r;
    }
    // Every approval signature is verified again here; rows alone count for nothing.
    Counted approvals = CountApprovals(tx, store::WarrantApprovals(tx, id), ApprovalKind::kWarrant,
                                       ContentHash(w->content), content.filed_at_us, content.author);
    const int valid = static_cast<int>(approvals.auditors.size());
    if (valid < settings_.approvals) {
      Refuse(ErrorKind::kForbidden, "warrant has " + std::to_string(valid) + " valid approvals of " +
                                        std::to_string(settings_.approvals) + " required");
    }

    auto ecdh = [this](const hpke::PublicKey& pk_e) {
      return escrow_token_.EcdhP256(keys_.escrow, pk_e.bytes());
    };

    if (content.scope.is_credential()) {
      if (!credential) Refuse(ErrorKind::kInvalidInput, "execute: the credential is required");
      // ---- before decrypting ----
      credential::Parsed p = [&] {
        try {
          return credential::ParseStrict(*credential, credential::Form::kIssued);
        } catch (const Error&) {
          return credential::ParseStrict(*credential, credential::Form::kPresentation);
        }
      }();
      auto key = keys_.issuer_keys.find(p.kid);
      if (key == keys_.issuer_keys.end() ||
          !jws::VerifyRaw(key->second, jws::Alg::kPS384, p.signing_input, p.signature)) {
        Refuse(ErrorKind::kInvalidInput, "credential: not signed by the authority");
      }
      if (!ConstantTimeEqual(hash::Sha256(p.issuer_jwt), *content.scope.credential_sha256)) {
        Refuse(ErrorKind::kInvalidInput, "credential: not the credential this warrant names");
      }
      if (p.escrow.size() != credential::kEscrowSize) {
        Refuse(ErrorKind::kInvalidInput, "credential: escrow has the wrong length");
      }
      hpke::Sealed sealed{Bytes(p.escrow.begin(), p.escrow.begin() + 65),
                          Bytes(p.escrow.begin() + 65, p.escrow.end())};
      (void)hpke::DeserializePublicKey(sealed.enc);  // a valid uncompressed P-256 point
      escrow::CredentialFields f;
      f.kid = p.kid;
      f.iat = static_cast<std::uint64_t>(p.iat);
      f.exp = static_cast<std::uint64_t>(p.exp);
      f.jti = p.jti;
      f.cnf_thumbprint = jwk::ThumbprintSha256(p.cnf_jwk);
      escrow::CheckFields(f);  // the aad is recomputed from these inside OpenEscrow

      // ---- decrypt and cross-check ----
      auto cheat = [&r](std::string reason) {
        r.outcome = std::string(kCheat);
        r.reason = std::move(reason);
      };
      std::optional<Secret> issuance_id;
      try {
        issuance_id = escrow::OpenEscrow(sealed, escrow_pk_, keys_.escrow_kid, f, ecdh);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::kCryptoFailure) throw;
        cheat("escrow does not open");
      }
      std::optional<db::IssuanceRecord> rec;
      if (issuance_id) {
        rec = db::FindIssuanceRecord(tx, issuance_id->reveal());
        if (!rec) cheat("escrow names no issuance record");
      }
      if (rec) {
        if (rec->kid != p.kid) {
          cheat("issuance record is under another key");
        } else {
          try {
            hpke::Sealed trace{Bytes(rec->trace.begin(), rec->trace.begin() + 65),
                               Bytes(rec->trace.begin() + 65, rec->trace.end())};
            escrow::TraceContent t = escrow::OpenTrace(trace, escrow_pk_, keys_.escrow_kid,
                                                       rec->issuance_id, rec->kid, ecdh);
            if (!escrow::TraceMatches(t, f, sealed)) {
              cheat("trace names another credential");
            } else {
              r.outcome = "resolved";
              r.person_id = rec->person_id;
            }
          } catch (const Error& e) {
            if (e.kind() != ErrorKind::kCryptoFailure && e.kind() != ErrorKind::kInvalidInput) {
              throw;
            }
            cheat("trace does not open");
          }
        }
      }
      if (r.outcome == "resolved") {
        std::optional<store::PersonSealed> person = store::GetPersonSealed(tx, *r.person_id);
        if (!person) Fail(ErrorKind::kInternal, "warrant: issuance record without a person");
        issuance::Identity who = issuance::OpenIdentity(
            identity_token_, keys_.data_wrapping,
            issuance::SealedIdentity{person->identity_ct, person->data_key_ct}, person->id_lookup);
        r.name = std::move(who.name);
        r.id_number = std::move(who.id_number);
      } else {
        r.person_id.reset();
      }
    } else {
      if (credential) Refuse(ErrorKind::kInvalidInput, "execute: a person scope takes no credential");
      if (!store::GetPersonSealed(tx, *content.scope.person_id)) {
        Refuse(ErrorKind::kNotFound, "no such person");
      }
      r.outcome = "listed";
      r.person_id = content.scope.person_id;
      std::vector<db::RevocationEntry> revoke;
      for (const db::IssuanceRecord& rec :
           db::IssuanceRecordsOfPerson(tx, *content.scope.person_id)) {
        try {
          hpke::Sealed trace{Bytes(rec.trace.begin(), rec.trace.begin() + 65),
                             Bytes(rec.trace.begin() + 65, rec.trace.end())};
          escrow::TraceContent t = escrow::OpenTrace(trace, escrow_pk_, keys_.escrow_kid,
                                                     rec.issuance_id, rec.kid, ecdh);
          CredentialEntry e;
          e.kid = rec.kid;
          e.revocation_id = hash::Sha256(Concat({t.jti, t.cnf_thumbprint}));
          e.holder_thumbprint = t.cnf_thumbprint;
          revoke.push_back(db::RevocationEntry{e.kid, e.revocation_id});
          r.credentials.push_back(std::move(e));
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::kCryptoFailure && e.kind() != ErrorKind::kInvalidInput) throw;
          ++r.unreadable_traces;
        }
      }
      if (content.action == Action::kRevoke && !revoke.empty()) {
        r.newly_revoked = db::Revoke(tx, revoke, "warrant", now);
      }
    }

    // ---- commit the audit row with the execution, then answer ----
    json::Value a = json::Object{};
    a.set("warrant_id", id);
    a.set("content_hash", B64(w->content_hash));
    a.set("executed_by", me.id);
    json::Array approvers;
    for (std::int64_t x : approvals.auditors) approvers.emplace_back(x);
    a.set("approvers", std::move(approvers));
    const std::string outcome_tag = r.outcome == kCheat ? "cheat" : r.outcome;
    a.set("outcome", outcome_tag);
    if (!r.reason.empty()) a.set("reason", r.reason);
    if (r.outcome == "listed") {
      a.set("credentials", static_cast<std::int64_t>(r.credentials.size()));
      a.set("action", std::string(ActionName(content.action)));
    }
    Audit(tx, "warrant.executed", a, &r.audit_seq);
    store::InsertExecution(tx, id, me.id, outcome_tag, valid, r.audit_seq, store::DbNowMicros(tx));
    if (!store::SetWarrantState(tx, id, "approved", "executed")) {
      // A warrant whose approvals were never recorded as reaching M (e.g. M lowered in config).
      store::SetWarrantState(tx, id, "filed", "approved");
      store::SetWarrantState(tx, id, "approved", "executed");
    }
    return r;
  });
  if (expired) {
    pool_.Run("warrant_expire", [&](db::Tx& tx) {
      std::optional<store::WarrantRow> w = store::GetWarrant(tx, id, true);
      if (w && (w->state == "filed" || w->state == "approved") &&
          store::SetWarrantState(tx, id, w->state, "expired")) {
        json::Value a = json::Object{};
        a.set("warrant_id", id);
        a.set("content_hash", B64(w->content_hash));
        Audit(tx, "warrant.expired", a);
      }
    });
  }
  if (result.outcome.empty()) Refuse(ErrorKind::kConflict, "warrant has expired");
  return result;
}

std::vector<AuditorView> WarrantService::Roster(ByteView caller_cert) {
  return pool_.Run("warrant_roster", [&](db::Tx& tx) {
    RequireAuditor(tx, caller_cert);
    std::vector<AuditorView> out;
    for (const store::AuditorRow& a : store::Auditors(tx)) out.push_back(ToView(a));
    return out;
  });
}

ChangeView WarrantService::ProposeChange(ByteView caller_cert, const RosterChangeRequest& request) {
  const std::int64_t now = clock_();
  if (request.expires_at <= now || request.expires_at > now + settings_.max_lifetime) {
    Refuse(ErrorKind::kInvalidInput, "expires_at must be in the future, within the longest lifetime");
  }
  return pool_.Run("roster_propose", [&](db::Tx& tx) {
    store::AuditorRow me = RequireAuditor(tx, caller_cert);
    if (request.op == RosterOp::kRemove) {
      std::optional<store::AuditorRow> target = store::GetAuditor(tx, request.auditor_id);
      if (!target || target->removed_at_us) Refuse(ErrorKind::kNotFound, "no such active auditor");
    }
    RosterChangeContent c;
    c.change = request;
    c.proposed_at_us = store::DbNowMicros(tx);
    c.nonce = RandomBytes(kNonceLen);
    std::string text = SerializeRosterChange(c);
    Bytes h = ContentHash(text);
    std::int64_t id =
        store::InsertChange(tx, text, h, caller_cert, me.id, c.proposed_at_us, request.expires_at);
    json::Value a = json::Object{};
    a.set("change_id", id);
    a.set("content_hash", B64(h));
    a.set("proposed_by", me.id);
    Audit(tx, "warrant.roster_proposed", a);
    return ViewChange(tx, *store::GetChange(tx, id, false), settings_.approvals);
  });
}

ChangeView WarrantService::GetChange(ByteView caller_cert, std::int64_t id) {
  return pool_.Run("roster_change_get", [&](db::Tx& tx) {
    RequireAuditor(tx, caller_cert);
    std::optional<store::ChangeRow> ch = store::GetChange(tx, id, false);
    if (!ch) Refuse(ErrorKind::kNotFound, "no such roster change");
    return ViewChange(tx, *ch, settings_.approvals);
  });
}

ChangeView WarrantService::ApproveChange(ByteView caller_cert, std::int64_t id,
                                         ByteView signature) {
  const std::int64_t now = clock_();
  return pool_.Run("roster_approve", [&](db::Tx& tx) {
    store::AuditorRow me = RequireAuditor(tx, caller_cert);
    std::optional<store::ChangeRow> ch = store::GetChange(tx, id, true);
    if (!ch) Refuse(ErrorKind::kNotFound, "no such roster change");
    if (!ConstantTimeEqual(ContentHash(ch->content), ch->content_hash)) {
      Fail(ErrorKind::kInternal, "roster change: stored hash disagrees with the content");
    }
    RosterChangeContent content = ParseRosterChange(ch->content);
    if (ch->state != "proposed") Refuse(ErrorKind::kConflict, "roster change is " + ch->state);
    if (now >= ch->expires_at) Refuse(ErrorKind::kConflict, "roster change has expired");
    if (ch->proposer_auditor_id && *ch->proposer_auditor_id == me.id) {
      Refuse(ErrorKind::kForbidden, "self-approval is refused");
    }
    if (content.change.op == RosterOp::kRemove && content.change.auditor_id == me.id) {
      Refuse(ErrorKind::kForbidden, "an auditor cannot approve their own removal");
    }
    if (me.enrolled_at_us >= ch->filed_at_us) {
      Refuse(ErrorKind::kForbidden, "approver was enrolled after the change was proposed");
    }
    if (!VerifyApproval(json::Parse(me.public_jwk), ApprovalKind::kRoster, ch->content_hash,
                        signature)) {
      Refuse(ErrorKind::kInvalidInput, "approval signature does not verify under the roster key");
    }
    try {
      store::InsertChangeApproval(tx, id, me.id, signature, store::DbNowMicros(tx));
    } catch (const db::DbError& e) {
      if (e.kind() == ErrorKind::kConflict) Refuse(ErrorKind::kConflict, "already approved");
      throw;
    }
    ChangeView v = ViewChange(tx, *ch, settings_.approvals);
    json::Value a = json::Object{};
    a.set("change_id", id);
    a.set("content_hash", B64(ch->content_hash));
    a.set("auditor", me.id);
    a.set("approvals_valid", v.approvals_valid);
    Audit(tx, "warrant.roster_approved", a);
    if (v.approvals_valid >= settings_.approvals) {
      const std::int64_t at = store::DbNowMicros(tx);
      const std::string by = "change:" + std::to_string(id);
      json::Value applied = json::Object{};
      applied.set("change_id", id);
      applied.set("content_hash", B64(ch->content_hash));
      if (content.change.op == RosterOp::kAdd) {
        if (store::ActiveAuditorByCert(tx, content.change.cert_sha256)) {
          Refuse(ErrorKind::kConflict, "certificate is already enrolled");
        }
        std::string jwk_text = json::Serialize(content.change.public_jwk);
        std::int64_t new_id =
            store::InsertAuditor(tx, content.change.label, content.change.cert_sha256, jwk_text,
                                 jwk::Kid(content.change.public_jwk), at, by);
        v.applied_auditor_id = new_id;
        applied.set("op", "add");
        applied.set("auditor", new_id);
        applied.set("key_kid", jwk::Kid(content.change.public_jwk));
      } else {
        if (!store::RemoveAuditor(tx, content.change.auditor_id, at, by)) {
          Refuse(ErrorKind::kConflict, "auditor is already removed");
        }
        applied.set("op", "remove");
        applied.set("auditor", content.change.auditor_id);
      }
      store::MarkChangeApplied(tx, id);
      v.state = "applied";
      Audit(tx, "warrant.roster_applied", applied);
    }
    return v;
  });
}

std::vector<AuditorView> WarrantService::LoadGenesis(db::Pool& pool, std::string_view file_text,
                                                     int approvals) {
  std::vector<GenesisAuditor> entries = ParseGenesisRoster(file_text);
  if (entries.size() < static_cast<std::size_t>(approvals) + 1) {
    InvalidInput("genesis roster: needs at least approvals + 1 auditors (an author and M approvers)");
  }
  Bytes file_hash = hash::Sha256(file_text);
  return pool.Run("roster_genesis", [&](db::Tx& tx) {
    // Serialize concurrent loaders (a transaction-scoped advisory lock of this component).
    tx.Exec("SELECT pg_advisory_xact_lock(7365021, 1)");
    if (store::RosterEverInitialized(tx)) {
      Refuse(ErrorKind::kConflict, "the roster was initialized already (changes need approvals)");
    }
    const std::int64_t at = store::DbNowMicros(tx);
    store::InsertGenesis(tx, file_hash, at);
    json::Array listed;
    std::vector<AuditorView> out;
    for (const GenesisAuditor& g : entries) {
      std::string jwk_text = json::Serialize(g.public_jwk);
      std::int64_t id = store::InsertAuditor(tx, g.label, g.cert_sha256, jwk_text,
                                             jwk::Kid(g.public_jwk), at, "genesis");
      json::Value e = json::Object{};
      e.set("auditor", id);
      e.set("cert_sha256", B64(g.cert_sha256));
      e.set("key_kid", jwk::Kid(g.public_jwk));
      listed.push_back(std::move(e));
      out.push_back(ToView(*store::GetAuditor(tx, id)));
    }
    json::Value a = json::Object{};
    a.set("file_sha256", B64(file_hash));
    a.set("auditors", std::move(listed));
    Audit(tx, "warrant.roster_genesis", a);
    return out;
  });
}

}  // namespace realdid::warrant
