#include "wallet/key_set.h"

#include "core/base64url.h"
#include "core/error.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/key_window.h"

namespace realdid::wallet {
namespace {

[[noreturn]] void Bad(const std::string& what) { InvalidInput("key set: " + what); }

const json::Value& Member(const json::Value& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) Bad(std::string(where) + " is not an object");
  const json::Value* v = obj.find(key);
  if (v == nullptr) Bad(std::string(where) + " lacks \"" + std::string(key) + "\"");
  return *v;
}
const std::string& Str(const json::Value& obj, std::string_view key, std::string_view where) {
  const json::Value& v = Member(obj, key, where);
  if (!v.is_string()) Bad(std::string(where) + " \"" + std::string(key) + "\" is not a string");
  return v.as_string();
}
std::int64_t Int(const json::Value& obj, std::string_view key, std::string_view where) {
  const json::Value& v = Member(obj, key, where);
  if (!v.is_int()) Bad(std::string(where) + " \"" + std::string(key) + "\" is not an integer");
  return v.as_int();
}

}  // namespace

const SigningKey* KeySet::Find(std::string_view kid) const noexcept {
  for (const auto& k : keys) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

const SigningKey* KeySet::Active(std::int64_t now) const noexcept {
  return key_window::Active(std::span<const SigningKey>(keys), now);
}

sdjwt::KeyLookup KeySet::Lookup(std::int64_t now) const {
  // Copies the keys so the lookup does not depend on this object's lifetime.
  std::vector<SigningKey> copy = keys;
  return [copy = std::move(copy), now](std::string_view kid) -> std::optional<jws::PublicKey> {
    for (const auto& k : copy) {
      if (k.kid == kid && k.ValidAt(now)) return jws::PublicKey::Rsa(k.pk.n(), k.pk.e());
    }
    return std::nullopt;
  };
}

KeySet ParseKeySet(std::string_view text) {
  json::Value doc;
  try {
    doc = json::Parse(text);
  } catch (const Error& e) {
    Bad(std::string("not strict JSON: ") + e.what());
  }
  KeySet ks{.keys = {}, .escrow_kid = {}, .escrow_jwk = {},
            .escrow_pk = hpke::GenerateKeyPair().public_key, .policy = {}, .text = std::string(text)};
  const json::Value& keys = Member(doc, "keys", "document");
  if (!keys.is_array()) Bad("\"keys\" is not an array");
  for (const json::Value& k : keys.as_array()) {
    if (Str(k, "kty", "key") != "RSA") Bad("a signing key is not RSA");
    if (Str(k, "alg", "key") != "PS384") Bad("a signing key's alg is not PS384");
    if (Str(k, "use", "key") != "sig") Bad("a signing key's use is not sig");
    if (Str(k, "e", "key") != "AQAB") Bad("a signing key's e is not 65537");
    SigningKey sk{.kid = Str(k, "kid", "key"), .jwk = k,
                  .pk = blind_rsa::PublicKey::FromComponents(b64url::Decode(Str(k, "n", "key")),
                                                             b64url::Decode(Str(k, "e", "key"))),
                  .nbf = Int(k, "nbf", "key"), .exp = Int(k, "exp", "key")};
    if (jwk::Kid(jwk::RsaPublic(sk.pk.n(), sk.pk.e())) != sk.kid) {
      Bad("a signing key's kid is not its RFC 7638 thumbprint");
    }
    if (sk.nbf >= sk.exp) Bad("a signing key's window is empty (nbf >= exp)");
    if (ks.Find(sk.kid) != nullptr) Bad("a kid is listed twice");
    ks.keys.push_back(std::move(sk));
  }
  const json::Value& esc = Member(doc, "escrow", "document");
  if (Str(esc, "kty", "escrow key") != "EC" || Str(esc, "crv", "escrow key") != "P-256") {
    Bad("the escrow key is not EC P-256");
  }
  if (Str(esc, "alg", "escrow key") != "HPKE-Base-P256-SHA256-AES128GCM") {
    Bad("the escrow key's alg is not HPKE-Base-P256-SHA256-AES128GCM");
  }
  Bytes x = b64url::Decode(Str(esc, "x", "escrow key"));
  Bytes y = b64url::Decode(Str(esc, "y", "escrow key"));
  if (x.size() != 32 || y.size() != 32) Bad("the escrow key's coordinates are not 32 bytes");
  Bytes point = Concat({Bytes{0x04}, x, y});
  ks.escrow_pk = hpke::DeserializePublicKey(point);
  ks.escrow_jwk = jwk::EcP256Public(x, y);
  ks.escrow_kid = Str(esc, "kid", "escrow key");
  if (jwk::Kid(ks.escrow_jwk) != ks.escrow_kid) {
    Bad("the escrow kid is not its RFC 7638 thumbprint");
  }
  const json::Value& pol = Member(doc, "policy", "document");
  ks.policy.vct = Str(pol, "vct", "policy");
  ks.policy.modulus_bits = Int(pol, "modulus_bits", "policy");
  ks.policy.e = Int(pol, "e", "policy");
  ks.policy.credential_lifetime = Int(pol, "credential_lifetime", "policy");
  ks.policy.k = Int(pol, "k", "policy");
  ks.policy.min_k = Int(pol, "min_k", "policy");
  if (ks.policy.e != 65537) Bad("policy e is not 65537");
  if (ks.policy.modulus_bits != 2048 && ks.policy.modulus_bits != 3072 &&
      ks.policy.modulus_bits != 4096) {
    Bad("policy modulus_bits is not 2048, 3072 or 4096");
  }
  if (ks.policy.credential_lifetime <= 0) Bad("policy credential_lifetime is not positive");
  if (ks.policy.min_k < 2 || ks.policy.k < ks.policy.min_k) Bad("policy k < min_k or min_k < 2");
  return ks;
}

}  // namespace realdid::wallet
