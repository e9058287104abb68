#include "wallet/issuance.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "core/base64url.h"
#include "core/candidate.h"
#include "core/escrow.h"
#include "core/idnumber.h"
#include "core/jws.h"

namespace realdid::wallet {
namespace {

[[noreturn]] void Refuse(const std::string& reason) { throw WalletRefusal(reason); }

const json::Value& Member(const json::Value& obj, std::string_view key) {
  if (!obj.is_object()) Refuse("answer is not a JSON object");
  const json::Value* v = obj.find(key);
  if (v == nullptr) Refuse("answer lacks \"" + std::string(key) + "\"");
  return *v;
}
const std::string& Str(const json::Value& obj, std::string_view key) {
  const json::Value& v = Member(obj, key);
  if (!v.is_string()) Refuse("\"" + std::string(key) + "\" is not a string");
  return v.as_string();
}
std::int64_t Int(const json::Value& obj, std::string_view key) {
  const json::Value& v = Member(obj, key);
  if (!v.is_int()) Refuse("\"" + std::string(key) + "\" is not an integer");
  return v.as_int();
}
bool Bool(const json::Value& obj, std::string_view key) {
  const json::Value& v = Member(obj, key);
  if (!v.is_bool()) Refuse("\"" + std::string(key) + "\" is not a boolean");
  return v.as_bool();
}
Bytes B64(const json::Value& obj, std::string_view key, std::size_t len) {
  Bytes b;
  try {
    b = b64url::Decode(Str(obj, key));
  } catch (const WalletRefusal&) {
    throw;
  } catch (const Error&) {
    Refuse("\"" + std::string(key) + "\" is not canonical base64url");
  }
  if (b.size() != len) {
    Refuse("\"" + std::string(key) + "\" is not " + std::to_string(len) + " bytes");
  }
  return b;
}
json::Value ParseAnswer(std::string_view body) {
  try {
    return json::Parse(body);
  } catch (const Error&) {
    Refuse("the authority's answer is not strict JSON");
  }
}

void WipeBytes(Bytes& b) noexcept {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
  b.clear();
}

// A uniformly random r with 1 < r < n, exactly modulus length (gcd is checked by BlindWith).
Secret DrawR(const blind_rsa::PublicKey& pk) {
  const Bytes& n = pk.n();
  for (;;) {
    Secret r = Secret::Random(n.size());
    ByteView rv = r.reveal();
    // Clear bits above n's top bit so the loop accepts with probability >= 1/2.
    std::uint8_t top = n[0];
    std::uint8_t mask = 0xff;
    while (mask != 0 && (mask >> 1) >= top) mask = static_cast<std::uint8_t>(mask >> 1);
    Bytes tmp(rv.begin(), rv.end());
    tmp[0] &= mask;
    bool less = std::lexicographical_compare(tmp.begin(), tmp.end(), n.begin(), n.end());
    bool gt_one = std::any_of(tmp.begin(), tmp.end() - 1, [](std::uint8_t c) { return c != 0; }) ||
                  tmp.back() > 1;
    Secret out(std::move(tmp));
    if (less && gt_one) return out;
  }
}

jws::PrivateKey HolderKeyFromScalar(const Secret& d) { return jws::PrivateKey::EcP256FromScalar(d.reveal()); }

Secret DrawHolderScalar() {
  for (;;) {
    Secret d = Secret::Random(32);
    try {
      (void)HolderKeyFromScalar(d);
      return d;
    } catch (const Error&) {
      // 0 or >= group order: negligible; draw again.
    }
  }
}

}  // namespace

SessionOffer ParseSessionOffer(std::string_view body) {
  json::Value v = ParseAnswer(body);
  SessionOffer o;
  o.session_id = Str(v, "session_id");
  (void)B64(v, "session_id", 16);
  (void)B64(v, "session_secret", 16);
  o.session_secret = Secret::FromString(Str(v, "session_secret"));
  o.issuance_id = B64(v, "issuance_id", escrow::kIssuanceIdLen);
  o.values.iss = Str(v, "iss");
  o.values.vct = Str(v, "vct");
  o.values.kid = Str(v, "kid");
  o.values.iat = Int(v, "iat");
  o.values.exp = Int(v, "exp");
  const json::Value& a = Member(v, "attested");
  o.values.attested.age_over_18 = Bool(a, "age_over_18");
  o.values.attested.age_over_60 = Bool(a, "age_over_60");
  o.values.attested.province = Str(a, "province");
  o.values.attested.nationality = Str(a, "nationality");
  o.values.attested.real_name_verified = Bool(a, "real_name_verified");
  o.values.escrow_kid = Str(v, "escrow_kid");
  o.k = Int(v, "k");
  o.expires_at = Int(v, "expires_at");
  return o;
}

void CheckSession(const SessionOffer& o, const KeySet& keys, const SessionExpectations& expect) {
  const auto& s = o.values;
  if (o.issuance_id.size() != escrow::kIssuanceIdLen) Refuse("issuance id is not 16 bytes");
  if (s.vct != credential::kVct || keys.policy.vct != credential::kVct) {
    Refuse("vct is not " + std::string(credential::kVct));
  }
  if (s.iss != expect.iss) Refuse("iss is not the authority's published base URL");
  const SigningKey* active = keys.Active(expect.now);
  if (active == nullptr) Refuse("the published key set has no single active signing key");
  if (s.kid != active->kid) Refuse("the session's signing key is not the single active published key");
  if (active->pk.e() != Bytes{0x01, 0x00, 0x01}) Refuse("the signing key's e is not 65537");
  if (static_cast<std::int64_t>(active->pk.modulus_bits()) != keys.policy.modulus_bits) {
    Refuse("the signing key's modulus size is not the published one");
  }
  if (s.escrow_kid != keys.escrow_kid) Refuse("the escrow key id is not the published one");
  std::int64_t midnight = expect.now - (expect.now % 86400);
  if (s.iat != midnight) Refuse("iat is not today's UTC midnight");
  if (s.exp != s.iat + keys.policy.credential_lifetime) {
    Refuse("exp is not iat + the published credential lifetime");
  }
  idnumber::Attributes attrs;
  try {
    attrs = idnumber::DeriveFromId(expect.id_number, idnumber::CivilFromUnixSeconds(expect.now));
  } catch (const Error& e) {
    Refuse(std::string("the ID number is invalid: ") + e.what());
  }
  if (s.attested.age_over_18 != attrs.age_over_18) Refuse("attested age_over_18 is not what the ID number gives");
  if (s.attested.age_over_60 != attrs.age_over_60) Refuse("attested age_over_60 is not what the ID number gives");
  if (s.attested.province != attrs.province) Refuse("attested province is not what the ID number gives");
  if (s.attested.nationality != "CN") Refuse("attested nationality is not CN");
  if (!s.attested.real_name_verified) Refuse("attested real_name_verified is not true");
  if (o.k < keys.policy.min_k) Refuse("K is below the published minimum");
  if (o.k > kMaxK) Refuse("K is above " + std::to_string(kMaxK));
}

struct Issuance::Candidate {
  CandidateInputs in;
  json::Value holder_jwk;
  Bytes holder_x;
  Bytes holder_y;
  hpke::Sealed escrow;
  hpke::Sealed trace;
  credential::Built built;
  blind_rsa::Blinding blinding;
  CandidateCommitment commitment;

