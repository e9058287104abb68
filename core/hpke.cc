#include "core/hpke.h"

#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/hash.h"
#include "core/ossl_util.h"

namespace realdid::hpke {

namespace {

using ossl::Bn;
using ossl::BnFromBytes;

constexpr std::size_t kMaxPlaintext = 1 << 20;

struct GroupDeleter {
  void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); }
};
struct PointDeleter {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_clear_free(p); }
};
using Group = std::unique_ptr<EC_GROUP, GroupDeleter>;
using Point = std::unique_ptr<EC_POINT, PointDeleter>;

// The P-256 group, built once per process (building it costs about as much as an ECDH) and only
// read afterwards: OpenSSL's EC functions take it as const, so threads share it.
const EC_GROUP* P256Group() {
  static const Group group = [] {
    Group g(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
    if (!g) ossl::Internal("P-256 group unavailable");
    return g;
  }();
  return group.get();
}

Point NewPoint(const EC_GROUP* g) {
  Point p(EC_POINT_new(g));
  if (!p) ossl::Internal("EC_POINT_new failed");
  return p;
}

Bytes EncodePoint(const EC_GROUP* g, const EC_POINT* p, BN_CTX* ctx) {
  Bytes out(kNpk);
  if (EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(), ctx) !=
      kNpk) {
    ossl::Internal("point encoding failed");
  }
  return out;
}

// Parses and fully validates an uncompressed point.
Point DecodePoint(const EC_GROUP* g, ByteView encoded, BN_CTX* ctx) {
  if (encoded.size() != kNpk) InvalidInput("P-256 public key must be 65 bytes");
  if (encoded[0] != 0x04) InvalidInput("P-256 public key must be uncompressed (0x04)");
  Bn p = ossl::NewBn();
  if (EC_GROUP_get_curve(g, p.get(), nullptr, nullptr, ctx) != 1) ossl::Internal("curve params");
  Bn x = BnFromBytes(encoded.subspan(1, 32));
  Bn y = BnFromBytes(encoded.subspan(33, 32));
  if (BN_cmp(x.get(), p.get()) >= 0 || BN_cmp(y.get(), p.get()) >= 0) {
    InvalidInput("P-256 public key coordinate out of range");
  }
  Point pt = NewPoint(g);
  if (EC_POINT_oct2point(g, pt.get(), encoded.data(), encoded.size(), ctx) != 1) {
    ERR_clear_error();
    InvalidInput("P-256 public key is not on the curve");
  }
  if (EC_POINT_is_at_infinity(g, pt.get()) == 1 || EC_POINT_is_on_curve(g, pt.get(), ctx) != 1) {
    ERR_clear_error();
    InvalidInput("P-256 public key is not a valid point");
  }
  return pt;
}

// Private scalar with 0 < sk < order, flagged constant-time.
Bn ScalarFromSecret(const EC_GROUP* g, const Secret& sk) {
  if (sk.size() != kNsk) InvalidInput("P-256 private key must be 32 bytes");
  Bn s = BnFromBytes(sk.reveal());
  BN_set_flags(s.get(), BN_FLG_CONSTTIME);
  const BIGNUM* order = EC_GROUP_get0_order(g);
  if (BN_is_zero(s.get()) || BN_cmp(s.get(), order) >= 0) {
    InvalidInput("P-256 private key out of range");
  }
  return s;
}

void CheckIntSize(std::size_t n) {
  if (n > kMaxPlaintext) Fail(ErrorKind::kTooLarge, "HPKE input too large");
}

}  // namespace

Bytes KemSuiteId() { return Concat({AsBytes("KEM"), U16BE(kKemId)}); }
Bytes HpkeSuiteId() {
  return Concat({AsBytes("HPKE"), U16BE(kKemId), U16BE(kKdfId), U16BE(kAeadId)});
}

Secret LabeledExtract(ByteView suite_id, ByteView salt, std::string_view label, ByteView ikm) {
  const Secret labeled_ikm(Concat({AsBytes("HPKE-v1"), suite_id, AsBytes(label), ikm}));
  return Secret(hash::HmacSha256(salt, labeled_ikm.reveal()));
}

Secret LabeledExpand(ByteView suite_id, const Secret& prk, std::string_view label, ByteView info,
                     std::size_t length) {
  if (length == 0 || length > 255 * kNh || length > 0xffff) InvalidInput("HKDF length out of range");
  const Bytes labeled_info = Concat({U16BE(static_cast<std::uint16_t>(length)), AsBytes("HPKE-v1"),
                                     suite_id, AsBytes(label), info});
  // HKDF-Expand (RFC 5869): T(i) = HMAC(PRK, T(i-1) || info || i). The output buffer has its final
  // size from the start, so no secret bytes are left behind in spare capacity.
  Bytes out(length);
  std::size_t filled = 0;
  Secret t;
  for (std::uint8_t i = 1; filled < length; ++i) {
    const std::uint8_t counter[1] = {i};
    const Secret block(Concat({t.reveal(), labeled_info, ByteView(counter, 1)}));
    t = Secret(hash::HmacSha256(prk.reveal(), block.reveal()));
    const std::size_t n = std::min(kNh, length - filled);
    std::copy_n(t.reveal().begin(), n, out.begin() + static_cast<std::ptrdiff_t>(filled));
    filled += n;
  }
  return Secret(std::move(out));
}

