// Shared fixture for the hsm/ tests: a hermetic SoftHSM2 (two tokens, "realdid-issuance" and
// "realdid-escrow"), the real module, admin sessions, key import helpers and host-side OpenSSL
// checks (ECDH, ECDSA verification, RSA public operation, AES-GCM).
#pragma once

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "hsm/module.h"
#include "hsm/session.h"
#include "hsm/token.h"
#include "tests/support/softhsm_harness.h"
#include "tools/ceremony/ceremony.h"

namespace realdid::hsm::testing {

using realdid::testing::SoftHsmHarness;

inline constexpr const char* kIssuance = "realdid-issuance";
inline constexpr const char* kEscrow = "realdid-escrow";
inline constexpr const char* kEscrowPin = "9876-escrow";

class HsmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness_ = std::make_unique<SoftHsmHarness>();
    harness_->InitToken(kIssuance);
    harness_->InitToken(kEscrow, kEscrowPin);
  }
  void TearDown() override {
    admin_.clear();
    module_.reset();
    harness_.reset();
  }

  std::shared_ptr<Module> module() {
    if (!module_) module_ = Module::Load(SoftHsmHarness::ModulePath());
    return module_;
  }

  static TokenConfig Config(const std::string& label, std::size_t pool = 2) {
    TokenConfig c;
    c.module_path = SoftHsmHarness::ModulePath();
    c.token_label = label;
    c.pin = Secret::FromString(label == kEscrow ? kEscrowPin : SoftHsmHarness::kUserPin);
    c.pool_size = pool;
    return c;
  }

  // A read-write, logged-in session for setting up objects (kept open until TearDown).
  Session& Admin(const std::string& label) {
    auto s = std::make_unique<Session>(
        Session::Open(module(), module()->FindSlotByTokenLabel(label), /*rw=*/true));
    s->Login(Secret::FromString(label == kEscrow ? kEscrowPin : SoftHsmHarness::kUserPin));
    admin_.push_back(std::move(s));
    return *admin_.back();
  }

  // Runs the ceremony in-process (2048-bit RSA to keep tests quick) and returns its records.
  std::vector<ceremony::KeyRecord> RunCeremony(int bits = 2048) {
    ceremony::Options o;
    o.module_path = SoftHsmHarness::ModulePath();
    o.issuance_token = kIssuance;
    o.issuance_pin = Secret::FromString(SoftHsmHarness::kUserPin);
    o.escrow_token = kEscrow;
    o.escrow_pin = Secret::FromString(kEscrowPin);
    o.out_dir = harness_->dir() / "out";
    o.rsa_bits = bits;
    return ceremony::Run(o);
  }

  static KeyRef RefFor(const std::vector<ceremony::KeyRecord>& keys, const std::string& role) {
    for (const auto& k : keys) {
      if (k.role == role) return KeyRef{k.label, k.cka_id};
    }
    ADD_FAILURE() << "no key with role " << role;
    return {};
  }

  // Imports a generic secret (test-only: readable) usable for one mechanism.
  static CK_OBJECT_HANDLE ImportSecret(Session& s, const KeyRef& ref, CK_KEY_TYPE type, ByteView value,
                                       CK_MECHANISM_TYPE mech) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    std::vector<CK_ATTRIBUTE> t = {AttrOf(CKA_CLASS, cls),         AttrOf(CKA_KEY_TYPE, type),
                                   AttrOf(CKA_TOKEN, yes),         AttrOf(CKA_PRIVATE, yes),
                                   AttrOf(CKA_SENSITIVE, no),      AttrOf(CKA_EXTRACTABLE, yes),
                                   AttrString(CKA_LABEL, ref.label), AttrBytes(CKA_ID, ref.id),
                                   AttrBytes(CKA_VALUE, value),    AttrOf(CKA_SIGN, yes),
                                   AttrOf(CKA_ENCRYPT, yes),       AttrOf(CKA_DECRYPT, yes),
                                   AttrOf(CKA_ALLOWED_MECHANISMS, mech)};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    Check(s.fn().C_CreateObject(s.handle(), t.data(), ToCkUlong(t.size()), &h), "C_CreateObject");
    return h;
  }

  std::unique_ptr<SoftHsmHarness> harness_;
  std::shared_ptr<Module> module_;
  std::vector<std::unique_ptr<Session>> admin_;
};

