#include "issuance/service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "core/base64url.h"
#include "core/candidate.h"
#include "core/escrow.h"
#include "core/hash.h"
#include "core/idnumber.h"
#include "core/json.h"
#include "core/key_window.h"
#include "db/audit_store.h"
#include "db/db_error.h"
#include "issuance/identity_box.h"
#include "issuance/reveal_check.h"

namespace realdid::issuance {
namespace {

constexpr std::size_t kIdLen = 16;
constexpr std::size_t kSecretLen = 16;
constexpr std::size_t kTraceLen = hpke::kNenc + escrow::kTraceCtLen;  // 161
constexpr std::size_t kCoordLen = 32;
constexpr std::size_t kIkmLen = escrow::kIkmLen;

Bytes AuditContent(json::Object members) {
  return ToBytes(json::Serialize(json::Value(std::move(members))));
}

// 1 < b < n - 1 for equal-length big-endian strings (n odd, as every RSA modulus).
bool InRange(ByteView b, ByteView n) {
  Bytes n_minus_1(n.begin(), n.end());
  for (auto it = n_minus_1.rbegin(); it != n_minus_1.rend(); ++it) {
    if (*it != 0) {
      --*it;
      break;
    }
    *it = 0xff;  // borrow
  }
  bool above_one = false;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if ((i + 1 < b.size() && b[i] != 0) || (i + 1 == b.size() && b[i] > 1)) {
      above_one = true;
      break;
    }
  }
  return above_one && std::lexicographical_compare(b.begin(), b.end(), n_minus_1.begin(),
                                                   n_minus_1.end());
}

void RequireSize(ByteView v, std::size_t n, const char* what) {
  if (v.size() != n) InvalidInput(std::string(what) + " must be " + std::to_string(n) + " bytes");
}

[[noreturn]] void Conflict(const std::string& detail) { Fail(ErrorKind::kConflict, detail); }

}  // namespace

int UniformIndex(int bound) {
  if (bound < 1 || bound > (1 << 16)) InvalidInput("UniformIndex: bound out of range");
  const auto b = static_cast<std::uint64_t>(bound);
  const std::uint64_t range = std::uint64_t{1} << 32;
  const std::uint64_t limit = range - (range % b);  // accept [0, limit): a multiple of bound
  for (;;) {
    unsigned char buf[4];
    if (RAND_bytes(buf, sizeof buf) != 1) Fail(ErrorKind::kInternal, "RAND_bytes failed");
    std::uint64_t v = (std::uint64_t{buf[0]} << 24) | (std::uint64_t{buf[1]} << 16) |
                      (std::uint64_t{buf[2]} << 8) | std::uint64_t{buf[3]};
    if (v < limit) return static_cast<int>(v % b);
  }
}

const SigningKey* Keys::Active(std::int64_t now) const {
  return key_window::Active(std::span<const SigningKey>(signing), now);
}

