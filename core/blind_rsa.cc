#include "core/blind_rsa.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/hash.h"
#include "core/ossl_util.h"

namespace realdid::blind_rsa {

namespace {

using ossl::Bn;
using ossl::BnFromBytes;
using ossl::BnToBytes;

struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};

Bytes StripLeadingZeros(ByteView b) {
  std::size_t i = 0;
  while (i < b.size() && b[i] == 0) ++i;
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(i), b.end());
}

void CheckSaltLength(std::size_t salt_len) {
  if (salt_len != 0 && salt_len != kSaltLen) InvalidInput("PSS salt must be 0 or 48 bytes");
}

// An EVP_PKEY (RSA public) for the OpenSSL verifier.
ossl::Pkey ToEvpPublic(const PublicKey& pk) {
  Bn n = BnFromBytes(pk.n());
  Bn e = BnFromBytes(pk.e());
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    ossl::Internal("building RSA parameters failed");
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    ossl::Internal("RSA key import failed");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !raw) {
    ossl::Internal("RSA key import failed");
  }
  return ossl::Pkey(raw);
}

Bytes GetBnParam(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1 || raw == nullptr) {
    ERR_clear_error();
    InvalidInput("RSA key lacks a component");
  }
  Bn owned(raw);
  return ossl::BnToMinimalBytes(owned.get());
}

bool IsRsa(const EVP_PKEY* pkey) {
  const int id = EVP_PKEY_get_base_id(pkey);
  return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
}

Bytes Mgf1Sha384(ByteView seed, std::size_t mask_len) {
  Bytes out;
  out.reserve(mask_len + kHashLen);
  for (std::uint32_t counter = 0; out.size() < mask_len; ++counter) {
    const Bytes c = U32BE(counter);
    const Bytes h = hash::Sha384(Concat({seed, c}));
    out.insert(out.end(), h.begin(), h.end());
  }
  out.resize(mask_len);
  return out;
}

// Parses a k-byte integer that must be < n.
Bn ParseBelowN(ByteView b, const PublicKey& pk, const BIGNUM* n, const char* what) {
  if (b.size() != pk.modulus_len()) InvalidInput(std::string(what) + " must be modulus_len bytes");
  Bn v = BnFromBytes(b);
  if (BN_cmp(v.get(), n) >= 0) InvalidInput(std::string(what) + " is not below the modulus");
  return v;
}

struct MontDeleter {
  void operator()(BN_MONT_CTX* p) const noexcept { BN_MONT_CTX_free(p); }
};

}  // namespace

// Built once per key (FromComponents), read-only afterwards: BN_MONT_CTX is only read by the
// Montgomery functions, so copies of a PublicKey share it across threads.
struct PublicKey::Arith {
  Bn n;
  Bn e;
  Bn e_minus_1;
  std::unique_ptr<BN_MONT_CTX, MontDeleter> mont;
};

PublicKey::PublicKey(Bytes n, Bytes e, std::size_t bits)
    : n_(std::move(n)), e_(std::move(e)), bits_(bits) {
  auto a = std::make_shared<Arith>();
  a->n = BnFromBytes(n_);
  a->e = BnFromBytes(e_);
  a->e_minus_1 = ossl::NewBn();
  auto ctx = ossl::NewBnCtx();
  a->mont.reset(BN_MONT_CTX_new());
  if (!a->mont || BN_MONT_CTX_set(a->mont.get(), a->n.get(), ctx.get()) != 1 ||
      BN_sub(a->e_minus_1.get(), a->e.get(), BN_value_one()) != 1) {
    ossl::Internal("RSA Montgomery setup failed");
  }
  arith_ = std::move(a);
}

std::size_t SaltLength(Variant v) noexcept {
  return (v == Variant::kPssDeterministic || v == Variant::kPssRandomized) ? kSaltLen : 0;
}

bool IsRandomized(Variant v) noexcept {
  return v == Variant::kPssRandomized || v == Variant::kPssZeroRandomized;
}