// ---- host-side OpenSSL helpers ----

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline PkeyPtr P256FromPoint(ByteView point) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return PkeyPtr(pkey);
}

inline PkeyPtr P256Generate() { return PkeyPtr(EVP_EC_gen("P-256")); }

inline Bytes P256PublicPoint(EVP_PKEY* key) {
  Bytes out(65);
  std::size_t len = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(), &len);
  out.resize(len);
  return out;
}

inline Bytes HostEcdh(EVP_PKEY* mine, EVP_PKEY* peer) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(mine, nullptr);
  Bytes out(32);
  std::size_t len = out.size();
  bool ok = EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
            EVP_PKEY_derive(ctx, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return {};
  out.resize(len);
  return out;
}

// Verifies a raw r||s ES256 signature over `message`.
inline bool HostEs256Verify(ByteView point, ByteView message, ByteView rs) {
  if (rs.size() != 64) return false;
  PkeyPtr key = P256FromPoint(point);
  if (!key) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(rs.data(), 32, nullptr), BN_bin2bn(rs.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok = der_len > 0 && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestVerify(md, der, static_cast<std::size_t>(der_len), message.data(), message.size()) == 1;
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  return ok;
}

// s^e mod n, left-padded to the modulus length.
inline Bytes HostRsaPublic(const RsaPublicKey& pub, ByteView s) {
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM* n = BN_bin2bn(pub.n.data(), static_cast<int>(pub.n.size()), nullptr);
  BIGNUM* e = BN_bin2bn(pub.e.data(), static_cast<int>(pub.e.size()), nullptr);
  BIGNUM* sb = BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr);
  BIGNUM* r = BN_new();
  BN_mod_exp(r, sb, e, n, ctx);
  Bytes out(pub.n.size());
  BN_bn2binpad(r, out.data(), static_cast<int>(out.size()));
  BN_free(n);
  BN_free(e);
  BN_free(sb);
  BN_free(r);
  BN_CTX_free(ctx);
  return out;
}

// AES-256-GCM on the host, format iv(12) || ct || tag(16). Returns nullopt-like empty + ok=false.
inline bool HostAesGcm(bool encrypt, ByteView key, ByteView iv, ByteView in, ByteView aad, Bytes& out,
                       Bytes& tag) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  out.assign(in.size(), 0);
  bool ok = (encrypt ? EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key.data(), iv.data())
                     : EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key.data(), iv.data())) == 1;
  if (ok && !aad.empty()) {
    ok = (encrypt ? EVP_EncryptUpdate(c, nullptr, &len, aad.data(), static_cast<int>(aad.size()))
                  : EVP_DecryptUpdate(c, nullptr, &len, aad.data(), static_cast<int>(aad.size()))) == 1;
  }
  if (ok) {
    ok = (encrypt ? EVP_EncryptUpdate(c, out.data(), &len, in.data(), static_cast<int>(in.size()))
                  : EVP_DecryptUpdate(c, out.data(), &len, in.data(), static_cast<int>(in.size()))) == 1;
  }
  if (ok && encrypt) {
    ok = EVP_EncryptFinal_ex(c, out.data() + len, &len) == 1;
    tag.assign(16, 0);
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag.data()) == 1;
  } else if (ok) {
    ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1 &&
         EVP_DecryptFinal_ex(c, out.data() + len, &len) == 1;
  }
  EVP_CIPHER_CTX_free(c);
  return ok;
}

// Expects `f` to throw realdid::Error of `kind`; returns its detail.
template <typename F>
std::string ExpectError(ErrorKind kind, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(ErrorKindName(e.kind()), ErrorKindName(kind)) << e.detail();
    return std::string(e.detail());
  }
  ADD_FAILURE() << "expected an Error of kind " << ErrorKindName(kind);
  return {};
}

}  // namespace realdid::hsm::testing
