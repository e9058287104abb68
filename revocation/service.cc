#include "revocation/service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/credential.h"
#include "core/error.h"
#include "core/jws.h"
#include "core/revocation_list.h"
#include "db/revocation_store.h"

namespace realdid::revocation {
namespace {

[[noreturn]] void Unauthorized(const std::string& what) {
  Fail(ErrorKind::kUnauthorized, "revocation proof: " + what);
}

SignedList FromRow(const db::SignedListRow& r) {
  return SignedList{r.jws, r.version, r.issued_at, r.next_update};
}

}  // namespace

RevocationService::RevocationService(ServiceConfig config, hsm::Token& token, db::Pool& pool,
                                     const issuance::Clock& clock)
    : config_(std::move(config)), token_(token), pool_(pool), clock_(clock) {
  if (config_.iss.empty()) InvalidInput("revocation: iss is required");
  if (config_.list_key_kid.size() != 43) InvalidInput("revocation: list key kid is required");
  if (!config_.issuer_keys) InvalidInput("revocation: issuer key lookup is required");
  if (config_.list_validity < 60) InvalidInput("revocation: list_validity must be >= 60 s");
  if (config_.refresh_after < 1 || config_.refresh_after >= config_.list_validity) {
    InvalidInput("revocation: refresh_after must be in [1, list_validity)");
  }
  if (config_.min_reissue_interval < 0 || config_.min_reissue_interval > config_.refresh_after) {
    InvalidInput("revocation: min_reissue_interval must be in [0, refresh_after]");
  }
  std::sort(config_.kids.begin(), config_.kids.end());
}

bool RevocationService::KnownKid(std::string_view kid) const {
  return std::binary_search(config_.kids.begin(), config_.kids.end(), kid);
}

std::string RevocationService::Sign(const std::string& signing_input) {
  Bytes sig = token_.EcdsaP256Sign(config_.list_key, AsBytes(signing_input));
  return Assemble(signing_input, sig);
}

SignedList RevocationService::Full(std::string_view kid_in) {
  if (!KnownKid(kid_in)) Fail(ErrorKind::kNotFound, "revocation: no list for this kid");
  const std::string kid(kid_in);
  const std::int64_t now = clock_.Now();
  db::TxOptions ro{db::Isolation::kRepeatableRead, true};
  struct Read {
    db::RevocationListState state;
    std::optional<db::SignedListRow> cached;
  };
  Read read = pool_.Run("revocation.list.state", ro, [&](db::Tx& tx) {
    return Read{db::GetListState(tx, kid), db::GetSignedList(tx, kid)};
  });
  if (read.cached && now < read.cached->next_update && now + 300 >= read.cached->issued_at) {
    const std::int64_t age = now - read.cached->issued_at;
    const bool same = read.cached->version == read.state.version;
    if ((same && age < config_.refresh_after) || (!same && age < config_.min_reissue_interval)) {
      return FromRow(*read.cached);
    }
  }
  // A new issue: the state and its ids read in one snapshot.
  List list = pool_.Run("revocation.list.ids", ro, [&](db::Tx& tx) {
    db::RevocationListState s = db::GetListState(tx, kid);
    List l;
    l.kid = kid;
    l.version = s.version;
    l.key_revoked = s.KeyRevokedAt(s.version);
    l.ids = db::RevokedIds(tx, kid, 0, s.version);
    return l;
  });
  list.issued_at = std::max(now, read.cached ? read.cached->issued_at : std::int64_t{0});
  list.next_update = list.issued_at + config_.list_validity;
  db::SignedListRow row{kid, list.version, list.issued_at, list.next_update,
                        Sign(SigningInput(list, config_.list_key_kid))};
  return FromRow(
      pool_.Run("revocation.list.put", [&](db::Tx& tx) { return db::PutSignedList(tx, row); }));
}

SignedList RevocationService::Delta(std::string_view kid_in, std::int64_t since) {
  if (since < 0) InvalidInput("revocation: since must be >= 0");
  SignedList issue = Full(kid_in);
  if (since > issue.version) {
    Fail(ErrorKind::kConflict, "revocation: since is ahead of the list's version");
  }
  const std::string kid(kid_in);
  std::optional<std::string> cached = pool_.Run(
      "revocation.delta.get", db::TxOptions{db::Isolation::kReadCommitted, true},
      [&](db::Tx& tx) { return db::GetSignedDelta(tx, kid, issue.version, issue.issued_at, since); });
  if (cached) return SignedList{*cached, issue.version, issue.issued_at, issue.next_update};
  List d = pool_.Run("revocation.delta.ids",
                     db::TxOptions{db::Isolation::kRepeatableRead, true}, [&](db::Tx& tx) {
                       db::RevocationListState s = db::GetListState(tx, kid);
                       List l;
                       l.kid = kid;
                       l.since = since;
                       l.version = issue.version;
                       l.key_revoked = s.KeyRevokedAt(issue.version);
                       l.ids = db::RevokedIds(tx, kid, since, issue.version);
                       return l;
                     });
  d.issued_at = issue.issued_at;
  d.next_update = issue.next_update;
  std::string signed_delta = Sign(SigningInput(d, config_.list_key_kid));
  std::string stored = pool_.Run("revocation.delta.put", [&](db::Tx& tx) {
    return db::PutSignedDelta(tx, kid, issue.version, issue.issued_at, since, signed_delta);
  });
  return SignedList{stored, issue.version, issue.issued_at, issue.next_update};
}

RevocationNonce RevocationService::CreateNonce() {
  const std::int64_t now = clock_.Now();
  RevocationNonce n{RandomBytes(kNonceSize), now + config_.nonce_ttl};
  pool_.Run("revocation.nonce", [&](db::Tx& tx) {
    db::PruneRevocationNonces(tx, now - 86400);
    db::InsertRevocationNonce(tx, n.nonce, n.expires_at);
  });
  return n;
}

HolderRevoked RevocationService::RevokeByHolder(std::string_view body) {
  const std::int64_t now = clock_.Now();
  HolderRequest req = ParseHolderRequest(body);
  // The credential: canonical issued form, issuer signature under a listed key, not expired.
  credential::Parsed cred = credential::VerifyIssued(req.credential, config_.issuer_keys, now);
  if (!KnownKid(cred.kid)) Fail(ErrorKind::kNotFound, "revocation: no list for this kid");
  const Bytes rid = credential::RevocationId(cred);
  // The proof: well formed (400), then signed by the holder key with our audience, fresh (401).
  HolderProof proof = ParseHolderProof(req.proof);
  jws::PublicKey holder = jws::PublicKey::FromJwk(cred.cnf_jwk);
  try {
    VerifyHolderProof(req.proof, holder);
  } catch (const Error&) {
    Unauthorized("not signed by the credential's holder key");
  }
  if (proof.aud != config_.iss) Unauthorized("wrong audience");
  if (proof.rid != rid) Unauthorized("rid is not this credential's revocation id");
  if (proof.iat < now - config_.proof_max_age || proof.iat > now + config_.proof_max_skew) {
    Unauthorized("iat outside the accepted window");
  }
  return pool_.Run("revocation.holder", [&](db::Tx& tx) {
    if (!db::ConsumeRevocationNonce(tx, proof.nonce, now)) {
      Unauthorized("nonce unknown, already used or expired");
    }
    HolderRevoked out;
    out.kid = cred.kid;
    out.revocation_id = rid;
    out.newly_revoked = db::Revoke(tx, {db::RevocationEntry{cred.kid, rid}}, "holder", now) > 0;
    out.version = db::GetListState(tx, cred.kid).version;
    return out;
  });
}

std::int64_t RevocationService::RevokeKey(std::string_view kid, bool* newly) {
  if (!KnownKid(kid)) Fail(ErrorKind::kNotFound, "revocation: no list for this kid");
  const std::int64_t now = clock_.Now();
  return pool_.Run("revocation.key", [&](db::Tx& tx) {
    bool changed = db::RevokeKey(tx, kid, "key", now);
    if (newly != nullptr) *newly = changed;
    return db::GetListState(tx, kid).version;
  });
}

}  // namespace realdid::revocation
