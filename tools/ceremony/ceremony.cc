#include "tools/ceremony/ceremony.h"

#include <chrono>
#include <fstream>
#include <memory>

#include "core/base64url.h"
#include "core/error.h"
#include "core/jwk.h"
#include "hsm/module.h"
#include "hsm/session.h"

namespace realdid::ceremony {

namespace {

using hsm::Attr;
using hsm::AttrBytes;
using hsm::AttrOf;
using hsm::AttrString;
using hsm::Check;
using hsm::Session;

constexpr CK_BBOOL kTrue = CK_TRUE;
constexpr CK_BBOOL kFalse = CK_FALSE;

// Destroys every object it holds unless Commit() is called: the run is all-or-nothing.
class CreatedObjects {
 public:
  CreatedObjects() = default;
  CreatedObjects(const CreatedObjects&) = delete;
  CreatedObjects& operator=(const CreatedObjects&) = delete;
  ~CreatedObjects() {
    if (committed_) return;
    for (auto it = objects_.rbegin(); it != objects_.rend(); ++it) {
      (void)it->first->fn().C_DestroyObject(it->first->handle(), it->second);
    }
  }
  void Add(Session& s, CK_OBJECT_HANDLE h) { objects_.emplace_back(&s, h); }
  void Commit() noexcept { committed_ = true; }