PublicKey PublicKey::FromComponents(ByteView n_in, ByteView e_in, ExponentPolicy policy) {
  Bytes n = StripLeadingZeros(n_in);
  Bytes e = StripLeadingZeros(e_in);
  if (n.empty() || n.size() > 512) InvalidInput("RSA modulus size not supported");
  if (e.empty() || e.size() > 8) InvalidInput("RSA public exponent out of range");
  Bn nb = BnFromBytes(n);
  Bn eb = BnFromBytes(e);
  const int bits = BN_num_bits(nb.get());
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    InvalidInput("RSA modulus must have 2048, 3072 or 4096 bits");
  }
  if (!BN_is_odd(nb.get())) InvalidInput("RSA modulus must be odd");
  if (!BN_is_odd(eb.get()) || BN_num_bits(eb.get()) < 2 || BN_cmp(eb.get(), nb.get()) >= 0) {
    InvalidInput("RSA public exponent out of range");
  }
  if (policy == ExponentPolicy::kOnly65537 && e != Bytes{0x01, 0x00, 0x01}) {
    InvalidInput("RSA public exponent must be 65537");
  }
  return PublicKey(std::move(n), std::move(e), static_cast<std::size_t>(bits));
}

PublicKey PublicKey::FromSpkiDer(ByteView spki, ExponentPolicy policy) {
  if (spki.empty() || spki.size() > 4096) InvalidInput("SPKI size out of range");
  const unsigned char* p = spki.data();
  ossl::Pkey pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!pkey) {
    ERR_clear_error();
    InvalidInput("SPKI does not parse");
  }
  if (p != spki.data() + spki.size()) InvalidInput("trailing bytes after SPKI");
  if (!IsRsa(pkey.get())) InvalidInput("SPKI is not an RSA key");
  return FromComponents(GetBnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_N),
                        GetBnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_E), policy);
}

Bytes Prepare(ByteView msg, Variant v) {
  if (!IsRandomized(v)) return Bytes(msg.begin(), msg.end());
  return PrepareWithPrefix(RandomBytes(kPrefixLen), msg);
}

Bytes PrepareWithPrefix(ByteView prefix, ByteView msg) {
  if (prefix.size() != kPrefixLen) InvalidInput("message prefix must be 32 bytes");
  return Concat({prefix, msg});
}

Bytes EmsaPssEncodeSha384(ByteView msg, ByteView salt, std::size_t em_bits) {
  const std::size_t em_len = (em_bits + 7) / 8;
  if (em_bits == 0 || em_len < kHashLen + salt.size() + 2) InvalidInput("encoding error");
  const Bytes m_hash = hash::Sha384(msg);
  const Bytes zeros(8, 0);
  const Bytes h = hash::Sha384(Concat({zeros, m_hash, salt}));
  const std::size_t db_len = em_len - kHashLen - 1;
  Bytes db(db_len - salt.size() - 1, 0);  // PS
  db.push_back(0x01);
  db.insert(db.end(), salt.begin(), salt.end());
  const Bytes mask = Mgf1Sha384(h, db_len);
  for (std::size_t i = 0; i < db_len; ++i) db[i] = static_cast<std::uint8_t>(db[i] ^ mask[i]);
  const std::size_t clear_bits = 8 * em_len - em_bits;
  db[0] = static_cast<std::uint8_t>(db[0] & (0xffu >> clear_bits));
  Bytes em = std::move(db);
  em.insert(em.end(), h.begin(), h.end());
  em.push_back(0xbc);
  return em;
}

