// RevocationService: the authority side of revocation (BRIEF section 7, docs/protocol.md 10).
// No HTTP here: authority/revocation_routes.cc maps requests and errors.
//
// - Lists: one per issuer kid of the key manifest. An "issue" of a list is (version, issued_at,
//   next_update = issued_at + list_validity) signed once in the HSM (ES256, the revocation-list
//   key) and cached in PostgreSQL (db/revocation_store.h), so every node serves the same bytes. A
//   new issue is signed when the version moved on (and min_reissue_interval has passed) or when the
//   cached issue is older than refresh_after; never is a stale issue served. Deltas of the current
//   issue since any earlier version are signed on demand and cached the same way.
// - Holder revocation: the issuer-signed credential (issued form, verified against the issuer key
//   set) plus a proof of possession of its holder key (core/revocation_list.h HolderProof) with an
//   authority nonce (single use, consumed in the revoking transaction), aud = iss, fresh iat, and
//   rid = the credential's revocation id. Idempotent.
// - Key revocation (operator): the whole kid.
// Every revocation appends an audit row (db::Revoke / db::RevokeKey) in its transaction.
// Errors: kInvalidInput (malformed, expired credential), kUnauthorized (proof: wrong holder key,
// audience, rid, stale iat, unknown/used nonce), kNotFound (unknown kid), kConflict (delta since a
// version the authority never reached), DbError/HSM errors (503/500).
// Thread-safety: all member functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/sdjwt.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "issuance/clock.h"

namespace realdid::revocation {

struct ServiceConfig {
  std::string iss;                 // the authority's base URL: the audience of holder proofs
  hsm::KeyRef list_key;            // the revocation-list key (role "revocation-list")
  std::string list_key_kid;        // its RFC 7638 thumbprint
  std::vector<std::string> kids;   // issuer (blind-signing) kids that have lists
  sdjwt::KeyLookup issuer_keys;    // kid -> PS384 key, for the credential of a holder revocation
  std::int64_t list_validity = 86400;     // next_update - issued_at
  std::int64_t refresh_after = 43200;     // re-issue an unchanged list after this age
  std::int64_t min_reissue_interval = 0;  // batch version changes into at most one issue per T
  std::int64_t nonce_ttl = 300;
  std::int64_t proof_max_age = 300;       // proof iat in [now - max_age, now + max_skew]
  std::int64_t proof_max_skew = 60;
};

struct SignedList {
  std::string jws;
  std::int64_t version = 0;
  std::int64_t issued_at = 0;
  std::int64_t next_update = 0;
};

struct RevocationNonce {
  Bytes nonce;  // 16
  std::int64_t expires_at = 0;
};

struct HolderRevoked {
  std::string kid;
  Bytes revocation_id;
  std::int64_t version = 0;  // list version that contains it (current version)
  bool newly_revoked = false;
};

class RevocationService {
 public:
  // Validates the configuration (kInvalidInput). Token, pool and clock must outlive the service.
  RevocationService(ServiceConfig config, hsm::Token& token, db::Pool& pool,
                    const issuance::Clock& clock);

  const ServiceConfig& config() const noexcept { return config_; }
  bool KnownKid(std::string_view kid) const;

  SignedList Full(std::string_view kid);
  SignedList Delta(std::string_view kid, std::int64_t since);

  RevocationNonce CreateNonce();
  // body: core/revocation_list.h HolderRequest JSON.
  HolderRevoked RevokeByHolder(std::string_view body);
  // Returns the list version after the call; newly = false when the key was revoked already.
  std::int64_t RevokeKey(std::string_view kid, bool* newly = nullptr);

 private:
  std::string Sign(const std::string& signing_input);

  ServiceConfig config_;
  hsm::Token& token_;
  db::Pool& pool_;
  const issuance::Clock& clock_;
};

}  // namespace realdid::revocation
