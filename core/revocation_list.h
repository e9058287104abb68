// Signed revocation lists (BRIEF section 7, docs/protocol.md 10): one list per issuer key id, a JWS
// ES256 signed by the dedicated revocation-list key (HSM label realdid-revocation-p256), in a full
// form and a delta form ("the ids added since version V"); and the holder's revocation proof.
//
// Byte layout (canonical JSON per core/json.h, members in exactly this order):
//   header (full)  = {"alg":"ES256","kid":<list-key kid>,"typ":"realdid-revocation-list+jwt"}
//   header (delta) = {"alg":"ES256","kid":<list-key kid>,"typ":"realdid-revocation-delta+jwt"}
//   payload (full) = {"kid":<issuer kid>,"version":<int>,"issued_at":<int>,"next_update":<int>,
//                     "key_revoked":<bool>,"ids":[<b64url(32 bytes)>...]}
//   payload (delta)= {"kid":..,"since":<int>,"version":..,"issued_at":..,"next_update":..,
//                     "key_revoked":..,"ids":[the ids added in versions (since, version]]}
//   ids sorted strictly ascending by byte value (so no repeats); no reasons, no per-entry times.
//   Rules: kids 43-char base64url of 32 bytes; 0 <= version; 0 <= issued_at < next_update;
//   version 0 has no ids and key_revoked false; delta 0 <= since <= version.
// Holder revocation proof (a KB-JWT-like JWS signed with the credential's holder key cnf.jwk):
//   header  = {"alg":"ES256","typ":"realdid-revoke+jwt"}
//   payload = {"aud":<authority base URL>,"nonce":<b64url(16)>,"iat":<int>,"rid":<b64url(32)>}
//   rid = credential::RevocationId (SHA-256(jti || thumbprint(cnf))).
//
// Parsers are strict: the decoded JSON must be byte-identical to the canonical serialization of the
// values read (so every deviation, unknown member or reordering is refused).
// Thread-safety: pure functions. Errors: Error(kInvalidInput) "revocation list: ..." naming the
// rule; an invalid signature is the same kind ("revocation list: bad signature").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/jws.h"

namespace realdid::revocation {

inline constexpr std::string_view kListTyp = "realdid-revocation-list+jwt";
inline constexpr std::string_view kDeltaTyp = "realdid-revocation-delta+jwt";
inline constexpr std::string_view kRevokeTyp = "realdid-revoke+jwt";
inline constexpr std::size_t kIdSize = 32;
inline constexpr std::size_t kNonceSize = 16;

struct List {
  std::string kid;                    // issuer (blind-signing) key id
  std::optional<std::int64_t> since;  // set: a delta since this version
  std::int64_t version = 0;
  std::int64_t issued_at = 0;
  std::int64_t next_update = 0;
  bool key_revoked = false;
  std::vector<Bytes> ids;  // strictly ascending

  bool is_delta() const noexcept { return since.has_value(); }
  // Binary search (ids sorted); true also when the whole key is revoked.
  bool Revokes(ByteView revocation_id) const;
};

// The canonical payload / header bytes. Validates every rule above (throws kInvalidInput).
std::string PayloadJson(const List& list);
std::string HeaderJson(std::string_view list_key_kid, bool delta);
// b64url(header) "." b64url(payload)
std::string SigningInput(const List& list, std::string_view list_key_kid);
// <signing_input>.<b64url(r||s)>; signature must be 64 bytes.
std::string Assemble(std::string_view signing_input, ByteView signature);
// Signs with a host key (tests, bench); the authority signs in the HSM over SigningInput().
std::string SignWithKey(const List& list, const jws::PrivateKey& key, std::string_view list_key_kid);

// Strict payload parser (no signature). `delta` selects the expected form.
List ParsePayload(std::string_view payload_json, bool delta);
// Strict compact parse + header check + ES256 signature under the pinned list key (kid equal to
// list_key_kid) + payload parse. `delta` selects the expected typ/form.
List Verify(std::string_view compact, const jws::PublicKey& list_key, std::string_view list_key_kid,
            bool delta);

// Rollback / freshness rules of a relying party (docs/protocol.md 10.4).
// Refuses (kInvalidInput) "stale" when now >= next_update or now < issued_at - max_skew.
void CheckFresh(const List& list, std::int64_t now, std::int64_t max_skew = 300);
// Refuses a list older than the cached one: other kid, lower version, or older issued_at (a
// same-version re-issue must not move issued_at backwards).
void CheckNotRolledBack(const List& cached, const List& fetched);
// full(version V) + delta(since V) -> full(version of the delta). Refuses a kid mismatch, since !=
// cached.version, an id already present, rollback (CheckNotRolledBack).
List ApplyDelta(const List& full, const List& delta);

// ---- holder revocation ----
struct HolderProof {
  std::string aud;
  Bytes nonce;  // 16
  std::int64_t iat = 0;
  Bytes rid;    // 32
};
std::string ProofPayloadJson(const HolderProof& proof);
std::string MakeHolderProof(const jws::PrivateKey& holder, const HolderProof& proof);
// Strict parse of the proof (header canonical, payload canonical) without the signature check.
HolderProof ParseHolderProof(std::string_view compact);
// ParseHolderProof + ES256 signature under the holder key.
HolderProof VerifyHolderProof(std::string_view compact, const jws::PublicKey& holder);

// The holder revocation request body: {"credential":<issued SD-JWT>,"proof":<compact JWS>}
// (canonical JSON, exactly these members). Strict; the credential is parsed by the caller.
struct HolderRequest {
  std::string credential;
  std::string proof;
};
std::string HolderRequestJson(const HolderRequest& request);
HolderRequest ParseHolderRequest(std::string_view body);

}  // namespace realdid::revocation