 private:
  std::vector<std::pair<Session*, CK_OBJECT_HANDLE>> objects_;
  bool committed_ = false;
};

void VerifyProtected(Session& s, CK_OBJECT_HANDLE h, CK_MECHANISM_TYPE mech, const std::string& what) {
  auto require = [&](bool ok, const char* attr) {
    if (!ok) Fail(ErrorKind::kInternal, what + ": attribute check failed: " + attr);
  };
  require(s.GetBool(h, CKA_TOKEN), "CKA_TOKEN");
  require(s.GetBool(h, CKA_PRIVATE), "CKA_PRIVATE");
  require(s.GetBool(h, CKA_SENSITIVE), "CKA_SENSITIVE");
  require(!s.GetBool(h, CKA_EXTRACTABLE), "CKA_EXTRACTABLE");
  require(s.GetBool(h, CKA_ALWAYS_SENSITIVE), "CKA_ALWAYS_SENSITIVE");
  require(s.GetBool(h, CKA_NEVER_EXTRACTABLE), "CKA_NEVER_EXTRACTABLE");
  std::vector<CK_MECHANISM_TYPE> mechs = s.GetMechanisms(h);
  require(mechs.size() == 1 && mechs.front() == mech, "CKA_ALLOWED_MECHANISMS");
  // A sensitive value must not be readable.
  CK_ATTRIBUTE a{CKA_VALUE, nullptr, 0};
  CK_RV rv = s.fn().C_GetAttributeValue(s.handle(), h, &a, 1);
  require(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
              a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
          "CKA_VALUE readable");
}

void SetId(Session& s, CK_OBJECT_HANDLE h, ByteView id) {
  CK_ATTRIBUTE a = AttrBytes(CKA_ID, id);
  Check(s.fn().C_SetAttributeValue(s.handle(), h, &a, 1), "C_SetAttributeValue", "CKA_ID");
}

struct KeyPair {
  CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
};

KeyPair GenerateKeyPair(Session& s, CreatedObjects& created, CK_MECHANISM_TYPE gen_mech,
                        std::vector<CK_ATTRIBUTE> pub, std::vector<CK_ATTRIBUTE> priv) {
  CK_MECHANISM mech{gen_mech, nullptr, 0};
  KeyPair kp;
  Check(s.fn().C_GenerateKeyPair(s.handle(), &mech, pub.data(), hsm::ToCkUlong(pub.size()), priv.data(),
                                 hsm::ToCkUlong(priv.size()), &kp.pub, &kp.priv),
        "C_GenerateKeyPair");
  created.Add(s, kp.pub);
  created.Add(s, kp.priv);
  return kp;
}

KeyRecord CreateRsa(Session& s, CreatedObjects& created, const std::string& token, int bits,
                    const std::string& role = "blind-signing", std::string label = {}) {
  if (label.empty()) label = BlindRsaLabel(bits);
  const Bytes tmp_id = RandomBytes(16);
  const CK_ULONG modulus_bits = static_cast<CK_ULONG>(bits);
  const Bytes e = {0x01, 0x00, 0x01};
  const CK_MECHANISM_TYPE allowed = CKM_RSA_X_509;
  KeyPair kp = GenerateKeyPair(
      s, created, CKM_RSA_PKCS_KEY_PAIR_GEN,
      {AttrOf(CKA_TOKEN, kTrue), AttrOf(CKA_PRIVATE, kFalse), AttrString(CKA_LABEL, label),
       AttrBytes(CKA_ID, tmp_id), AttrOf(CKA_MODULUS_BITS, modulus_bits), AttrBytes(CKA_PUBLIC_EXPONENT, e),
       AttrOf(CKA_VERIFY, kTrue), AttrOf(CKA_ENCRYPT, kFalse), AttrOf(CKA_WRAP, kFalse),
       AttrOf(CKA_ALLOWED_MECHANISMS, allowed)},
      {AttrOf(CKA_TOKEN, kTrue), AttrOf(CKA_PRIVATE, kTrue), AttrOf(CKA_SENSITIVE, kTrue),
       AttrOf(CKA_EXTRACTABLE, kFalse), AttrString(CKA_LABEL, label), AttrBytes(CKA_ID, tmp_id),
       AttrOf(CKA_SIGN, kTrue), AttrOf(CKA_DECRYPT, kFalse), AttrOf(CKA_UNWRAP, kFalse),
       AttrOf(CKA_DERIVE, kFalse), AttrOf(CKA_ALLOWED_MECHANISMS, allowed)});
  VerifyProtected(s, kp.priv, allowed, label);
  Bytes n = s.GetBytes(kp.pub, CKA_MODULUS);
  Bytes pe = s.GetBytes(kp.pub, CKA_PUBLIC_EXPONENT);
  json::Value jwk = jwk::RsaPublic(n, pe);
  KeyRecord r{role, token, label, jwk::Kid(jwk), jwk::ThumbprintSha256(jwk), "PS384", jwk, 0, 0};
  SetId(s, kp.pub, r.cka_id);
  SetId(s, kp.priv, r.cka_id);
  return r;
}

KeyRecord CreateEc(Session& s, CreatedObjects& created, const std::string& token, const std::string& role,
                   const std::string& label, const std::string& alg, CK_MECHANISM_TYPE allowed,
                   bool derive) {
  const Bytes tmp_id = RandomBytes(16);
  const CK_BBOOL sign = derive ? CK_FALSE : CK_TRUE;
  const CK_BBOOL der = derive ? CK_TRUE : CK_FALSE;
  KeyPair kp = GenerateKeyPair(
      s, created, CKM_EC_KEY_PAIR_GEN,
      {AttrOf(CKA_TOKEN, kTrue), AttrOf(CKA_PRIVATE, kFalse), AttrString(CKA_LABEL, label),
       AttrBytes(CKA_ID, tmp_id), AttrBytes(CKA_EC_PARAMS, hsm::P256EcParams()), AttrOf(CKA_VERIFY, sign),
       AttrOf(CKA_DERIVE, kFalse), AttrOf(CKA_ALLOWED_MECHANISMS, allowed)},
      {AttrOf(CKA_TOKEN, kTrue), AttrOf(CKA_PRIVATE, kTrue), AttrOf(CKA_SENSITIVE, kTrue),
       AttrOf(CKA_EXTRACTABLE, kFalse), AttrString(CKA_LABEL, label), AttrBytes(CKA_ID, tmp_id),
       AttrOf(CKA_SIGN, sign), AttrOf(CKA_DERIVE, der), AttrOf(CKA_DECRYPT, kFalse),
       AttrOf(CKA_UNWRAP, kFalse), AttrOf(CKA_ALLOWED_MECHANISMS, allowed)});
  VerifyProtected(s, kp.priv, allowed, label);
  Bytes point = hsm::DecodeEcPoint(s.GetBytes(kp.pub, CKA_EC_POINT));
  json::Value jwk = jwk::EcP256FromPoint(point);
  KeyRecord r{role, token, label, jwk::Kid(jwk), jwk::ThumbprintSha256(jwk), alg, jwk, 0, 0};
  SetId(s, kp.pub, r.cka_id);
  SetId(s, kp.priv, r.cka_id);
  return r;
}

KeyRecord CreateSecret(Session& s, CreatedObjects& created, const std::string& token,
                       const std::string& role, const std::string& label, const std::string& alg,
                       CK_MECHANISM_TYPE gen_mech, CK_KEY_TYPE key_type, CK_MECHANISM_TYPE allowed,
                       bool mac) {
  const Bytes id = RandomBytes(16);
  const CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  const CK_ULONG len = 32;
  const CK_BBOOL sign = mac ? CK_TRUE : CK_FALSE;
  const CK_BBOOL crypt = mac ? CK_FALSE : CK_TRUE;
  std::vector<CK_ATTRIBUTE> templ = {
      AttrOf(CKA_CLASS, cls),        AttrOf(CKA_KEY_TYPE, key_type),  AttrOf(CKA_TOKEN, kTrue),
      AttrOf(CKA_PRIVATE, kTrue),    AttrOf(CKA_SENSITIVE, kTrue),    AttrOf(CKA_EXTRACTABLE, kFalse),
      AttrString(CKA_LABEL, label),  AttrBytes(CKA_ID, id),           AttrOf(CKA_VALUE_LEN, len),
      AttrOf(CKA_SIGN, sign),        AttrOf(CKA_VERIFY, sign),        AttrOf(CKA_ENCRYPT, crypt),
      AttrOf(CKA_DECRYPT, crypt),    AttrOf(CKA_WRAP, kFalse),        AttrOf(CKA_UNWRAP, kFalse),
      AttrOf(CKA_DERIVE, kFalse),    AttrOf(CKA_ALLOWED_MECHANISMS, allowed)};
  CK_MECHANISM mech{gen_mech, nullptr, 0};
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  Check(s.fn().C_GenerateKey(s.handle(), &mech, templ.data(), hsm::ToCkUlong(templ.size()), &h),
        "C_GenerateKey", label);
  created.Add(s, h);
  VerifyProtected(s, h, allowed, label);
  return KeyRecord{role, token, label, ToHex(id), id, alg, json::Value(), 0, 0};
}

// Objects on the token carrying any of `labels`; destroys them when `destroy`.
std::vector<std::string> Existing(Session& s, const std::vector<std::string>& labels, bool destroy) {
  std::vector<std::string> present;
  for (const std::string& label : labels) {
    std::vector<CK_OBJECT_HANDLE> found = s.Find({AttrString(CKA_LABEL, label)});
    if (found.empty()) continue;
    present.push_back(label);
    if (destroy) {
      for (CK_OBJECT_HANDLE h : found) s.Destroy(h);
    }
  }
  return present;
}

Session OpenToken(const std::shared_ptr<hsm::Module>& module, const std::string& label, const Secret& pin) {
  CK_SLOT_ID slot = module->FindSlotByTokenLabel(label);
  Session s = Session::Open(module, slot, /*rw=*/true);
  try {
    s.Login(pin);
  } catch (const Error& e) {
    Fail(ErrorKind::kUnauthorized, "login to token '" + label + "' failed: " + std::string(e.detail()));
  }
  return s;
}

void WriteManifest(const std::filesystem::path& dir, const std::vector<KeyRecord>& keys) {
  std::filesystem::create_directories(dir);
  std::filesystem::path tmp = dir / "keys.json.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << json::Serialize(Manifest(keys)) << "\n";
    if (!out) Fail(ErrorKind::kInternal, "cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, dir / "keys.json");
}

}  // namespace

std::string BlindRsaLabel(int bits) { return "realdid-blind-rsa" + std::to_string(bits); }

std::vector<KeyRecord> Run(const Options& o) {
  if (o.rsa_bits != 2048 && o.rsa_bits != 3072 && o.rsa_bits != 4096) {
    InvalidInput("--rsa-bits must be 2048, 3072 or 4096");
  }
  if (o.issuance_token.empty() || o.escrow_token.empty()) InvalidInput("both token labels are required");
  if (o.issuance_token == o.escrow_token) InvalidInput("the escrow token must be a separate token");
  if (o.out_dir.empty()) InvalidInput("--out is required");
  if (o.valid_days < 1 || o.valid_days > 3650) InvalidInput("--valid-days must be 1..3650");
  const std::int64_t now =
      o.now != 0 ? o.now
                 : std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // The window opens at 00:00 UTC of the ceremony day: credentials issued that day carry
  // iat = that midnight, which must lie inside the key's window.
  const std::int64_t nbf = now - now % 86400;

  std::shared_ptr<hsm::Module> module = hsm::Module::Load(o.module_path);
  Session issuance = OpenToken(module, o.issuance_token, o.issuance_pin);
  Session escrow = OpenToken(module, o.escrow_token, o.escrow_pin);

  const std::vector<std::string> issuance_labels = {BlindRsaLabel(o.rsa_bits), kHmacLabel, kAuditLabel,
                                                    kDataKeyLabel, kRevocationLabel,
                                                    kPrivacyPassLabel};
  const std::vector<std::string> escrow_labels = {kEscrowLabel};
  if (!o.force) {
    std::vector<std::string> present = Existing(issuance, issuance_labels, false);
    for (const std::string& l : Existing(escrow, escrow_labels, false)) present.push_back(l);
    if (!present.empty()) {
      std::string list;
      for (const std::string& l : present) list += (list.empty() ? "" : ", ") + l;
      Fail(ErrorKind::kConflict, "keys already exist (" + list + "); refusing to overwrite without --force");
    }
  } else {
    Existing(issuance, issuance_labels, true);
    Existing(escrow, escrow_labels, true);
  }

  CreatedObjects created;
  std::vector<KeyRecord> keys;
  keys.push_back(CreateRsa(issuance, created, o.issuance_token, o.rsa_bits));
  keys.back().nbf = nbf;
  keys.back().exp = nbf + std::int64_t{o.valid_days} * 86400;
  keys.push_back(CreateSecret(issuance, created, o.issuance_token, "id-lookup-hmac", kHmacLabel, "HS256",
                              CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, CKM_SHA256_HMAC, true));
  keys.push_back(CreateEc(issuance, created, o.issuance_token, "audit-signing", kAuditLabel, "ES256",
                          CKM_ECDSA, false));
  keys.push_back(CreateSecret(issuance, created, o.issuance_token, "data-wrapping", kDataKeyLabel,
                              "A256GCM", CKM_AES_KEY_GEN, CKK_AES, CKM_AES_GCM, false));
  keys.push_back(CreateEc(issuance, created, o.issuance_token, "revocation-list", kRevocationLabel,
                          "ES256", CKM_ECDSA, false));
  // Privacy Pass token type 0x0002 (RFC 9578): its own RSA-2048 key (RFC 9474: one key per use).
  keys.push_back(CreateRsa(issuance, created, o.issuance_token, 2048, "privacypass",
                           kPrivacyPassLabel));
  keys.back().nbf = nbf;
  keys.back().exp = nbf + std::int64_t{o.valid_days} * 86400;
  keys.push_back(CreateEc(escrow, created, o.escrow_token, "escrow", kEscrowLabel,
                          "HPKE-P256-SHA256-A128GCM", CKM_ECDH1_DERIVE, true));
  WriteManifest(o.out_dir, keys);
  created.Commit();
  return keys;
}

KeyRecord CreateBlindSigningKey(const std::string& module_path, const std::string& token,
                                 const Secret& pin, int bits,
                                 const std::function<void(const KeyRecord&)>& commit) {
  std::shared_ptr<hsm::Module> module = hsm::Module::Load(module_path);
  Session issuance = OpenToken(module, token, pin);
  CreatedObjects created;
  KeyRecord r = CreateRsa(issuance, created, token, bits);
  commit(r);  // throws to abort: the new objects are destroyed again
  created.Commit();
  return r;
}

json::Value Manifest(const std::vector<KeyRecord>& keys) {
  json::Array arr;
  for (const KeyRecord& k : keys) {
    json::Value entry = json::Object{};
    entry.set("role", k.role);
    entry.set("token", k.token);
    entry.set("label", k.label);
    entry.set("kid", k.kid);
    entry.set("cka_id", ToHex(k.cka_id));
    entry.set("alg", k.alg);
    if (!k.jwk.is_null()) entry.set("jwk", k.jwk);
    if (k.exp != 0) {
      entry.set("nbf", k.nbf);
      entry.set("exp", k.exp);
    }
    arr.push_back(std::move(entry));
  }
  json::Value doc = json::Object{};
  doc.set("version", 1);
  doc.set("keys", std::move(arr));
  return doc;
}

}  // namespace realdid::ceremony
