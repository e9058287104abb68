// Typed access to the warrant tables of migration 0005 (auditors, roster_genesis, roster_changes,
// roster_change_approvals, warrants, warrant_approvals, warrant_executions) and the two reads of the
// issuance tables the warrant component needs, inside a caller's transaction. SQL only: no HSM, no
// HTTP, no libpqxx type.
//
// Times: the database clock in Unix microseconds (DbNowMicros, clock_timestamp()), so "enrolled
// before the warrant was filed" compares instants of one clock.
// Security contract: nothing here decides whether an approval counts (warrant/service.h verifies
// every signature); identity data is read only encrypted.
// Thread-safety: functions on a caller's Tx (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::warrant::store {

std::int64_t DbNowMicros(db::Tx& tx);

struct AuditorRow {
  std::int64_t id = 0;
  std::string label;
  Bytes cert_sha256;
  std::string public_jwk;  // canonical JSON
  std::string key_kid;
  std::int64_t enrolled_at_us = 0;
  std::string enrolled_by;
  std::optional<std::int64_t> removed_at_us;
};

std::vector<AuditorRow> Auditors(db::Tx& tx);  // all rows, by id
std::optional<AuditorRow> ActiveAuditorByCert(db::Tx& tx, ByteView cert_sha256);
std::optional<AuditorRow> GetAuditor(db::Tx& tx, std::int64_t id);
std::int64_t InsertAuditor(db::Tx& tx, std::string_view label, ByteView cert_sha256,
                           std::string_view public_jwk, std::string_view key_kid,
                           std::int64_t enrolled_at_us, std::string_view enrolled_by);
bool RemoveAuditor(db::Tx& tx, std::int64_t id, std::int64_t at_us, std::string_view by);
bool RosterEverInitialized(db::Tx& tx);  // any auditor, genesis row or roster change
void InsertGenesis(db::Tx& tx, ByteView file_sha256, std::int64_t at_us);

struct WarrantRow {
  std::int64_t id = 0;
  std::string content;
  Bytes content_hash;
  std::int64_t author_auditor_id = 0;
  std::string scope_kind;
  std::optional<Bytes> credential_sha256;
  std::optional<std::int64_t> person_id;
  std::string action;
  std::int64_t filed_at_us = 0;
  std::int64_t expires_at = 0;  // seconds
  std::string state;
};

struct NewWarrant {
  std::string content;
  Bytes content_hash;
  std::int64_t author_auditor_id = 0;
  std::string legal_basis;
  std::string case_reference;
  std::optional<Bytes> credential_sha256;
  std::optional<std::int64_t> person_id;
  std::string action;
  std::int64_t filed_at_us = 0;
  std::int64_t expires_at = 0;
};
std::int64_t InsertWarrant(db::Tx& tx, const NewWarrant& w);
std::optional<WarrantRow> GetWarrant(db::Tx& tx, std::int64_t id, bool for_update);
bool SetWarrantState(db::Tx& tx, std::int64_t id, std::string_view from, std::string_view to);

struct ApprovalRow {
  std::int64_t auditor_id = 0;
  Bytes signature;
  std::int64_t created_at_us = 0;
};
// Throws DbError(kConflict) when this auditor already approved.
void InsertWarrantApproval(db::Tx& tx, std::int64_t warrant_id, std::int64_t auditor_id,
                           ByteView signature, std::int64_t at_us);
std::vector<ApprovalRow> WarrantApprovals(db::Tx& tx, std::int64_t warrant_id);

void InsertExecution(db::Tx& tx, std::int64_t warrant_id, std::int64_t executed_by,
                     std::string_view outcome, int approvals_counted, std::int64_t audit_seq,
                     std::int64_t at_us);
bool HasExecution(db::Tx& tx, std::int64_t warrant_id);

struct ChangeRow {
  std::int64_t id = 0;
  std::string content;
  Bytes content_hash;
  Bytes proposed_by;
  std::optional<std::int64_t> proposer_auditor_id;
  std::int64_t filed_at_us = 0;
  std::int64_t expires_at = 0;
  std::string state;
};
std::int64_t InsertChange(db::Tx& tx, std::string_view content, ByteView content_hash,
                          ByteView proposed_by, std::optional<std::int64_t> proposer_auditor_id,
                          std::int64_t filed_at_us, std::int64_t expires_at);
std::optional<ChangeRow> GetChange(db::Tx& tx, std::int64_t id, bool for_update);
bool MarkChangeApplied(db::Tx& tx, std::int64_t id);
void InsertChangeApproval(db::Tx& tx, std::int64_t change_id, std::int64_t auditor_id,
                          ByteView signature, std::int64_t at_us);
std::vector<ApprovalRow> ChangeApprovals(db::Tx& tx, std::int64_t change_id);

// ---- issuance tables (read only; records come from db/issuance_store.h) ----
struct PersonSealed {
  Bytes id_lookup;
  Bytes identity_ct;
  Bytes data_key_ct;
};
std::optional<PersonSealed> GetPersonSealed(db::Tx& tx, std::int64_t person_id);

}  // namespace realdid::warrant::store