PublicKey DeserializePublicKey(ByteView encoded) {
  auto ctx = ossl::NewBnCtx();
  DecodePoint(P256Group(), encoded, ctx.get());
  return PublicKey(Bytes(encoded.begin(), encoded.end()));
}

PublicKey PublicKeyFromPrivate(const Secret& sk) {
  const EC_GROUP* g = P256Group();
  auto ctx = ossl::NewBnCtx();
  Bn s = ScalarFromSecret(g, sk);
  Point pt = NewPoint(g);
  if (EC_POINT_mul(g, pt.get(), s.get(), nullptr, nullptr, ctx.get()) != 1) {
    ossl::Internal("EC_POINT_mul failed");
  }
  // k*G for 0 < k < order is a valid point: no need to decode and validate it again.
  return PublicKey(EncodePoint(g, pt.get(), ctx.get()));
}

KeyPair DeriveKeyPair(ByteView ikm) {
  if (ikm.size() < kNsk) InvalidInput("HPKE ikm must have at least 32 bytes");
  const Bytes suite = KemSuiteId();
  const Secret dkp_prk = LabeledExtract(suite, {}, "dkp_prk", ikm);
  const BIGNUM* order = EC_GROUP_get0_order(P256Group());
  for (unsigned counter = 0; counter <= 255; ++counter) {
    const std::uint8_t c[1] = {static_cast<std::uint8_t>(counter)};
    Secret candidate = LabeledExpand(suite, dkp_prk, "candidate", ByteView(c, 1), kNsk);
    // bitmask for P-256 is 0xff: nothing to clear.
    Bn s = BnFromBytes(candidate.reveal());
    if (BN_is_zero(s.get()) || BN_cmp(s.get(), order) >= 0) continue;
    PublicKey pk = PublicKeyFromPrivate(candidate);
    return KeyPair{std::move(candidate), std::move(pk)};
  }
  Fail(ErrorKind::kInternal, "DeriveKeyPair failed");
}

KeyPair GenerateKeyPair() { return DeriveKeyPair(Secret::Random(kNsk).reveal()); }

Secret Dh(const Secret& sk, const PublicKey& pk) {
  const EC_GROUP* g = P256Group();
  auto ctx = ossl::NewBnCtx();
  Bn s = ScalarFromSecret(g, sk);
  Point peer = DecodePoint(g, pk.bytes(), ctx.get());
  Point shared = NewPoint(g);
  if (EC_POINT_mul(g, shared.get(), nullptr, peer.get(), s.get(), ctx.get()) != 1) {
    ossl::Internal("ECDH failed");
  }
  if (EC_POINT_is_at_infinity(g, shared.get()) == 1) ossl::Internal("ECDH gave infinity");
  Bn x = ossl::NewBn();
  if (EC_POINT_get_affine_coordinates(g, shared.get(), x.get(), nullptr, ctx.get()) != 1) {
    ossl::Internal("ECDH coordinates failed");
  }
  return ossl::BnToSecret(x.get(), 32);
}

Secret ExtractAndExpand(const Secret& dh, ByteView kem_context) {
  if (dh.size() != 32) InvalidInput("ECDH output must be 32 bytes");
  const Bytes suite = KemSuiteId();
  const Secret eae_prk = LabeledExtract(suite, {}, "eae_prk", dh.reveal());
  return LabeledExpand(suite, eae_prk, "shared_secret", kem_context, kNsecret);
}

Encapsulation Encap(const PublicKey& pk_r, ByteView ikm_e) {
  const KeyPair eph = DeriveKeyPair(ikm_e);
  const Secret dh = Dh(eph.private_key, pk_r);
  const Bytes& enc = eph.public_key.bytes();
  const Bytes kem_context = Concat({enc, pk_r.bytes()});
  return Encapsulation{ExtractAndExpand(dh, kem_context), enc};
}

Encapsulation Encap(const PublicKey& pk_r) { return Encap(pk_r, Secret::Random(kNsk).reveal()); }

Secret Decap(ByteView enc, const PublicKey& pk_r, const EcdhFunction& ecdh) {
  const PublicKey pk_e = DeserializePublicKey(enc);
  const Secret dh = ecdh(pk_e);
  if (dh.size() != 32) Fail(ErrorKind::kInternal, "external ECDH returned a wrong length");
  return ExtractAndExpand(dh, Concat({enc, pk_r.bytes()}));
}

Secret Decap(ByteView enc, const Secret& sk_r) {
  const PublicKey pk_r = PublicKeyFromPrivate(sk_r);
  return Decap(enc, pk_r, [&sk_r](const PublicKey& pk_e) { return Dh(sk_r, pk_e); });
}

