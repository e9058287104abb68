#include "core/revocation_list.h"

#include <algorithm>

#include "core/base64url.h"
#include "core/error.h"
#include "core/json.h"

namespace realdid::revocation {
namespace {

[[noreturn]] void Bad(const std::string& what) { InvalidInput("revocation list: " + what); }
[[noreturn]] void BadProof(const std::string& what) { InvalidInput("revocation proof: " + what); }

bool IsB64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool IsKid(std::string_view kid) {
  return kid.size() == 43 && std::all_of(kid.begin(), kid.end(), IsB64UrlChar);
}

Bytes DecodeExact(std::string_view text, std::size_t size, const std::string& what, bool proof) {
  Bytes b;
  try {
    b = b64url::Decode(text);
  } catch (const Error&) {
    if (proof) BadProof(what + " is not canonical base64url");
    Bad(what + " is not canonical base64url");
  }
  if (b.size() != size) {
    if (proof) BadProof(what + " must be " + std::to_string(size) + " bytes");
    Bad(what + " must be " + std::to_string(size) + " bytes");
  }
  return b;
}

void Validate(const List& l) {
  if (!IsKid(l.kid)) Bad("kid must be 43 base64url characters");
  if (l.version < 0) Bad("version must be >= 0");
  if (l.issued_at < 0) Bad("issued_at must be >= 0");
  if (l.next_update <= l.issued_at) Bad("next_update must be after issued_at");
  if (l.since && (*l.since < 0 || *l.since > l.version)) Bad("since must be in [0, version]");
  if (l.version == 0 && (!l.ids.empty() || l.key_revoked)) Bad("version 0 is the empty list");
  for (std::size_t i = 0; i < l.ids.size(); ++i) {
    if (l.ids[i].size() != kIdSize) Bad("a revocation id is 32 bytes");
    if (i > 0 && !(l.ids[i - 1] < l.ids[i])) Bad("ids must be strictly ascending");
  }
}

// Exactly `names` in this order (the canonical comparison catches the rest).
const json::Value& Member(const json::Value& obj, std::string_view name) {
  const json::Value* v = obj.find(name);
  if (v == nullptr) Bad("missing member '" + std::string(name) + "'");
  return *v;
}

std::int64_t Int(const json::Value& obj, std::string_view name) {
  const json::Value& v = Member(obj, name);
  if (!v.is_int()) Bad(std::string(name) + " must be an integer");
  return v.as_int();
}

json::Value ParseCanonical(std::string_view text, bool proof) {
  json::Value v;
  try {
    json::ParseLimits limits;
    limits.max_bytes = std::size_t{256} << 20;  // 10^6 ids are ~47 MB
    limits.max_depth = 4;
    v = json::Parse(text, limits);
  } catch (const Error& e) {
    if (proof) BadProof(std::string("not strict JSON: ") + e.what());
    Bad(std::string("not strict JSON: ") + e.what());
  }
  if (!v.is_object()) {
    if (proof) BadProof("not a JSON object");
    Bad("not a JSON object");
  }
  return v;
}

}  // namespace

bool List::Revokes(ByteView revocation_id) const {
  if (key_revoked) return true;
  Bytes id(revocation_id.begin(), revocation_id.end());
  return std::binary_search(ids.begin(), ids.end(), id);
}

std::string PayloadJson(const List& l) {
  Validate(l);
  json::Array ids;
  ids.reserve(l.ids.size());
  for (const Bytes& id : l.ids) ids.emplace_back(b64url::Encode(id));
  json::Object o;
  o.emplace_back("kid", l.kid);
  if (l.since) o.emplace_back("since", *l.since);
  o.emplace_back("version", l.version);
  o.emplace_back("issued_at", l.issued_at);
  o.emplace_back("next_update", l.next_update);
  o.emplace_back("key_revoked", l.key_revoked);
  o.emplace_back("ids", json::Value(std::move(ids)));
  return json::Serialize(json::Value(std::move(o)));
}

std::string HeaderJson(std::string_view list_key_kid, bool delta) {
  if (!IsKid(list_key_kid)) Bad("list key kid must be 43 base64url characters");
  return json::Serialize(json::Value(json::Object{
      {"alg", "ES256"}, {"kid", std::string(list_key_kid)}, {"typ", delta ? kDeltaTyp : kListTyp}}));
}

std::string SigningInput(const List& list, std::string_view list_key_kid) {
  return jws::SigningInput(HeaderJson(list_key_kid, list.is_delta()), AsBytes(PayloadJson(list)));
}

std::string Assemble(std::string_view signing_input, ByteView signature) {
  if (signature.size() != 64) Bad("an ES256 signature is 64 bytes");
  return std::string(signing_input) + "." + b64url::Encode(signature);
}

std::string SignWithKey(const List& list, const jws::PrivateKey& key,
                        std::string_view list_key_kid) {
  std::string input = SigningInput(list, list_key_kid);
  return Assemble(input, jws::SignRaw(key, jws::Alg::kES256, input));
}

List ParsePayload(std::string_view payload_json, bool delta) {
  json::Value v = ParseCanonical(payload_json, false);
  List l;
  const json::Value& kid = Member(v, "kid");
  if (!kid.is_string()) Bad("kid must be a string");
  l.kid = kid.as_string();
  if (delta) l.since = Int(v, "since");
  l.version = Int(v, "version");
  l.issued_at = Int(v, "issued_at");
  l.next_update = Int(v, "next_update");
  const json::Value& kr = Member(v, "key_revoked");
  if (!kr.is_bool()) Bad("key_revoked must be a boolean");
  l.key_revoked = kr.as_bool();
  const json::Value& ids = Member(v, "ids");
  if (!ids.is_array()) Bad("ids must be an array");
  l.ids.reserve(ids.as_array().size());
  for (const json::Value& id : ids.as_array()) {
    if (!id.is_string()) Bad("an id must be a string");
    l.ids.push_back(DecodeExact(id.as_string(), kIdSize, "an id", false));
  }
  // Rules, then byte identity with the canonical form (member set, order, encoding).
  if (PayloadJson(l) != payload_json) Bad("payload is not in canonical form");
  return l;
}

List Verify(std::string_view compact, const jws::PublicKey& list_key, std::string_view list_key_kid,
            bool delta) {
  jws::Compact c;
  try {
    c = jws::ParseCompact(compact);
  } catch (const Error& e) {
    Bad(std::string("malformed JWS: ") + e.what());
  }
  if (c.header_json != HeaderJson(list_key_kid, delta)) {
    Bad(std::string("header must be exactly ") + HeaderJson(list_key_kid, delta));
  }
  if (c.signature.size() != 64) Bad("an ES256 signature is 64 bytes");
  if (!jws::VerifyRaw(list_key, jws::Alg::kES256, c.signing_input(), c.signature)) {
    Bad("bad signature");
  }
  return ParsePayload(std::string_view(reinterpret_cast<const char*>(c.payload.data()),
                                       c.payload.size()),
                      delta);
}

void CheckFresh(const List& list, std::int64_t now, std::int64_t max_skew) {
  if (now > list.next_update) Bad("stale (now is past next_update)");
  if (now < list.issued_at - max_skew) Bad("issued in the future");
}

void CheckNotRolledBack(const List& cached, const List& fetched) {
  if (cached.kid != fetched.kid) Bad("kid differs from the cached list");
  if (fetched.version < cached.version) Bad("rolled back (version lower than the cached one)");
  if (fetched.issued_at < cached.issued_at) Bad("rolled back (issued_at older than the cached one)");
  if (cached.key_revoked && !fetched.key_revoked) Bad("rolled back (key revocation undone)");
}

List ApplyDelta(const List& full, const List& delta) {
  if (full.is_delta() || !delta.is_delta()) Bad("ApplyDelta takes a full list and a delta");
  CheckNotRolledBack(full, delta);
  if (*delta.since != full.version) Bad("delta does not start at the cached version");
  List out;
  out.kid = full.kid;
  out.version = delta.version;
  out.issued_at = delta.issued_at;
  out.next_update = delta.next_update;
  out.key_revoked = delta.key_revoked;
  out.ids.reserve(full.ids.size() + delta.ids.size());
  std::merge(full.ids.begin(), full.ids.end(), delta.ids.begin(), delta.ids.end(),
             std::back_inserter(out.ids));
  for (std::size_t i = 1; i < out.ids.size(); ++i) {
    if (!(out.ids[i - 1] < out.ids[i])) Bad("delta repeats an id of the cached list");
  }
  Validate(out);
  return out;
}

// ---- holder revocation ----

std::string ProofPayloadJson(const HolderProof& p) {
  if (p.aud.empty()) BadProof("aud is empty");
  if (p.nonce.size() != kNonceSize) BadProof("nonce must be 16 bytes");
  if (p.rid.size() != kIdSize) BadProof("rid must be 32 bytes");
  if (p.iat < 0) BadProof("iat must be >= 0");
  return json::Serialize(json::Value(json::Object{{"aud", p.aud},
                                                  {"nonce", b64url::Encode(p.nonce)},
                                                  {"iat", p.iat},
                                                  {"rid", b64url::Encode(p.rid)}}));
}

namespace {
std::string ProofHeaderJson() {
  return json::Serialize(json::Value(json::Object{{"alg", "ES256"}, {"typ", kRevokeTyp}}));
}
}  // namespace

std::string MakeHolderProof(const jws::PrivateKey& holder, const HolderProof& proof) {
  std::string input = jws::SigningInput(ProofHeaderJson(), AsBytes(ProofPayloadJson(proof)));
  return input + "." + b64url::Encode(jws::SignRaw(holder, jws::Alg::kES256, input));
}

HolderProof ParseHolderProof(std::string_view compact) {
  jws::Compact c;
  try {
    c = jws::ParseCompact(compact);
  } catch (const Error& e) {
    BadProof(std::string("malformed JWS: ") + e.what());
  }
  if (c.header_json != ProofHeaderJson()) BadProof("header must be exactly " + ProofHeaderJson());
  if (c.signature.size() != 64) BadProof("an ES256 signature is 64 bytes");
  std::string payload(c.payload.begin(), c.payload.end());
  json::Value v = ParseCanonical(payload, true);
  HolderProof p;
  const json::Value* aud = v.find("aud");
  const json::Value* nonce = v.find("nonce");
  const json::Value* iat = v.find("iat");
  const json::Value* rid = v.find("rid");
  if (aud == nullptr || !aud->is_string()) BadProof("aud must be a string");
  if (nonce == nullptr || !nonce->is_string()) BadProof("nonce must be a string");
  if (iat == nullptr || !iat->is_int()) BadProof("iat must be an integer");
  if (rid == nullptr || !rid->is_string()) BadProof("rid must be a string");
  p.aud = aud->as_string();
  p.nonce = DecodeExact(nonce->as_string(), kNonceSize, "nonce", true);
  p.iat = iat->as_int();
  p.rid = DecodeExact(rid->as_string(), kIdSize, "rid", true);
  if (ProofPayloadJson(p) != payload) BadProof("payload is not in canonical form");
  return p;
}

HolderProof VerifyHolderProof(std::string_view compact, const jws::PublicKey& holder) {
  HolderProof p = ParseHolderProof(compact);
  jws::Compact c = jws::ParseCompact(compact);
  if (holder.is_rsa() || !jws::VerifyRaw(holder, jws::Alg::kES256, c.signing_input(), c.signature)) {
    BadProof("bad signature (not the credential's holder key)");
  }
  return p;
}

std::string HolderRequestJson(const HolderRequest& r) {
  return json::Serialize(
      json::Value(json::Object{{"credential", r.credential}, {"proof", r.proof}}));
}

HolderRequest ParseHolderRequest(std::string_view body) {
  json::Value v;
  try {
    json::ParseLimits limits;
    limits.max_bytes = std::size_t{64} * 1024;
    limits.max_depth = 2;
    v = json::Parse(body, limits);
  } catch (const Error& e) {
    InvalidInput(std::string("revocation request: not strict JSON: ") + e.what());
  }
  if (!v.is_object()) InvalidInput("revocation request: not a JSON object");
  const json::Value* cred = v.find("credential");
  const json::Value* proof = v.find("proof");
  if (cred == nullptr || !cred->is_string()) {
    InvalidInput("revocation request: credential must be a string");
  }
  if (proof == nullptr || !proof->is_string()) {
    InvalidInput("revocation request: proof must be a string");
  }
  if (v.as_object().size() != 2) InvalidInput("revocation request: unknown member");
  return HolderRequest{cred->as_string(), proof->as_string()};
}

}  // namespace realdid::revocation
