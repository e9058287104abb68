#include "issuance/identity_box.h"

#include <openssl/evp.h>

#include <limits>
#include <memory>

#include "core/error.h"
#include "core/json.h"

namespace realdid::issuance {
namespace {

constexpr std::size_t kIvLen = 12;
constexpr std::size_t kTagLen = 16;
constexpr std::size_t kKeyLen = 32;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

int Len(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    InvalidInput("identity: input too long");
  }
  return static_cast<int>(n);
}

}  // namespace

Bytes AesGcm256Seal(const Secret& key, const Secret& plaintext, ByteView aad) {
  if (key.size() != kKeyLen) InvalidInput("identity: data key must be 32 bytes");
  Bytes iv = RandomBytes(kIvLen);
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(kIvLen + plaintext.size() + kTagLen);
  std::copy(iv.begin(), iv.end(), out.begin());
  int len = 0;
  int total = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.reveal().data(),
                                      iv.data()) == 1;
  ok = ok && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), Len(aad.size())) == 1;
  ok = ok && EVP_EncryptUpdate(ctx.get(), out.data() + kIvLen, &len, plaintext.reveal().data(),
                               Len(plaintext.size())) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + kIvLen + total, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagLen),
                                 out.data() + kIvLen + plaintext.size()) == 1;
  if (!ok) Fail(ErrorKind::kInternal, "identity: AES-GCM encryption failed");
  return out;
}

Secret AesGcm256Open(const Secret& key, ByteView sealed, ByteView aad) {
  if (key.size() != kKeyLen) InvalidInput("identity: data key must be 32 bytes");
  if (sealed.size() < kIvLen + kTagLen) Fail(ErrorKind::kCryptoFailure, "identity: open failed");
  std::size_t ct_len = sealed.size() - kIvLen - kTagLen;
  Bytes tag(sealed.end() - static_cast<std::ptrdiff_t>(kTagLen), sealed.end());
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes pt(ct_len);
  Secret guard;  // wipes pt on every path below
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.reveal().data(),
                                      sealed.data()) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), Len(aad.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), pt.data(), &len, sealed.data() + kIvLen,
                               Len(ct_len)) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagLen),
                                 tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), pt.data() + len, &len) == 1;
  Secret out(std::move(pt));
  if (!ok) Fail(ErrorKind::kCryptoFailure, "identity: open failed");
  return out;
}

SealedIdentity SealIdentity(hsm::Token& token, const hsm::KeyRef& data_wrapping_key,
                            const Identity& identity, ByteView id_lookup) {
  // Canonical JSON built by hand into a Secret so the plaintext never sits in a non-wiping string.
  std::string name_q = json::Quote(identity.name.reveal_string());
  std::string id_q = json::Quote(identity.id_number.reveal_string());
  std::string text = "{\"name\":" + name_q + ",\"id_number\":" + id_q + "}";
  Secret plaintext = Secret::FromString(text);
  std::fill(text.begin(), text.end(), '\0');
  std::fill(name_q.begin(), name_q.end(), '\0');
  std::fill(id_q.begin(), id_q.end(), '\0');

  Secret data_key = Secret::Random(kKeyLen);
  SealedIdentity out;
  out.identity_ct = AesGcm256Seal(data_key, plaintext, id_lookup);
  out.data_key_ct = token.AesGcmEncrypt(data_wrapping_key, data_key, id_lookup);
  return out;
}

Identity OpenIdentity(hsm::Token& token, const hsm::KeyRef& data_wrapping_key,
                      const SealedIdentity& sealed, ByteView id_lookup) {
  Secret data_key = token.AesGcmDecrypt(data_wrapping_key, sealed.data_key_ct, id_lookup);
  Secret plaintext = AesGcm256Open(data_key, sealed.identity_ct, id_lookup);
  json::Value doc = json::Parse(plaintext.reveal_string());
  Identity id;
  id.name = Secret::FromString(doc.at("name").as_string());
  id.id_number = Secret::FromString(doc.at("id_number").as_string());
  return id;
}

}  // namespace realdid::issuance