const SigningKey* Keys::ByKid(std::string_view kid) const {
  for (const SigningKey& k : signing) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

IssuanceService::IssuanceService(Settings settings, Keys keys, hsm::Token& token, db::Pool& pool,
                                 ctid::Gateway& ctid, const Clock& clock, Events* events)
    : settings_(std::move(settings)),
      keys_(std::move(keys)),
      token_(token),
      pool_(pool),
      ctid_(ctid),
      clock_(clock),
      events_(events) {
  if (settings_.iss.empty()) InvalidInput("issuance: iss is required");
  if (settings_.min_k < 2) InvalidInput("issuance: min_k must be at least 2");
  if (settings_.k < settings_.min_k || settings_.k > 1024) {
    InvalidInput("issuance: k must be between min_k and 1024");
  }
  if (settings_.credential_lifetime <= 0 || settings_.credential_lifetime % 86400 != 0) {
    InvalidInput("issuance: credential_lifetime must be a positive number of days");
  }
  if (settings_.session_ttl <= 0 || settings_.nonce_ttl <= 0 || settings_.lockout <= 0) {
    InvalidInput("issuance: durations must be positive");
  }
  if (keys_.signing.empty()) InvalidInput("issuance: no blind-signing key");
  escrow::CheckKid(keys_.escrow_kid);
  for (const SigningKey& k : keys_.signing) escrow::CheckKid(k.kid);
}

NonceGrant IssuanceService::CreateNonce() {
  NonceGrant g;
  g.nonce = RandomBytes(kIdLen);
  g.expires_at = clock_.Now() + settings_.nonce_ttl;
  pool_.Run("ctid_nonce_create", [&](db::Tx& tx) { db::InsertNonce(tx, g.nonce, g.expires_at); });
  return g;
}

void IssuanceService::Lockout(db::Tx& tx, std::int64_t person_id, ByteView session_id,
                              std::string_view reason, std::int64_t now) {
  std::int64_t until = now + settings_.lockout;
  db::InsertStrike(tx, person_id, session_id, reason, now);
  db::LockPerson(tx, person_id, until, reason);
  db::AppendAudit(tx, "issuance.cheat",
                  AuditContent({{"person_id", person_id},
                                {"session_id", b64url::Encode(session_id)},
                                {"reason", std::string(reason)}}));
  db::AppendAudit(tx, "issuance.lockout",
                  AuditContent({{"person_id", person_id},
                                {"locked_until", until},
                                {"reason", std::string(reason)}}));
}

IssuanceService::RealNameCheck IssuanceService::VerifyRealName(const OpenRequest& req,
                                                              std::int64_t now) {
  if (now < 0) Fail(ErrorKind::kInternal, "clock before the epoch");
  const idnumber::CivilDate today = idnumber::CivilFromUnixSeconds(now);
  idnumber::IdInfo info;
  try {
    info = idnumber::Validate(req.id_number.reveal_string(), today);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInvalidInput) throw;
    Event("invalid_id_number");
    throw IssuanceError(Problem::kInvalidIdNumber, ErrorKind::kInvalidInput,
                        std::string(e.detail()));
  }
  const idnumber::Attributes attrs = idnumber::Derive(info, today);
  RequireSize(req.nonce, kIdLen, "nonce");
  if (req.ctid_token.empty()) InvalidInput("ctid_token must not be empty");

  const bool nonce_ok = pool_.Run("ctid_nonce_consume", [&](db::Tx& tx) {
    return db::ConsumeNonce(tx, req.nonce, now);
  });
  if (!nonce_ok) {
    Event("ctid_failed");
    throw IssuanceError(Problem::kCtidFailed, ErrorKind::kUnauthorized,
                        "unknown, expired or already used nonce");
  }

  ctid::VerifyRequest vr;
  vr.token = req.ctid_token;
  vr.nonce = b64url::Encode(req.nonce);
  vr.name = req.name;
  vr.id_number = req.id_number;
  ctid::Outcome outcome;
  try {
    outcome = ctid_.Verify(vr);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUnavailable) throw;
    Event("ctid_unavailable");
    IssuanceError err(Problem::kCtidUnavailable, ErrorKind::kUnavailable,
                      "CTID unavailable: " + std::string(e.detail()));
    err.retry_after_seconds = std::max(1, ctid_.RetryAfterSeconds());
    throw IssuanceError(std::move(err));
  }
  if (outcome != ctid::Outcome::kMatch) {
    Event("ctid_failed");
    throw IssuanceError(Problem::kCtidFailed, ErrorKind::kUnauthorized,
                        outcome == ctid::Outcome::kMismatch
                            ? "CTID did not confirm the person"
                            : "CTID token invalid, expired, reused or bound to another nonce");
  }

  return RealNameCheck{attrs, token_.HmacSha256(keys_.id_lookup_hmac, req.id_number.reveal())};
}

