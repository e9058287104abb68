#include "tools/auditor/auditor_key.h"

#include <memory>

#include "core/error.h"
#include "core/jwk.h"
#include "hsm/module.h"
#include "hsm/session.h"
#include "hsm/token.h"

namespace realdid::auditor {
namespace {

using hsm::AttrBytes;
using hsm::AttrOf;
using hsm::AttrString;
using hsm::Session;

constexpr CK_BBOOL kTrue = CK_TRUE;
constexpr CK_BBOOL kFalse = CK_FALSE;

Session OpenRw(const TokenOptions& o, std::shared_ptr<hsm::Module>& module) {
  module = hsm::Module::Load(o.module_path);
  Session s = Session::Open(module, module->FindSlotByTokenLabel(o.token_label), /*rw=*/true);
  s.Login(o.pin);
  return s;
}

std::vector<CK_OBJECT_HANDLE> FindByLabel(Session& s, CK_OBJECT_CLASS cls, const std::string& label) {
  return s.Find({AttrOf(CKA_CLASS, cls), AttrString(CKA_LABEL, label)});
}

// The public key object of the approval key: its JWK and CKA_ID.
std::pair<json::Value, Bytes> ReadPublic(Session& s, const std::string& label) {
  std::vector<CK_OBJECT_HANDLE> pubs = FindByLabel(s, CKO_PUBLIC_KEY, label);
  if (pubs.size() != 1) {
    Fail(ErrorKind::kNotFound, "auditor token: expected one approval key labelled '" + label + "'");
  }
  Bytes point = hsm::DecodeEcPoint(s.GetBytes(pubs[0], CKA_EC_POINT));
  return {jwk::EcP256FromPoint(point), s.GetBytes(pubs[0], CKA_ID)};
}

}  // namespace

json::Value GenerateApprovalKey(const TokenOptions& o) {
  std::shared_ptr<hsm::Module> module;
  Session s = OpenRw(o, module);
  if (!FindByLabel(s, CKO_PRIVATE_KEY, o.key_label).empty() ||
      !FindByLabel(s, CKO_PUBLIC_KEY, o.key_label).empty()) {
    Fail(ErrorKind::kConflict, "auditor token: a key labelled '" + o.key_label + "' exists already");
  }
  const Bytes tmp_id = RandomBytes(16);
  const CK_MECHANISM_TYPE allowed = CKM_ECDSA;
  std::vector<CK_ATTRIBUTE> pub = {
      AttrOf(CKA_TOKEN, kTrue),          AttrOf(CKA_PRIVATE, kFalse),
      AttrString(CKA_LABEL, o.key_label), AttrBytes(CKA_ID, tmp_id),
      AttrBytes(CKA_EC_PARAMS, hsm::P256EcParams()), AttrOf(CKA_VERIFY, kTrue),
      AttrOf(CKA_DERIVE, kFalse),        AttrOf(CKA_ALLOWED_MECHANISMS, allowed)};
  std::vector<CK_ATTRIBUTE> priv = {
      AttrOf(CKA_TOKEN, kTrue),       AttrOf(CKA_PRIVATE, kTrue),
      AttrOf(CKA_SENSITIVE, kTrue),   AttrOf(CKA_EXTRACTABLE, kFalse),
      AttrString(CKA_LABEL, o.key_label), AttrBytes(CKA_ID, tmp_id),
      AttrOf(CKA_SIGN, kTrue),        AttrOf(CKA_DERIVE, kFalse),
      AttrOf(CKA_DECRYPT, kFalse),    AttrOf(CKA_UNWRAP, kFalse),
      AttrOf(CKA_ALLOWED_MECHANISMS, allowed)};
  CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_OBJECT_HANDLE h_pub = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE h_priv = CK_INVALID_HANDLE;
  hsm::Check(s.fn().C_GenerateKeyPair(s.handle(), &mech, pub.data(), hsm::ToCkUlong(pub.size()),
                                      priv.data(), hsm::ToCkUlong(priv.size()), &h_pub, &h_priv),
             "C_GenerateKeyPair");
  try {
    if (!s.GetBool(h_priv, CKA_SENSITIVE) || s.GetBool(h_priv, CKA_EXTRACTABLE) ||
        !s.GetBool(h_priv, CKA_NEVER_EXTRACTABLE)) {
      Fail(ErrorKind::kInternal, "auditor token: the new key is not protected");
    }
    std::vector<CK_MECHANISM_TYPE> mechs = s.GetMechanisms(h_priv);
    if (mechs.size() != 1 || mechs.front() != CKM_ECDSA) {
      Fail(ErrorKind::kInternal, "auditor token: CKA_ALLOWED_MECHANISMS not kept");
    }
    Bytes point = hsm::DecodeEcPoint(s.GetBytes(h_pub, CKA_EC_POINT));
    json::Value jwk_pub = jwk::EcP256FromPoint(point);
    Bytes id = jwk::ThumbprintSha256(jwk_pub);
    for (CK_OBJECT_HANDLE h : {h_pub, h_priv}) {
      CK_ATTRIBUTE a = AttrBytes(CKA_ID, id);
      hsm::Check(s.fn().C_SetAttributeValue(s.handle(), h, &a, 1), "C_SetAttributeValue");
    }
    return jwk_pub;
  } catch (...) {
    (void)s.fn().C_DestroyObject(s.handle(), h_priv);
    (void)s.fn().C_DestroyObject(s.handle(), h_pub);
    throw;
  }
}

json::Value ApprovalPublicKey(const TokenOptions& o) {
  std::shared_ptr<hsm::Module> module;
  Session s = OpenRw(o, module);
  return ReadPublic(s, o.key_label).first;
}

Bytes SignApproval(const TokenOptions& o, warrant::ApprovalKind kind, ByteView content_hash) {
  json::Value jwk_pub;
  Bytes id;
  {
    std::shared_ptr<hsm::Module> module;
    Session s = OpenRw(o, module);
    std::tie(jwk_pub, id) = ReadPublic(s, o.key_label);
  }
  hsm::TokenConfig tc;
  tc.module_path = o.module_path;
  tc.token_label = o.token_label;
  tc.pin = o.pin;
  tc.pool_size = 1;
  std::unique_ptr<hsm::Token> token = hsm::Token::Open(tc);
  Bytes sig = token->EcdsaP256Sign(hsm::KeyRef{o.key_label, id},
                                   warrant::ApprovalMessage(kind, content_hash));
  if (!warrant::VerifyApproval(jwk_pub, kind, content_hash, sig)) {
    Fail(ErrorKind::kCryptoFailure, "auditor token: the signature does not verify");
  }
  return sig;
}

}  // namespace realdid::auditor