namespace {

// The blinding arithmetic shared by BlindWith and BlindedMessage: range checks, then
//   x = r^(e-1) (square-and-multiply over the public exponent, Montgomery form), B = m * x * r.
struct BlindParts {
  Bn m_mont;  // m * R
  Bn x;       // r^(e-1)
  Bn z;       // B = m * r^e mod n
};

BlindParts BlindArithmetic(const PublicKey& pk, ByteView input_msg, ByteView salt, ByteView r,
                           BN_CTX* ctx) {
  CheckSaltLength(salt.size());
  if (r.size() != pk.modulus_len()) InvalidInput("blinding factor must be modulus_len bytes");
  const PublicKey::Arith& a = pk.arith();
  const BIGNUM* n = a.n.get();
  BN_MONT_CTX* mont = a.mont.get();  // only read by the Montgomery functions

  const Bytes em = EmsaPssEncodeSha384(input_msg, salt, pk.modulus_bits() - 1);
  Bn m = BnFromBytes(em);
  if (BN_cmp(m.get(), n) >= 0) InvalidInput("message representative out of range");
  Bn rb = BnFromBytes(r);
  BN_set_flags(rb.get(), BN_FLG_CONSTTIME);
  if (BN_is_zero(rb.get()) || BN_is_one(rb.get()) || BN_cmp(rb.get(), n) >= 0) {
    InvalidInput("blinding factor out of range (need 1 < r < n)");
  }
  BlindParts p{ossl::NewBn(), ossl::NewBn(), ossl::NewBn()};
  Bn r_mont = ossl::NewBn();
  Bn acc = ossl::NewBn();  // Montgomery form of r^(prefix of e-1)
  Bn re = ossl::NewBn();
  for (BIGNUM* b : {p.x.get(), r_mont.get(), acc.get(), re.get()}) {
    BN_set_flags(b, BN_FLG_CONSTTIME);
  }
  if (BN_to_montgomery(r_mont.get(), rb.get(), mont, ctx) != 1 ||
      BN_to_montgomery(p.m_mont.get(), m.get(), mont, ctx) != 1 ||
      BN_copy(acc.get(), r_mont.get()) == nullptr) {
    ossl::Internal("RSA blinding arithmetic failed");
  }
  // e - 1 >= 2 is even and public: the branches depend on its bits only.
  const BIGNUM* em1 = a.e_minus_1.get();
  for (int bit = BN_num_bits(em1) - 2; bit >= 0; --bit) {
    if (BN_mod_mul_montgomery(acc.get(), acc.get(), acc.get(), mont, ctx) != 1 ||
        (BN_is_bit_set(em1, bit) == 1 &&
         BN_mod_mul_montgomery(acc.get(), acc.get(), r_mont.get(), mont, ctx) != 1)) {
      ossl::Internal("RSA blinding arithmetic failed");
    }
  }
  if (BN_from_montgomery(p.x.get(), acc.get(), mont, ctx) != 1 ||                   // r^(e-1)
      BN_mod_mul_montgomery(re.get(), acc.get(), rb.get(), mont, ctx) != 1 ||        // r^e
      BN_mod_mul_montgomery(p.z.get(), p.m_mont.get(), re.get(), mont, ctx) != 1) {  // m r^e
    ossl::Internal("RSA blinding arithmetic failed");
  }
  return p;
}

}  // namespace

// r^-1 with one variable-time inversion, of the public B only: B^-1 exists iff
// gcd(m, n) = gcd(r, n) = 1 (a prime factor of n divides B = m * r^e mod n iff it divides m or r),
// so inverting B checks both coprimalities, and r^-1 = B^-1 * m * r^(e-1). The secret r and
// r^(e-1) only enter Montgomery multiplications; B is what the wallet publishes in its commit.
Blinding BlindWith(const PublicKey& pk, ByteView input_msg, ByteView salt, ByteView r) {
  auto ctx = ossl::NewBnCtx();
  const BlindParts p = BlindArithmetic(pk, input_msg, salt, r, ctx.get());
  const PublicKey::Arith& a = pk.arith();
  BN_MONT_CTX* mont = a.mont.get();  // only read by the Montgomery functions
  Bn z_inv(BN_mod_inverse(nullptr, p.z.get(), a.n.get(), ctx.get()));  // public: variable time
  if (!z_inv) {
    ERR_clear_error();
    InvalidInput("message representative or blinding factor not coprime with the modulus");
  }
  Bn t = ossl::NewBn();  // B^-1 * m
  Bn t_mont = ossl::NewBn();
  Bn inv = ossl::NewBn();  // B^-1 * m * r^(e-1) = r^-1
  BN_set_flags(inv.get(), BN_FLG_CONSTTIME);
  if (BN_mod_mul_montgomery(t.get(), p.m_mont.get(), z_inv.get(), mont, ctx.get()) != 1 ||
      BN_to_montgomery(t_mont.get(), t.get(), mont, ctx.get()) != 1 ||
      BN_mod_mul_montgomery(inv.get(), t_mont.get(), p.x.get(), mont, ctx.get()) != 1) {
    ossl::Internal("RSA blinding arithmetic failed");
  }
  const std::size_t k = pk.modulus_len();
  Blinding out;
  out.salt = Secret(salt);
  out.r = Secret(r);
  out.inv = ossl::BnToSecret(inv.get(), k);
  out.blinded_msg = BnToBytes(p.z.get(), k);
  return out;
}