OpenedSession IssuanceService::OpenSession(const OpenRequest& req) {
  const std::int64_t now = clock_.Now();
  const RealNameCheck checked = VerifyRealName(req, now);
  const idnumber::Attributes& attrs = checked.attrs;

  const SigningKey* key = keys_.Active(now);
  if (key == nullptr) Fail(ErrorKind::kUnavailable, "no active blind-signing key");

  const Bytes& lookup = checked.lookup;
  const Identity identity{req.name, req.id_number};

  OpenedSession out;
  out.session_id = RandomBytes(kIdLen);
  out.session_secret = Secret::Random(kSecretLen);
  out.issuance_id = RandomBytes(kIdLen);
  out.values.iss = settings_.iss;
  out.values.kid = key->kid;
  out.values.iat = (now / 86400) * 86400;
  out.values.exp = out.values.iat + settings_.credential_lifetime;
  out.values.attested.age_over_18 = attrs.age_over_18;
  out.values.attested.age_over_60 = attrs.age_over_60;
  out.values.attested.province = attrs.province;
  out.values.escrow_kid = keys_.escrow_kid;
  out.k = settings_.k;
  out.expires_at = now + settings_.session_ttl;

  struct Outcome {
    bool opened = false;
    bool conflict = false;
    bool capped = false;
    int lockouts = 0;
    std::int64_t locked_until = 0;
  };
  Outcome result = pool_.Run("issuance_open", [&](db::Tx& tx) {
    Outcome o;
    std::optional<db::PersonRow> person = db::FindPersonByLookup(tx, lookup, true);
    if (!person) {
      SealedIdentity sealed = SealIdentity(token_, keys_.data_wrapping, identity, lookup);
      std::optional<std::int64_t> id =
          db::InsertPerson(tx, lookup, sealed.identity_ct, sealed.data_key_ct, now);
      person = id ? db::GetPerson(tx, *id, true) : db::FindPersonByLookup(tx, lookup, true);
      if (!person) Fail(ErrorKind::kInternal, "person vanished after insert");
      if (!id) {  // created concurrently by another request: verify like any stored identity
        Identity stored = OpenIdentity(token_, keys_.data_wrapping,
                                       {person->identity_ct, person->data_key_ct}, lookup);
        if (!(stored.id_number == req.id_number)) Fail(ErrorKind::kInternal, "lookup collision");
        if (!(stored.name == req.name)) {
          Conflict("the verified name differs from the stored identity; operator review needed");
        }
      }
    } else {
      Identity stored = OpenIdentity(token_, keys_.data_wrapping,
                                     {person->identity_ct, person->data_key_ct}, lookup);
      if (!(stored.id_number == req.id_number)) Fail(ErrorKind::kInternal, "lookup collision");
      if (!(stored.name == req.name)) {
        Conflict("the verified name differs from the stored identity; operator review needed");
      }
    }
    // Settle the person's expired sessions: an unanswered challenge is a strike and a lockout.
    for (const db::SessionRow& s : db::ActiveSessions(tx, person->id, true)) {
      if (s.expires_at > now) {
        o.conflict = true;
        continue;
      }
      if (s.state == "committed") {
        if (!db::TransitionSession(tx, s.id, "committed", "expired")) {
          Fail(ErrorKind::kInternal, "session state changed under lock");
        }
        Lockout(tx, person->id, s.id, "unanswered-challenge", now);
        ++o.lockouts;
      } else if (!db::TransitionSession(tx, s.id, "open", "expired")) {
        Fail(ErrorKind::kInternal, "session state changed under lock");
      }
    }
    person = db::GetPerson(tx, person->id, false);
    if (person->locked_until && *person->locked_until > now) {
      o.locked_until = *person->locked_until;
      return o;  // commit the settlement, then refuse
    }
    if (o.conflict) return o;
    if (settings_.max_active_credentials > 0 &&
        db::CountActiveCredentials(tx, person->id, now) >= settings_.max_active_credentials) {
      o.capped = true;
      return o;
    }
    db::SessionRow row;
    row.id = out.session_id;
    row.person_id = person->id;
    row.secret_hash = hash::Sha256(out.session_secret.reveal());
    row.issuance_id = out.issuance_id;
    row.iss = out.values.iss;
    row.kid = out.values.kid;
    row.escrow_kid = out.values.escrow_kid;
    row.iat = out.values.iat;
    row.exp = out.values.exp;
    row.age_over_18 = out.values.attested.age_over_18;
    row.age_over_60 = out.values.attested.age_over_60;
    row.province = out.values.attested.province;
    row.k = out.k;
    row.created_at = now;
    row.expires_at = out.expires_at;
    db::InsertSession(tx, row);  // the unique index refuses a concurrent second session (409)
    db::AppendAudit(tx, "issuance.session_opened",
                    AuditContent({{"person_id", person->id},
                                  {"session_id", b64url::Encode(out.session_id)},
                                  {"kid", out.values.kid},
                                  {"k", out.k}}));
    o.opened = true;
    return o;
  });
  for (int i = 0; i < result.lockouts; ++i) {
    if (events_ != nullptr) {
      events_->OnCheat();
      events_->OnLockout();
    }
  }
  if (!result.opened && result.locked_until > 0) {
    Event("locked");
    IssuanceError err(Problem::kLocked, ErrorKind::kForbidden,
                      "the person is locked out after a proven cheat until an operator review");
    err.locked_until = result.locked_until;
    throw IssuanceError(std::move(err));
  }
  if (!result.opened && result.capped) {
    Event("conflict");
    Conflict("the person already holds " + std::to_string(settings_.max_active_credentials) +
             " unexpired credentials (the per-person cap); a new one is possible when one expires");
  }
  if (!result.opened) {
    Event("conflict");
    Conflict("the person already has an open issuance session");
  }
  Event("opened");
  return out;
}

