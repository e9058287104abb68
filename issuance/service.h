// IssuanceService: the server side of fair blind issuance (BRIEF section 4, docs/protocol.md 5).
// No HTTP here: the authority's routes parse messages into the structs below and map the errors.
//
// Flow: CreateNonce -> OpenSession (ID-number rules, single-use nonce, CTID, person, lock check,
// settling expired sessions, one active session per person) -> Commit (write-once, then a uniform
// challenge from the CSPRNG) -> Reveal (rebuild every opened candidate byte for byte; any mismatch
// is a proven cheat: session failed, strike, lockout, audit) -> blind signature in the HSM, issuance
// record + audit row committed before the signature is returned.
//
// Security contract:
//  - Session secrets are 16 random bytes, stored only as SHA-256, compared in constant time. A wrong
//    or missing secret is Error(kUnauthorized) and never counts against the person.
//  - The challenge is drawn only after the commit is fixed, with RAND_bytes and rejection sampling,
//    stored with the commit in one guarded UPDATE, and never re-drawn; an identical commit gets the
//    same challenge, any other commit is kConflict.
//  - At most one distinct blind signature per session: the signing transaction holds the session
//    row lock (SELECT ... FOR UPDATE), so concurrent reveals sign once; later reveals get the
//    stored signature. Raw RSA is deterministic, so a retry after a crash yields identical bytes.
//  - Identity data is stored only encrypted (issuance/identity_box.h); logs and audit rows carry
//    the person id only.
// Errors: realdid::Error with the kinds of core/error.h; protocol outcomes that need their own
// problem type (docs/protocol.md 7) are IssuanceError with a Problem.
// Thread-safety: all public member functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/blind_rsa.h"
#include "core/bytes.h"
#include "core/credential.h"
#include "core/error.h"
#include "core/hpke.h"
#include "core/idnumber.h"
#include "db/issuance_store.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "issuance/clock.h"
#include "ctid/gateway.h"

namespace realdid::issuance {

// Outcomes with their own problem type (docs/protocol.md section 7).
enum class Problem {
  kInvalidIdNumber,  // 400 invalid-id-number
  kCtidFailed,       // 401 ctid-failed
  kLocked,           // 403 locked (locked_until set)
  kCheatDetected,    // 422 cheat-detected
  kCtidUnavailable,  // 503 unavailable (retry_after_seconds set)
};

class IssuanceError : public Error {
 public:
  IssuanceError(Problem problem, ErrorKind kind, const std::string& detail)
      : Error(kind, detail), problem_(problem) {}
  Problem problem() const noexcept { return problem_; }
  std::optional<std::int64_t> locked_until;
  std::optional<int> retry_after_seconds;