Bytes BlindedMessage(const PublicKey& pk, ByteView input_msg, ByteView salt, ByteView r) {
  auto ctx = ossl::NewBnCtx();
  const BlindParts p = BlindArithmetic(pk, input_msg, salt, r, ctx.get());
  return BnToBytes(p.z.get(), pk.modulus_len());
}

bool AllCoprimeWithModulus(const PublicKey& pk, const std::vector<ByteView>& values) {
  const PublicKey::Arith& a = pk.arith();
  auto ctx = ossl::NewBnCtx();
  // prod = prod(values) times a power of R = 2^k, which is coprime with the odd n.
  Bn prod = ossl::NewBn();
  if (BN_to_montgomery(prod.get(), BN_value_one(), a.mont.get(), ctx.get()) != 1) {
    ossl::Internal("Montgomery conversion failed");
  }
  for (ByteView v : values) {
    Bn b = ParseBelowN(v, pk, a.n.get(), "value");
    if (BN_mod_mul_montgomery(prod.get(), prod.get(), b.get(), a.mont.get(), ctx.get()) != 1) {
      ossl::Internal("Montgomery multiplication failed");
    }
  }
  Bn inv(BN_mod_inverse(nullptr, prod.get(), a.n.get(), ctx.get()));
  ERR_clear_error();
  return static_cast<bool>(inv);
}

Blinding Blind(const PublicKey& pk, ByteView input_msg, Variant v) {
  const Secret salt = Secret::Random(SaltLength(v));
  Bn n = BnFromBytes(pk.n());
  for (int attempt = 0; attempt < 64; ++attempt) {
    Bn r = ossl::NewBn();
    if (BN_priv_rand_range(r.get(), n.get()) != 1) ossl::Internal("random range failed");
    if (BN_is_zero(r.get()) || BN_is_one(r.get())) continue;
    const Secret rs = ossl::BnToSecret(r.get(), pk.modulus_len());
    try {
      return BlindWith(pk, input_msg, salt.reveal(), rs.reveal());  // checks gcd(r, n) = 1
    } catch (const Error& e) {
      // r not coprime with n (probability about 2^-1500): draw again.
      if (e.kind() != ErrorKind::kInvalidInput) throw;
    }
  }
  ossl::Internal("could not draw a blinding factor");
}

void CheckBlindSignature(const PublicKey& pk, ByteView blinded_msg, ByteView blind_sig) {
  auto ctx = ossl::NewBnCtx();
  const PublicKey::Arith& a = pk.arith();
  Bn b = ParseBelowN(blinded_msg, pk, a.n.get(), "blinded message");
  Bn s = ParseBelowN(blind_sig, pk, a.n.get(), "blind signature");
  Bn check = ossl::NewBn();
  if (BN_mod_exp_mont(check.get(), s.get(), a.e.get(), a.n.get(), ctx.get(), a.mont.get()) != 1) {
    ossl::Internal("BN_mod_exp_mont failed");
  }
  if (BN_cmp(check.get(), b.get()) != 0) {
    Fail(ErrorKind::kCryptoFailure, "blind signature does not match the blinded message");
  }
}

Bytes Finalize(const PublicKey& pk, ByteView input_msg, ByteView blind_sig, const Secret& inv,
               std::size_t salt_len) {
  CheckSaltLength(salt_len);
  auto ctx = ossl::NewBnCtx();
  Bn n = BnFromBytes(pk.n());
  Bn z = ParseBelowN(blind_sig, pk, n.get(), "blind signature");
  Bn iv = ParseBelowN(inv.reveal(), pk, n.get(), "blinding inverse");
  BN_set_flags(iv.get(), BN_FLG_CONSTTIME);
  Bn s = ossl::NewBn();
  if (BN_mod_mul(s.get(), z.get(), iv.get(), n.get(), ctx.get()) != 1) {
    ossl::Internal("BN_mod_mul failed");
  }
  Bytes sig = BnToBytes(s.get(), pk.modulus_len());
  if (!Verify(pk, input_msg, sig, salt_len)) {
    Fail(ErrorKind::kCryptoFailure, "finalized signature does not verify");
  }
  return sig;
}