db::SessionRow IssuanceService::LoadAuthorized(ByteView session_id, const Secret& secret) {
  std::optional<db::SessionRow> s =
      pool_.Run("issuance_session_get", db::TxOptions{db::Isolation::kReadCommitted, true},
                [&](db::Tx& tx) { return db::GetSession(tx, session_id, false); });
  if (!s) Fail(ErrorKind::kNotFound, "no such session");
  const Bytes presented = hash::Sha256(secret.reveal());
  if (!ConstantTimeEqual(presented, s->secret_hash)) {
    Fail(ErrorKind::kUnauthorized, "missing or wrong session secret");
  }
  return std::move(*s);
}

int IssuanceService::Commit(ByteView session_id, const Secret& session_secret,
                            const std::vector<Candidate>& candidates) {
  const std::int64_t now = clock_.Now();
  db::SessionRow s = LoadAuthorized(session_id, session_secret);
  const SigningKey* key = keys_.ByKid(s.kid);
  if (key == nullptr) Fail(ErrorKind::kInternal, "session key not in the key set");
  const std::size_t modlen = key->pk.modulus_len();
  if (candidates.size() != static_cast<std::size_t>(s.k)) {
    InvalidInput("commit must carry exactly k = " + std::to_string(s.k) + " candidates");
  }
  Bytes blob;
  blob.reserve(candidates.size() * (modlen + kTraceLen));
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (c.blinded_msg.size() != modlen) {
      InvalidInput("candidate " + std::to_string(i) + ": blinded_msg must be " +
                   std::to_string(modlen) + " bytes");
    }
    if (!InRange(c.blinded_msg, key->pk.n())) {
      InvalidInput("candidate " + std::to_string(i) + ": blinded_msg must satisfy 1 < B < n - 1");
    }
    if (c.trace.size() != kTraceLen) {
      InvalidInput("candidate " + std::to_string(i) + ": trace must be 161 bytes");
    }
    blob.insert(blob.end(), c.blinded_msg.begin(), c.blinded_msg.end());
    blob.insert(blob.end(), c.trace.begin(), c.trace.end());
  }
  const Bytes commit_hash = hash::Sha256(blob);
  auto same_commit = [&](const db::SessionRow& row) {
    return row.commit_hash && *row.commit_hash == commit_hash && row.challenge;
  };
  if (s.state == "committed" || s.state == "signed") {
    if (same_commit(s)) return *s.challenge;
    Conflict("a different commit was already stored for this session");
  }
  if (s.state != "open") Conflict("the session is " + s.state);
  if (now >= s.expires_at) Conflict("the session has expired");

  // The commit content is fixed above; only now is the challenge drawn, and it is stored in the
  // same guarded UPDATE as the commit (never re-drawn: a repeat finds the stored one).
  const int j = UniformIndex(s.k);
  return pool_.Run("issuance_commit", [&](db::Tx& tx) {
    std::optional<db::SessionRow> cur = db::GetSession(tx, session_id, true);
    if (!cur) Fail(ErrorKind::kNotFound, "no such session");
    if (cur->state == "open") {
      if (!db::StoreCommit(tx, session_id, commit_hash, blob, j)) {
        Fail(ErrorKind::kInternal, "commit refused under lock");
      }
      return j;
    }
    if (same_commit(*cur)) return *cur->challenge;
    Conflict("a different commit was already stored for this session");
  });
}