Context KeySchedule(const Secret& shared_secret, ByteView info) {
  if (info.size() > kMaxInfo) InvalidInput("HPKE info too long");
  const Bytes suite = HpkeSuiteId();
  const Secret psk_id_hash = LabeledExtract(suite, {}, "psk_id_hash", {});
  const Secret info_hash = LabeledExtract(suite, {}, "info_hash", info);
  const std::uint8_t mode[1] = {0x00};
  Context c;
  c.key_schedule_context = Concat({ByteView(mode, 1), psk_id_hash.reveal(), info_hash.reveal()});
  c.secret = LabeledExtract(suite, shared_secret.reveal(), "secret", {});
  c.key = LabeledExpand(suite, c.secret, "key", c.key_schedule_context, kNk);
  c.base_nonce = LabeledExpand(suite, c.secret, "base_nonce", c.key_schedule_context, kNn);
  c.exporter_secret = LabeledExpand(suite, c.secret, "exp", c.key_schedule_context, kNh);
  return c;
}

Bytes SealWithContext(const Context& ctx, ByteView aad, ByteView pt) {
  CheckIntSize(pt.size());
  CheckIntSize(aad.size());
  ossl::CipherCtx c(EVP_CIPHER_CTX_new());
  if (!c || EVP_EncryptInit_ex(c.get(), EVP_aes_128_gcm(), nullptr, ctx.key.reveal().data(),
                               ctx.base_nonce.reveal().data()) != 1) {
    ossl::Internal("AES-GCM init failed");
  }
  Bytes out(pt.size() + kNt);
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(c.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    ossl::Internal("AES-GCM aad failed");
  }
  int written = 0;
  if (!pt.empty()) {
    if (EVP_EncryptUpdate(c.get(), out.data(), &len, pt.data(), static_cast<int>(pt.size())) != 1) {
      ossl::Internal("AES-GCM encrypt failed");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(c.get(), out.data() + written, &len) != 1 ||
      static_cast<std::size_t>(written) + static_cast<std::size_t>(len) != pt.size() ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kNt),
                          out.data() + pt.size()) != 1) {
    ossl::Internal("AES-GCM finish failed");
  }
  return out;
}

Bytes OpenWithContext(const Context& ctx, ByteView aad, ByteView ct) {
  CheckIntSize(ct.size());
  CheckIntSize(aad.size());
  if (ct.size() < kNt) Fail(ErrorKind::kCryptoFailure, "open failed");
  const std::size_t pt_len = ct.size() - kNt;
  ossl::CipherCtx c(EVP_CIPHER_CTX_new());
  if (!c || EVP_DecryptInit_ex(c.get(), EVP_aes_128_gcm(), nullptr, ctx.key.reveal().data(),
                               ctx.base_nonce.reveal().data()) != 1) {
    ossl::Internal("AES-GCM init failed");
  }
  Bytes tag(ct.begin() + static_cast<std::ptrdiff_t>(pt_len), ct.end());
  Bytes out(pt_len);
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(c.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    ossl::Internal("AES-GCM aad failed");
  }
  int written = 0;
  if (pt_len > 0) {
    if (EVP_DecryptUpdate(c.get(), out.data(), &len, ct.data(), static_cast<int>(pt_len)) != 1) {
      ossl::Internal("AES-GCM decrypt failed");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kNt), tag.data()) != 1) {
    ossl::Internal("AES-GCM tag failed");
  }
  if (EVP_DecryptFinal_ex(c.get(), out.data() + written, &len) != 1) {
    ERR_clear_error();
    Secret wipe(std::move(out));
    Fail(ErrorKind::kCryptoFailure, "open failed");
  }
  return out;
}

Sealed Seal(const PublicKey& pk_r, ByteView info, ByteView aad, ByteView pt, ByteView ikm_e) {
  const Encapsulation e = Encap(pk_r, ikm_e);
  const Context ctx = KeySchedule(e.shared_secret, info);
  return Sealed{e.enc, SealWithContext(ctx, aad, pt)};
}

Sealed Seal(const PublicKey& pk_r, ByteView info, ByteView aad, ByteView pt) {
  return Seal(pk_r, info, aad, pt, Secret::Random(kNsk).reveal());
}

Secret Open(ByteView enc, ByteView ct, const PublicKey& pk_r, const EcdhFunction& ecdh,
            ByteView info, ByteView aad) {
  const Secret shared = Decap(enc, pk_r, ecdh);
  const Context ctx = KeySchedule(shared, info);
  return Secret(OpenWithContext(ctx, aad, ct));
}

Secret Open(ByteView enc, ByteView ct, const Secret& sk_r, ByteView info, ByteView aad) {
  const PublicKey pk_r = PublicKeyFromPrivate(sk_r);
  return Open(enc, ct, pk_r, [&sk_r](const PublicKey& pk_e) { return Dh(sk_r, pk_e); }, info,
              aad);
}

}  // namespace realdid::hpke