  void Wipe() noexcept {
    in.holder_d.wipe();
    in.pss_salt.wipe();
    in.r.wipe();
    in.escrow_ikm.wipe();
    in.trace_ikm.wipe();
    WipeBytes(in.jti);
    for (auto& s : in.salts) WipeBytes(s);
    WipeBytes(holder_x);
    WipeBytes(holder_y);
    WipeBytes(escrow.enc);
    WipeBytes(escrow.ct);
    WipeBytes(trace.enc);
    WipeBytes(trace.ct);
    blinding.salt.wipe();
    blinding.r.wipe();
    blinding.inv.wipe();
    WipeBytes(blinding.blinded_msg);
    WipeBytes(commitment.blinded_msg);
    WipeBytes(commitment.trace);
    for (std::string* str : {&built.header_json, &built.payload_json, &built.signing_input}) {
      if (!str->empty()) OPENSSL_cleanse(str->data(), str->size());
      str->clear();
    }
    for (auto& d : built.disclosures) {
      if (!d.empty()) OPENSSL_cleanse(d.data(), d.size());
    }
    built.disclosures.clear();
    holder_jwk = json::Value();
  }
};

void Issuance::Require(bool ok, const std::string& reason) {
  if (!ok) {
    Abort();
    Refuse(reason);
  }
}

Issuance::Issuance(const KeySet& keys, const SessionOffer& offer, const TamperForTesting* tamper)
    : keys_(keys), session_(offer.values), tamper_(tamper) {
  key_ = keys_.Find(session_.kid);
  Require(key_ != nullptr, "the session's signing key is not in the published key set");
  Require(offer.k >= 1 && offer.k <= kMaxK, "K out of range");
  Require(offer.issuance_id.size() == escrow::kIssuanceIdLen, "issuance id is not 16 bytes");
  const std::size_t k = static_cast<std::size_t>(offer.k);
  try {
    json::Array committed;
    committed.reserve(k);
    for (std::size_t i = 0; i < k; ++i) {
      auto c = std::make_unique<Candidate>();
      CandidateInputs& in = c->in;
      in.session = session_;
      in.issuance_id = offer.issuance_id;
      in.holder_d = DrawHolderScalar();
      in.jti = RandomBytes(credential::kJtiSize);
      for (auto& s : in.salts) s = RandomBytes(credential::kSaltSize);
      in.pss_salt = Secret::Random(blind_rsa::kSaltLen);
      in.r = DrawR(key_->pk);
      in.escrow_ikm = Secret::Random(escrow::kIkmLen);
      in.trace_ikm = Secret::Random(escrow::kIkmLen);
      if (tamper_ != nullptr && tamper_->inputs) tamper_->inputs(i, in);

      c->holder_jwk = HolderKeyFromScalar(in.holder_d).Public().Jwk();
      c->holder_x = b64url::Decode(c->holder_jwk.at("x").as_string());
      c->holder_y = b64url::Decode(c->holder_jwk.at("y").as_string());
      candidate::Opening op{.holder_x = c->holder_x,
                            .holder_y = c->holder_y,
                            .jti = in.jti,
                            .salts = {},
                            .pss_salt = in.pss_salt.reveal(),
                            .r = in.r.reveal(),
                            .escrow_ikm = in.escrow_ikm.reveal(),
                            .trace_ikm = in.trace_ikm.reveal()};
      for (std::size_t s = 0; s < credential::kNumDisclosed; ++s) op.salts[s] = in.salts[s];
      candidate::Candidate derived = candidate::Derive(
          candidate::Context{in.session, in.issuance_id, keys_.escrow_pk, key_->pk}, op);
      c->escrow = std::move(derived.escrow);
      c->trace = std::move(derived.trace);
      c->built = std::move(derived.credential);
      c->blinding = std::move(derived.blinding);
      c->commitment.blinded_msg = c->blinding.blinded_msg;
      c->commitment.trace = Concat({c->trace.enc, c->trace.ct});
      if (tamper_ != nullptr && tamper_->commitment) tamper_->commitment(i, c->commitment);
      committed.push_back(json::Object{{"blinded_msg", b64url::Encode(c->commitment.blinded_msg)},
                                       {"trace", b64url::Encode(c->commitment.trace)}});
      candidates_.push_back(std::move(c));
    }
    json::Value doc = json::Object{{"candidates", std::move(committed)}};
    if (tamper_ != nullptr && tamper_->commit) tamper_->commit(doc);
    commit_body_ = json::Serialize(doc);
  } catch (...) {
    Abort();
    throw;
  }
}

Issuance::~Issuance() { Abort(); }

void Issuance::Abort() noexcept {
  for (auto& c : candidates_) {
    if (c) c->Wipe();
  }
  candidates_.clear();
  if (!reveal_body_.empty()) OPENSSL_cleanse(reveal_body_.data(), reveal_body_.size());
  reveal_body_.clear();
  aborted_ = true;
}

void Issuance::AcceptChallenge(std::string_view commit_answer) {
  Require(!aborted_, "the issuance was aborted");
  json::Value v;
  std::int64_t j = -1;
  try {
    v = ParseAnswer(commit_answer);
    j = Int(v, "challenge");
  } catch (const Error&) {
    Abort();
    throw;
  }
  Require(j >= 0 && static_cast<std::size_t>(j) < candidates_.size(),
          "the challenge is outside [0, K)");
  const auto ju = static_cast<std::size_t>(j);
  if (challenge_.has_value()) {
    Require(*challenge_ == ju, "the authority answered the same commit with a different challenge");
    return;
  }
  challenge_ = ju;
}

const std::string& Issuance::RevealBody() {
  Require(!aborted_, "the issuance was aborted");
  Require(challenge_.has_value(), "no challenge accepted yet");
  if (!reveal_body_.empty()) return reveal_body_;
  json::Array openings;
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    if (i == *challenge_) continue;  // never sent anywhere
    const Candidate& c = *candidates_[i];
    json::Array salts;
    for (const auto& s : c.in.salts) salts.emplace_back(b64url::Encode(s));
    openings.push_back(json::Object{
        {"index", static_cast<std::int64_t>(i)},
        {"holder_jwk", json::Object{{"kty", "EC"}, {"crv", "P-256"},
                                    {"x", b64url::Encode(c.holder_x)},
                                    {"y", b64url::Encode(c.holder_y)}}},
        {"jti", b64url::Encode(c.in.jti)},
        {"salts", std::move(salts)},
        {"pss_salt", b64url::Encode(c.in.pss_salt.reveal())},
        {"r", b64url::Encode(c.in.r.reveal())},
        {"escrow_ikm", b64url::Encode(c.in.escrow_ikm.reveal())},
        {"trace_ikm", b64url::Encode(c.in.trace_ikm.reveal())}});
  }
  json::Value doc = json::Object{{"openings", std::move(openings)}};
  if (tamper_ != nullptr && tamper_->reveal) tamper_->reveal(doc);
  reveal_body_ = json::Serialize(doc);
  return reveal_body_;
}