std::optional<std::string> IssuanceService::FindCheat(const db::SessionRow& s,
                                                      const SigningKey& key,
                                                      const std::vector<Opening>& openings) const {
  credential::SessionValues values;
  values.iss = s.iss;
  values.kid = s.kid;
  values.iat = s.iat;
  values.exp = s.exp;
  values.attested.age_over_18 = s.age_over_18;
  values.attested.age_over_60 = s.age_over_60;
  values.attested.province = s.province;
  values.escrow_kid = s.escrow_kid;
  const candidate::Context context{values, s.issuance_id, keys_.escrow_pk, key.pk};
  std::vector<IndexedOpening> views;
  views.reserve(openings.size());
  for (const Opening& o : openings) {
    IndexedOpening v{.index = static_cast<std::size_t>(o.index),
                     .opening = {.holder_x = o.holder_x,
                                 .holder_y = o.holder_y,
                                 .jti = o.jti,
                                 .salts = {},
                                 .pss_salt = o.pss_salt,
                                 .r = o.r,
                                 .escrow_ikm = o.escrow_ikm,
                                 .trace_ikm = o.trace_ikm}};
    for (std::size_t i = 0; i < credential::kNumDisclosed; ++i) v.opening.salts[i] = o.salts[i];
    views.push_back(v);
  }
  return FindCheatInOpenings(context, *s.commit_blob, static_cast<std::size_t>(s.k), views);
}

