#include "warrant/store.h"

#include "core/error.h"

namespace realdid::warrant::store {
namespace {

long long I(std::int64_t v) { return static_cast<long long>(v); }

// Microseconds since the epoch <-> timestamptz, exactly (no floating point).
constexpr const char* kFromMicros = "(timestamptz 'epoch' + $%d * interval '1 microsecond')";
std::string FromMicros(int n) {
  char buf[96];
  std::snprintf(buf, sizeof buf, kFromMicros, n);
  return buf;
}
std::string Micros(std::string_view column) {
  return "(extract(epoch FROM " + std::string(column) + ") * 1000000)::bigint AS " +
         std::string(column) + "_us";
}

constexpr const char* kAuditorSelect =
    "SELECT id, label, cert_sha256, public_jwk, key_kid, enrolled_by, "
    "(extract(epoch FROM enrolled_at) * 1000000)::bigint AS enrolled_at_us, "
    "(extract(epoch FROM removed_at) * 1000000)::bigint AS removed_at_us FROM auditors ";

AuditorRow ToAuditor(const db::Row& r) {
  AuditorRow a;
  a.id = r.GetInt64("id");
  a.label = r.GetString("label");
  a.cert_sha256 = r.GetBytes("cert_sha256");
  a.public_jwk = r.GetString("public_jwk");
  a.key_kid = r.GetString("key_kid");
  a.enrolled_by = r.GetString("enrolled_by");
  a.enrolled_at_us = r.GetInt64("enrolled_at_us");
  a.removed_at_us = r.GetOptInt64("removed_at_us");
  return a;
}

std::string WarrantSelect() {
  return "SELECT id, content, content_hash, author_auditor_id, scope_kind, credential_sha256, "
         "person_id, action, " + Micros("filed_at") +
         ", extract(epoch FROM expires_at)::bigint AS expires_at, state FROM warrants ";
}

WarrantRow ToWarrant(const db::Row& r) {
  WarrantRow w;
  w.id = r.GetInt64("id");
  w.content = r.GetString("content");
  w.content_hash = r.GetBytes("content_hash");
  w.author_auditor_id = r.GetInt64("author_auditor_id");
  w.scope_kind = r.GetString("scope_kind");
  w.credential_sha256 = r.GetOptBytes("credential_sha256");
  w.person_id = r.GetOptInt64("person_id");
  w.action = r.GetString("action");
  w.filed_at_us = r.GetInt64("filed_at_us");
  w.expires_at = r.GetInt64("expires_at");
  w.state = r.GetString("state");
  return w;
}

std::vector<ApprovalRow> ToApprovals(const db::Result& r) {
  std::vector<ApprovalRow> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    ApprovalRow a;
    a.auditor_id = r[i].GetInt64("auditor_id");
    a.signature = r[i].GetBytes("signature");
    a.created_at_us = r[i].GetInt64("created_at_us");
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

std::int64_t DbNowMicros(db::Tx& tx) {
  return tx.Exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us")
      .One()
      .GetInt64("now_us");
}

std::vector<AuditorRow> Auditors(db::Tx& tx) {
  db::Result r = tx.Exec(std::string(kAuditorSelect) + "ORDER BY id");
  std::vector<AuditorRow> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(ToAuditor(r[i]));
  return out;
}

std::optional<AuditorRow> ActiveAuditorByCert(db::Tx& tx, ByteView cert_sha256) {
  db::Result r = tx.Exec(std::string(kAuditorSelect) +
                             "WHERE cert_sha256 = $1 AND removed_at IS NULL",
                         {cert_sha256});
  if (r.empty()) return std::nullopt;
  return ToAuditor(r[0]);
}

std::optional<AuditorRow> GetAuditor(db::Tx& tx, std::int64_t id) {
  db::Result r = tx.Exec(std::string(kAuditorSelect) + "WHERE id = $1", {I(id)});
  if (r.empty()) return std::nullopt;
  return ToAuditor(r[0]);
}

std::int64_t InsertAuditor(db::Tx& tx, std::string_view label, ByteView cert_sha256,
                           std::string_view public_jwk, std::string_view key_kid,
                           std::int64_t enrolled_at_us, std::string_view enrolled_by) {
  return tx
      .Exec("INSERT INTO auditors (label, cert_sha256, public_jwk, key_kid, enrolled_at, "
            "enrolled_by) VALUES ($1, $2, $3, $4, " + FromMicros(5) + ", $6) RETURNING id",
            {label, cert_sha256, public_jwk, key_kid, I(enrolled_at_us), enrolled_by})
      .One()
      .GetInt64("id");
}

bool RemoveAuditor(db::Tx& tx, std::int64_t id, std::int64_t at_us, std::string_view by) {
  return tx
             .Exec("UPDATE auditors SET removed_at = " + FromMicros(2) +
                       ", removed_by = $3 WHERE id = $1 AND removed_at IS NULL",
                   {I(id), I(at_us), by})
             .affected_rows() == 1;
}

bool RosterEverInitialized(db::Tx& tx) {
  return tx
      .Exec("SELECT EXISTS (SELECT 1 FROM auditors) OR EXISTS (SELECT 1 FROM roster_genesis) "
            "OR EXISTS (SELECT 1 FROM roster_changes) AS any")
      .One()
      .GetBool("any");
}

void InsertGenesis(db::Tx& tx, ByteView file_sha256, std::int64_t at_us) {
  tx.Exec("INSERT INTO roster_genesis (file_sha256, loaded_at) VALUES ($1, " + FromMicros(2) + ")",
          {file_sha256, I(at_us)});
}

std::int64_t InsertWarrant(db::Tx& tx, const NewWarrant& w) {
  db::Param cred = w.credential_sha256 ? db::Param(ByteView(*w.credential_sha256))
                                       : db::Param(std::nullopt);
  db::Param person = w.person_id ? db::Param(I(*w.person_id)) : db::Param(std::nullopt);
  return tx
      .Exec("INSERT INTO warrants (content, content_hash, author_auditor_id, legal_basis, "
            "case_reference, scope_kind, credential_sha256, person_id, action, filed_at, "
            "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, " + FromMicros(10) +
                ", to_timestamp($11)) RETURNING id",
            {w.content, ByteView(w.content_hash), I(w.author_auditor_id), w.legal_basis,
             w.case_reference, std::string(w.credential_sha256 ? "credential" : "person"), cred,
             person, w.action, I(w.filed_at_us), I(w.expires_at)})
      .One()
      .GetInt64("id");
}

std::optional<WarrantRow> GetWarrant(db::Tx& tx, std::int64_t id, bool for_update) {
  db::Result r =
      tx.Exec(WarrantSelect() + "WHERE id = $1" + (for_update ? " FOR UPDATE" : ""), {I(id)});
  if (r.empty()) return std::nullopt;
  return ToWarrant(r[0]);
}

bool SetWarrantState(db::Tx& tx, std::int64_t id, std::string_view from, std::string_view to) {
  return tx.Exec("UPDATE warrants SET state = $3 WHERE id = $1 AND state = $2", {I(id), from, to})
             .affected_rows() == 1;
}

void InsertWarrantApproval(db::Tx& tx, std::int64_t warrant_id, std::int64_t auditor_id,
                           ByteView signature, std::int64_t at_us) {
  tx.Exec("INSERT INTO warrant_approvals (warrant_id, auditor_id, signature, created_at) VALUES "
          "($1, $2, $3, " + FromMicros(4) + ")",
          {I(warrant_id), I(auditor_id), signature, I(at_us)});
}

std::vector<ApprovalRow> WarrantApprovals(db::Tx& tx, std::int64_t warrant_id) {
  return ToApprovals(tx.Exec("SELECT auditor_id, signature, " + Micros("created_at") +
                                 " FROM warrant_approvals WHERE warrant_id = $1 ORDER BY "
                                 "created_at, auditor_id",
                             {I(warrant_id)}));
}

void InsertExecution(db::Tx& tx, std::int64_t warrant_id, std::int64_t executed_by,
                     std::string_view outcome, int approvals_counted, std::int64_t audit_seq,
                     std::int64_t at_us) {
  tx.Exec("INSERT INTO warrant_executions (warrant_id, executed_by, outcome, approvals_counted, "
          "audit_seq, executed_at) VALUES ($1, $2, $3, $4, $5, " + FromMicros(6) + ")",
          {I(warrant_id), I(executed_by), outcome, approvals_counted, I(audit_seq), I(at_us)});
}

bool HasExecution(db::Tx& tx, std::int64_t warrant_id) {
  return !tx.Exec("SELECT 1 FROM warrant_executions WHERE warrant_id = $1", {I(warrant_id)})
              .empty();
}

std::int64_t InsertChange(db::Tx& tx, std::string_view content, ByteView content_hash,
                          ByteView proposed_by, std::optional<std::int64_t> proposer_auditor_id,
                          std::int64_t filed_at_us, std::int64_t expires_at) {
  db::Param proposer =
      proposer_auditor_id ? db::Param(I(*proposer_auditor_id)) : db::Param(std::nullopt);
  return tx
      .Exec("INSERT INTO roster_changes (content, content_hash, proposed_by, proposer_auditor_id, "
            "filed_at, expires_at) VALUES ($1, $2, $3, $4, " + FromMicros(5) +
                ", to_timestamp($6)) RETURNING id",
            {content, content_hash, proposed_by, proposer, I(filed_at_us), I(expires_at)})
      .One()
      .GetInt64("id");
}

std::optional<ChangeRow> GetChange(db::Tx& tx, std::int64_t id, bool for_update) {
  db::Result r = tx.Exec("SELECT id, content, content_hash, proposed_by, proposer_auditor_id, " +
                             Micros("filed_at") +
                             ", extract(epoch FROM expires_at)::bigint AS expires_at, state "
                             "FROM roster_changes WHERE id = $1" +
                             (for_update ? " FOR UPDATE" : ""),
                         {I(id)});
  if (r.empty()) return std::nullopt;
  ChangeRow c;
  c.id = r[0].GetInt64("id");
  c.content = r[0].GetString("content");
  c.content_hash = r[0].GetBytes("content_hash");
  c.proposed_by = r[0].GetBytes("proposed_by");
  c.proposer_auditor_id = r[0].GetOptInt64("proposer_auditor_id");
  c.filed_at_us = r[0].GetInt64("filed_at_us");
  c.expires_at = r[0].GetInt64("expires_at");
  c.state = r[0].GetString("state");
  return c;
}

bool MarkChangeApplied(db::Tx& tx, std::int64_t id) {
  return tx.Exec("UPDATE roster_changes SET state = 'applied' WHERE id = $1 AND state = "
                 "'proposed'",
                 {I(id)})
             .affected_rows() == 1;
}

void InsertChangeApproval(db::Tx& tx, std::int64_t change_id, std::int64_t auditor_id,
                          ByteView signature, std::int64_t at_us) {
  tx.Exec("INSERT INTO roster_change_approvals (change_id, auditor_id, signature, created_at) "
          "VALUES ($1, $2, $3, " + FromMicros(4) + ")",
          {I(change_id), I(auditor_id), signature, I(at_us)});
}

std::vector<ApprovalRow> ChangeApprovals(db::Tx& tx, std::int64_t change_id) {
  return ToApprovals(tx.Exec("SELECT auditor_id, signature, " + Micros("created_at") +
                                 " FROM roster_change_approvals WHERE change_id = $1 ORDER BY "
                                 "created_at, auditor_id",
                             {I(change_id)}));
}

std::optional<PersonSealed> GetPersonSealed(db::Tx& tx, std::int64_t person_id) {
  db::Result r = tx.Exec(
      "SELECT id_lookup, identity_ct, data_key_ct FROM persons WHERE id = $1", {I(person_id)});
  if (r.empty()) return std::nullopt;
  return PersonSealed{r[0].GetBytes("id_lookup"), r[0].GetBytes("identity_ct"),
                      r[0].GetBytes("data_key_ct")};
}

}  // namespace realdid::warrant::store