 private:
  Problem problem_;
};

// One blind-signing key of the key set, with its validity window [nbf, exp).
struct SigningKey {
  hsm::KeyRef ref;
  std::string kid;
  blind_rsa::PublicKey pk;
  std::int64_t nbf = 0;
  std::int64_t exp = 0;
};

struct Keys {
  std::vector<SigningKey> signing;  // the blind-signing keys (the active one is chosen per session)
  hsm::KeyRef id_lookup_hmac;
  hsm::KeyRef data_wrapping;
  hpke::PublicKey escrow_pk;
  std::string escrow_kid;
  // The active key at `now`: the one whose window contains now and started last; nullptr if none.
  const SigningKey* Active(std::int64_t now) const;
  const SigningKey* ByKid(std::string_view kid) const;
};

struct Settings {
  std::string iss;                               // the configured base URL
  int k = 32;                                    // cut-and-choose width
  int min_k = 16;                                // published minimum
  std::int64_t credential_lifetime = std::int64_t{30} * 86400;  // L
  std::int64_t session_ttl = 600;
  std::int64_t nonce_ttl = 300;
  std::int64_t lockout = std::int64_t{30} * 86400;
  // At most this many unexpired credentials per person (0 = no cap): a new session is refused
  // (kConflict) while the person holds that many, so per-credential quotas such as the Privacy
  // Pass tokens (docs/protocol.md 11) cannot be multiplied by collecting credentials.
  int max_active_credentials = 3;
};

// Counters the authority exports (implemented with Prometheus there). Must not throw.
class Events {
 public:
  virtual ~Events() = default;
  // result: "opened", "ctid_failed", "ctid_unavailable", "invalid_id_number", "locked",
  // "conflict", "signed", "cheat", "cancelled". ResidentHistory's real-name check reports its
  // failures ("ctid_failed", "invalid_id_number", "ctid_unavailable") here too.
  virtual void OnSession(std::string_view result) noexcept = 0;
  virtual void OnCheat() noexcept = 0;
  virtual void OnSignature() noexcept = 0;
  virtual void OnLockout() noexcept = 0;
};

struct NonceGrant {
  Bytes nonce;  // 16
  std::int64_t expires_at = 0;
};

struct OpenRequest {
  Secret name;
  Secret id_number;
  Bytes nonce;  // 16
  std::string ctid_token;
};

struct OpenedSession {
  Bytes session_id;      // 16
  Secret session_secret;  // 16
  Bytes issuance_id;     // 16
  credential::SessionValues values;  // iss, vct, kid, iat, exp, attested, escrow_kid
  int k = 0;
  std::int64_t expires_at = 0;
};

struct Candidate {
  Bytes blinded_msg;  // modulus length
  Bytes trace;        // 161
};

struct Opening {
  int index = 0;
  Bytes holder_x;  // 32
  Bytes holder_y;  // 32
  Bytes jti;       // 16
  std::array<Bytes, credential::kNumDisclosed> salts;  // 16 each
  Bytes pss_salt;    // 48
  Bytes r;           // modulus length
  Bytes escrow_ikm;  // 32
  Bytes trace_ikm;   // 32
};

// One of the resident's issuance sessions, as the history endpoint shows it: dates, key id and
// state only (never the commit, the challenge, a trace, a signature or identity data).
struct HistoryEntry {
  Bytes session_id;  // 16
  std::string kid;
  std::string state;  // open | committed | signed | failed | expired | cancelled
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t iat = 0;  // the credential's iat/exp the session stated
  std::int64_t exp = 0;
};

struct History {
  std::vector<HistoryEntry> sessions;  // oldest first
  std::optional<std::int64_t> locked_until;  // set while the person is locked out
  std::optional<std::string> lock_reason;
};

class IssuanceService {
 public:
  // All references must outlive the service. events may be null. Throws Error(kInvalidInput) on
  // bad settings (k < min_k, min_k < 2, empty iss, non-positive durations).
  IssuanceService(Settings settings, Keys keys, hsm::Token& token, db::Pool& pool,
                  ctid::Gateway& ctid, const Clock& clock, Events* events = nullptr);

  const Settings& settings() const noexcept { return settings_; }
  const Keys& keys() const noexcept { return keys_; }

  NonceGrant CreateNonce();
  OpenedSession OpenSession(const OpenRequest& request);
  // Returns the challenge j.
  int Commit(ByteView session_id, const Secret& session_secret,
             const std::vector<Candidate>& candidates);
  // Returns the blind signature (modulus length).
  Bytes Reveal(ByteView session_id, const Secret& session_secret,
               const std::vector<Opening>& openings);
  // Cancels an open session (before its commit) for the wallet that holds its secret, so the
  // person may start again at once (issuance/resident.cc). Idempotent on a cancelled session;
  // kConflict once a commit is stored (a challenge must never be re-rolled); kUnauthorized on a
  // wrong secret (which never counts against the person). Audited as issuance.session_cancelled.
  void CancelSession(ByteView session_id, const Secret& session_secret);
  // The resident's own issuance history after a fresh real-name check exactly like OpenSession
  // (single-use nonce, CTID); opens no session and creates no person (an unknown person has an
  // empty history). Audited as issuance.history_viewed when the person exists. At most
  // kMaxHistory sessions, the newest ones.
  static constexpr int kMaxHistory = 200;
  History ResidentHistory(const OpenRequest& request);

 private:
  struct CheckResult;
  struct RealNameCheck {
    idnumber::Attributes attrs;
    Bytes lookup;  // HSM HMAC of the ID number
  };
  // ID-number rules, single-use nonce, CTID (the first half of OpenSession).
  RealNameCheck VerifyRealName(const OpenRequest& request, std::int64_t now);
  db::SessionRow LoadAuthorized(ByteView session_id, const Secret& secret);
  void Lockout(db::Tx& tx, std::int64_t person_id, ByteView session_id, std::string_view reason,
               std::int64_t now);
  std::optional<std::string> FindCheat(const db::SessionRow& s, const SigningKey& key,
                                       const std::vector<Opening>& openings) const;
  void Event(std::string_view result) const noexcept {
    if (events_ != nullptr) events_->OnSession(result);
  }

  const Settings settings_;
  const Keys keys_;
  hsm::Token& token_;
  db::Pool& pool_;
  ctid::Gateway& ctid_;
  const Clock& clock_;
  Events* const events_;
};

// A uniform integer in [0, bound) from RAND_bytes with rejection sampling (no modulo bias).
int UniformIndex(int bound);

}  // namespace realdid::issuance