Bytes IssuanceService::Reveal(ByteView session_id, const Secret& session_secret,
                              const std::vector<Opening>& openings) {
  const std::int64_t now = clock_.Now();
  db::SessionRow s = LoadAuthorized(session_id, session_secret);
  if (s.state == "signed" && s.blind_signature) return *s.blind_signature;
  if (s.state != "committed") Conflict("the session is " + s.state + ", not committed");
  if (now >= s.expires_at) Conflict("the session has expired");
  const SigningKey* key = keys_.ByKid(s.kid);
  if (key == nullptr) Fail(ErrorKind::kInternal, "session key not in the key set");
  const std::size_t modlen = key->pk.modulus_len();
  const int j = *s.challenge;

  // Structure (400, never a strike): exactly k-1 openings, ascending, not j, exact sizes.
  if (openings.size() + 1 != static_cast<std::size_t>(s.k)) {
    InvalidInput("reveal must carry exactly k - 1 = " + std::to_string(s.k - 1) + " openings");
  }
  int prev = -1;
  for (const Opening& o : openings) {
    if (o.index < 0 || o.index >= s.k) InvalidInput("opening index out of range");
    if (o.index <= prev) InvalidInput("openings must be in strictly ascending index order");
    if (o.index == j) InvalidInput("the challenged candidate must not be opened");
    prev = o.index;
    RequireSize(o.holder_x, kCoordLen, "holder_jwk.x");
    RequireSize(o.holder_y, kCoordLen, "holder_jwk.y");
    RequireSize(o.jti, credential::kJtiSize, "jti");
    for (const Bytes& salt : o.salts) RequireSize(salt, credential::kSaltSize, "salt");
    RequireSize(o.pss_salt, blind_rsa::kSaltLen, "pss_salt");
    RequireSize(o.r, modlen, "r");
    RequireSize(o.escrow_ikm, kIkmLen, "escrow_ikm");
    RequireSize(o.trace_ikm, kIkmLen, "trace_ikm");
  }

  if (std::optional<std::string> cheat = FindCheat(s, *key, openings)) {
    const std::int64_t until = now + settings_.lockout;
    const bool recorded = pool_.Run("issuance_cheat", [&](db::Tx& tx) {
      std::optional<db::SessionRow> cur = db::GetSession(tx, session_id, true);
      if (!cur || cur->state != "committed") return false;
      if (!db::TransitionSession(tx, session_id, "committed", "failed")) return false;
      Lockout(tx, cur->person_id, session_id, "cheat", now);
      return true;
    });
    if (!recorded) Conflict("the session is no longer awaiting a reveal");
    Event("cheat");
    if (events_ != nullptr) {
      events_->OnCheat();
      events_->OnLockout();
    }
    IssuanceError err(Problem::kCheatDetected, ErrorKind::kInvalidInput,
                      "cheat detected: " + *cheat + "; the person is locked out");
    err.locked_until = until;
    throw IssuanceError(std::move(err));
  }

  struct Signed {
    Bytes signature;
    bool fresh = false;
  };
  Signed result = pool_.Run("issuance_sign", [&](db::Tx& tx) {
    // The row lock makes concurrent reveals of one session sign once.
    std::optional<db::SessionRow> cur = db::GetSession(tx, session_id, true);
    if (!cur) Fail(ErrorKind::kNotFound, "no such session");
    if (cur->state == "signed" && cur->blind_signature) return Signed{*cur->blind_signature, false};
    if (cur->state != "committed") Conflict("the session is " + cur->state + ", not committed");
    const std::size_t chunk = modlen + kTraceLen;
    const auto ju = static_cast<std::size_t>(j);
    Bytes b_j(cur->commit_blob->begin() + static_cast<std::ptrdiff_t>(ju * chunk),
              cur->commit_blob->begin() + static_cast<std::ptrdiff_t>(ju * chunk + modlen));
    Bytes trace_j(cur->commit_blob->begin() + static_cast<std::ptrdiff_t>(ju * chunk + modlen),
                  cur->commit_blob->begin() + static_cast<std::ptrdiff_t>((ju + 1) * chunk));
    Bytes sig = token_.RsaRawPrivate(key->ref, b_j);
    blind_rsa::CheckBlindSignature(key->pk, b_j, sig);
    db::IssuanceRecord rec;
    rec.issuance_id = cur->issuance_id;
    rec.person_id = cur->person_id;
    rec.session_id = cur->id;
    rec.kid = cur->kid;
    rec.trace = trace_j;
    rec.blinded_msg = b_j;
    rec.created_at = now;
    db::InsertIssuanceRecord(tx, rec);
    db::AppendAudit(
        tx, "issuance.signed",
        AuditContent({{"person_id", cur->person_id},
                      {"session_id", b64url::Encode(cur->id)},
                      {"kid", cur->kid},
                      {"record_hash",
                       b64url::Encode(hash::Sha256(Concat({cur->issuance_id, trace_j, b_j})))}}));
    if (!db::StoreSignature(tx, session_id, sig)) {
      Fail(ErrorKind::kInternal, "signature refused under lock");
    }
    return Signed{std::move(sig), true};
  });
  if (result.fresh) {
    Event("signed");
    if (events_ != nullptr) events_->OnSignature();
  }
  return result.signature;
}

}  // namespace realdid::issuance
