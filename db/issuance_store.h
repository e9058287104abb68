// Typed access to the issuance tables of migration 0002 (persons, ctid_nonces, issuance_sessions,
// issuance_records, strikes) inside a caller's transaction. No libpqxx type, no HSM, no HTTP.
//
// Times are Unix seconds passed by the caller (the service's injected clock), stored as
// timestamptz. Functions that change a row say under which condition (a state guard in the WHERE
// clause) and return whether a row changed, so a caller never overwrites a concurrent transition.
// A unique violation (second open session of a person, duplicate id) surfaces as
// DbError(kConflict). The *ForUpdate variants take a row lock until the transaction ends.
// Security contract: identity data reaches this layer only encrypted (identity_ct, data_key_ct);
// id_lookup is an HMAC. Session secrets only as SHA-256 hashes.
// Thread-safety: functions on a caller's Tx (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::db {

// ---- persons ----
struct PersonRow {
  std::int64_t id = 0;
  Bytes id_lookup;
  Bytes identity_ct;
  Bytes data_key_ct;
  std::optional<std::int64_t> locked_until;
  std::optional<std::string> lock_reason;
  std::int64_t strikes = 0;
};

std::optional<PersonRow> FindPersonByLookup(Tx& tx, ByteView id_lookup, bool for_update);
std::optional<PersonRow> GetPerson(Tx& tx, std::int64_t person_id, bool for_update);
// Inserts a person unless one with this id_lookup exists (then nullopt: re-read it).
std::optional<std::int64_t> InsertPerson(Tx& tx, ByteView id_lookup, ByteView identity_ct,
                                         ByteView data_key_ct, std::int64_t now);
// Sets locked_until/lock_reason and increments strikes.
void LockPerson(Tx& tx, std::int64_t person_id, std::int64_t locked_until, std::string_view reason);
void InsertStrike(Tx& tx, std::int64_t person_id, ByteView session_id, std::string_view reason,
                  std::int64_t now);
std::int64_t CountStrikes(Tx& tx, std::int64_t person_id);

// ---- CTID nonces ----
void InsertNonce(Tx& tx, ByteView nonce, std::int64_t expires_at);
// Marks the nonce used if it exists, is unused and has not expired at `now`; false otherwise.
bool ConsumeNonce(Tx& tx, ByteView nonce, std::int64_t now);
// Deletes nonces that expired before `before`; returns how many.
std::uint64_t PruneNonces(Tx& tx, std::int64_t before);

// ---- issuance sessions ----
struct SessionRow {
  Bytes id;           // 16
  std::int64_t person_id = 0;
  Bytes secret_hash;  // SHA-256 of the session secret
  Bytes issuance_id;  // 16
  std::string iss;
  std::string kid;
  std::string escrow_kid;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  bool age_over_18 = false;
  bool age_over_60 = false;
  std::string province;
  int k = 0;
  std::string state = "open";  // open | committed | signed | failed | expired
  std::optional<Bytes> commit_hash;
  std::optional<Bytes> commit_blob;
  std::optional<int> challenge;
  std::optional<Bytes> blind_signature;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
};

// Throws DbError(kConflict) when the person already has an open/committed session.
void InsertSession(Tx& tx, const SessionRow& s);
std::optional<SessionRow> GetSession(Tx& tx, ByteView session_id, bool for_update);
// The person's sessions in state open or committed (at most one, by the unique index).
std::vector<SessionRow> ActiveSessions(Tx& tx, std::int64_t person_id, bool for_update);
// state from -> to; false if the session was not in `from`.
bool TransitionSession(Tx& tx, ByteView session_id, std::string_view from, std::string_view to);
// open -> committed with commit and challenge, only while challenge IS NULL.
bool StoreCommit(Tx& tx, ByteView session_id, ByteView commit_hash, ByteView commit_blob,
                 int challenge);
// committed -> signed with the blind signature.
bool StoreSignature(Tx& tx, ByteView session_id, ByteView blind_signature);
// Retention (migration 0011): sets commit_blob = NULL and commit_blob_pruned_at = now() on at most
// `limit` signed or expired sessions created more than older_than_days days before now(), oldest
// first, skipping rows another transaction holds locked. Failed sessions keep their blob (the
// evidence of a cheat). Returns how many rows were pruned. Run as realdid_owner: the service role
// has no UPDATE on commit_blob_pruned_at and its attempt fails with DbError. Throws
// Error(kInvalidInput) when older_than_days < 1 or limit < 1.
std::int64_t PruneCommitBlobs(Tx& tx, std::int64_t older_than_days, std::int64_t limit);

// ---- issuance records ----
struct IssuanceRecord {
  Bytes issuance_id;
  std::int64_t person_id = 0;
  Bytes session_id;
  std::string kid;
  Bytes trace;
  Bytes blinded_msg;
  std::int64_t created_at = 0;
};
void InsertIssuanceRecord(Tx& tx, const IssuanceRecord& r);
std::optional<IssuanceRecord> FindIssuanceRecord(Tx& tx, ByteView issuance_id);
std::vector<IssuanceRecord> IssuanceRecordsOfPerson(Tx& tx, std::int64_t person_id);
// The person's credentials that have not expired at `now` (signed sessions with exp > now).
std::int64_t CountActiveCredentials(Tx& tx, std::int64_t person_id, std::int64_t now);

}  // namespace realdid::db