IssuedCredential Issuance::Finish(std::string_view reveal_answer, std::int64_t now) {
  Require(!aborted_ && !finished_, "the issuance is not waiting for a signature");
  Require(challenge_.has_value(), "no challenge accepted yet");
  Candidate& c = *candidates_[*challenge_];
  try {
    json::Value v = ParseAnswer(reveal_answer);
    Bytes blind_sig = B64(v, "blind_signature", key_->pk.modulus_len());
    // The blind signature must be a signature on exactly the committed message.
    blind_rsa::CheckBlindSignature(key_->pk, c.blinding.blinded_msg, blind_sig);
    Bytes sig = blind_rsa::Finalize(key_->pk, AsBytes(c.built.signing_input), blind_sig, c.blinding);
    IssuedCredential out;
    out.issued = c.built.Issued(sig);
    credential::Parsed p = credential::VerifyIssued(out.issued, keys_.Lookup(now), now);
    if (p.jti != c.in.jti || p.kid != key_->kid) Refuse("the finished credential is not candidate j");
    out.holder_d = c.in.holder_d;
    out.holder_jwk = c.holder_jwk;
    out.kid = key_->kid;
    finished_ = true;
    Abort();  // the other candidates (and j's blinding) are no longer needed
    return out;
  } catch (const Error& e) {
    Abort();
    if (dynamic_cast<const WalletRefusal*>(&e) != nullptr) throw;
    Refuse(std::string("the signature does not verify: ") + e.what());
  }
}

}  // namespace realdid::wallet
