// WarrantService: the warrant component's logic (BRIEF section 6), below HTTP.
//
// File, approve, withdraw and execute warrants; propose and approve auditor-roster changes; load
// the genesis roster once. Callers are identified by the SHA-256 of their verified client
// certificate; the HTTP layer has already checked the principal's role (authority/client_auth.h),
// and every operation here additionally requires an ACTIVE roster auditor with that certificate.
//
// Rules (each refusal is a realdid::Error with a client kind; the detail names the rule):
//  - an approval counts only if its ES256 signature over ApprovalMessage(content_hash) verifies
//    against the roster key of an auditor who is not the author, was enrolled strictly before the
//    warrant was filed, and is not removed; M (Settings::approvals) from distinct auditors;
//  - execution re-reads the canonical content, recomputes its hash and re-verifies EVERY approval
//    signature (a row inserted by a database superuser without a valid signature does not count);
//    it is single-use (state + a unique execution row), refused after expiry or withdrawal;
//  - credential scope, before decrypting: the issuer signature under a published blind-signing key
//    (keys manifest), the strict canonical form (credential::ParseStrict), SHA-256 of the issuer-
//    signed JWT equal to the warrant's, the escrow's HPKE enc a valid uncompressed P-256 point, the
//    aad recomputed from the credential; ECDH in the escrow token; after decrypting: escrow ->
//    issuance record -> trace, which must name this credential's jti, holder key thumbprint and
//    escrow hash, else the outcome is "inconsistent: cheat" (never an identity);
//  - the audit row (db/audit_store.h) commits with the execution row, and only then is the answer
//    returned;
//  - person scope answers revocation ids and holder-key thumbprints of all the person's
//    credentials (from their traces); action revoke also revokes them (db/revocation_store.h).
// Security contract: identity plaintext exists only in the returned ExecutionResult (Secrets);
// nothing identifying reaches the audit log, the database or a log line.
// Thread-safety: thread-safe (state lives in PostgreSQL; the tokens and pool are thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/hpke.h"
#include "core/json.h"
#include "core/jws.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "warrant/content.h"

namespace realdid::warrant {

struct ServiceKeys {
  hsm::KeyRef escrow;            // on the escrow token
  Bytes escrow_public;           // 65-byte uncompressed point
  std::string escrow_kid;
  hsm::KeyRef data_wrapping;     // on the issuance token ([identity])
  std::map<std::string, jws::PublicKey> issuer_keys;  // kid -> blind-signing public key
};

struct ServiceSettings {
  int approvals = 2;
  std::int64_t max_lifetime = std::int64_t{30} * 86400;
};

struct WarrantView {
  std::int64_t id = 0;
  std::string content;
  Bytes content_hash;
  std::string state;
  std::int64_t author = 0;
  int approvals_valid = 0;
  int approvals_required = 0;
  std::vector<std::int64_t> approvers;  // auditor ids whose approval currently verifies
};

struct CredentialEntry {
  std::string kid;
  Bytes revocation_id;     // SHA-256(jti || thumbprint)
  Bytes holder_thumbprint;
};

struct ExecutionResult {
  std::string outcome;  // "resolved" | "listed" | "inconsistent: cheat"
  std::string reason;   // for cheat: which cross-check failed (no identity)
  std::optional<std::int64_t> person_id;
  Secret name;          // resolved only
  Secret id_number;     // resolved only
  std::vector<CredentialEntry> credentials;  // listed only
  std::size_t unreadable_traces = 0;         // listed: traces that did not open
  std::size_t newly_revoked = 0;             // listed + revoke
  std::int64_t audit_seq = 0;
};

struct AuditorView {
  std::int64_t id = 0;
  std::string label;
  Bytes cert_sha256;
  std::string public_jwk;
  std::string key_kid;
  std::int64_t enrolled_at_us = 0;
  std::string enrolled_by;
  bool active = true;
};

struct ChangeView {
  std::int64_t id = 0;
  std::string content;
  Bytes content_hash;
  std::string state;
  int approvals_valid = 0;
  int approvals_required = 0;
  std::optional<std::int64_t> applied_auditor_id;  // the new auditor of an applied add
};

class WarrantService {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix seconds
  WarrantService(ServiceSettings settings, ServiceKeys keys, db::Pool& pool,
                 hsm::Token& escrow_token, hsm::Token& identity_token, Clock clock);

  WarrantView File(ByteView caller_cert, const FileRequest& request);
  WarrantView Get(ByteView caller_cert, std::int64_t id);
  WarrantView Approve(ByteView caller_cert, std::int64_t id, ByteView signature);
  WarrantView Withdraw(ByteView caller_cert, std::int64_t id);
  ExecutionResult Execute(ByteView caller_cert, std::int64_t id,
                          const std::optional<std::string>& credential);

  std::vector<AuditorView> Roster(ByteView caller_cert);
  ChangeView ProposeChange(ByteView caller_cert, const RosterChangeRequest& request);
  ChangeView GetChange(ByteView caller_cert, std::int64_t id);
  ChangeView ApproveChange(ByteView caller_cert, std::int64_t id, ByteView signature);

  // Loads the genesis roster (a file signed off at the ceremony) when the roster was never
  // initialized; appends "warrant.roster_genesis" with the file's SHA-256. kConflict otherwise.
  // Needs at least approvals + 1 auditors.
  static std::vector<AuditorView> LoadGenesis(db::Pool& pool, std::string_view file_text,
                                              int approvals);

  const ServiceSettings& settings() const noexcept { return settings_; }

 private:
  ServiceSettings settings_;
  ServiceKeys keys_;
  hpke::PublicKey escrow_pk_;
  db::Pool& pool_;
  hsm::Token& escrow_token_;
  hsm::Token& identity_token_;
  Clock clock_;
};

// Keys from the ceremony manifest: escrow (role "escrow", on escrow_token), data-wrapping (on
// identity_token) and every blind-signing key. Throws kInvalidInput when one is missing.
ServiceKeys KeysFromManifest(const std::string& manifest_path, const std::string& escrow_token,
                             const std::string& identity_token);

}  // namespace realdid::warrant