bool Verify(const PublicKey& pk, ByteView input_msg, ByteView sig, std::size_t salt_len) {
  if (salt_len != 0 && salt_len != kSaltLen) return false;
  if (sig.size() != pk.modulus_len()) return false;
  const Bytes digest = hash::Sha384(input_msg);
  ossl::Pkey pkey = ToEvpPublic(pk);
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha384()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha384()) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), static_cast<int>(salt_len)) != 1) {
    ossl::Internal("RSA-PSS verifier setup failed");
  }
  const int rc = EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest.data(), digest.size());
  ERR_clear_error();
  return rc == 1;
}

PrivateKeyForTesting PrivateKeyForTesting::FromComponents(ByteView n, ByteView e, ByteView d,
                                                          ExponentPolicy policy) {
  PublicKey pk = PublicKey::FromComponents(n, e, policy);
  Bn nb = BnFromBytes(pk.n());
  Bn db = BnFromBytes(d);
  if (BN_is_zero(db.get()) || BN_cmp(db.get(), nb.get()) >= 0) InvalidInput("RSA d out of range");
  Secret ds = ossl::BnToSecret(db.get(), pk.modulus_len());
  return PrivateKeyForTesting(std::move(pk), std::move(ds));
}

namespace {
int NoPassword(char*, int, int, void*) { return 0; }

PrivateKeyForTesting FromEvpPrivate(const EVP_PKEY* pkey, ExponentPolicy policy) {
  if (!IsRsa(pkey)) InvalidInput("not an RSA private key");
  BIGNUM* raw_d = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &raw_d) != 1 || raw_d == nullptr) {
    ERR_clear_error();
    InvalidInput("RSA private key lacks d");
  }
  Bn d(raw_d);
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  const Bytes n = GetBnParam(pkey, OSSL_PKEY_PARAM_RSA_N);
  const Bytes e = GetBnParam(pkey, OSSL_PKEY_PARAM_RSA_E);
  const Secret ds = ossl::BnToSecret(d.get(), n.size());
  return PrivateKeyForTesting::FromComponents(n, e, ds.reveal(), policy);
}
}  // namespace

PrivateKeyForTesting PrivateKeyForTesting::FromPem(std::string_view pem, ExponentPolicy policy) {
  if (pem.empty() || pem.size() > 65536) InvalidInput("PEM size out of range");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) ossl::Internal("BIO_new_mem_buf failed");
  ossl::Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!pkey) {
    ERR_clear_error();
    InvalidInput("PEM private key does not parse");
  }
  return FromEvpPrivate(pkey.get(), policy);
}

PrivateKeyForTesting PrivateKeyForTesting::Generate(std::size_t bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) InvalidInput("unsupported RSA key size");
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1 || raw == nullptr) {
    ossl::Internal("RSA key generation failed");
  }
  ossl::Pkey pkey(raw);
  return FromEvpPrivate(pkey.get(), ExponentPolicy::kOnly65537);
}

Bytes BlindSignSoftwareForTesting(const PrivateKeyForTesting& sk, ByteView blinded_msg) {
  const PublicKey& pk = sk.public_key();
  auto ctx = ossl::NewBnCtx();
  Bn n = BnFromBytes(pk.n());
  Bn z = ParseBelowN(blinded_msg, pk, n.get(), "blinded message");
  Bn d = BnFromBytes(sk.d().reveal());
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  Bn s = ossl::NewBn();
  if (BN_mod_exp_mont_consttime(s.get(), z.get(), d.get(), n.get(), ctx.get(), nullptr) != 1) {
    ossl::Internal("raw RSA operation failed");
  }
  Bytes sig = BnToBytes(s.get(), pk.modulus_len());
  CheckBlindSignature(pk, blinded_msg, sig);
  return sig;
}

}  // namespace realdid::blind_rsa
