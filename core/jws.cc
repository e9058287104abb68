#include "core/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <limits>

#include "core/base64url.h"
#include "core/error.h"

namespace realdid::jws {

void PkeyFree::operator()(evp_pkey_st* p) const noexcept { EVP_PKEY_free(p); }

namespace {

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

[[noreturn]] void Internal(const char* what) { Fail(ErrorKind::kInternal, std::string("JWS: ") + what); }

BnPtr ToBn(ByteView b) {
  if (b.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    InvalidInput("JWS: integer too long");
  }
  BnPtr bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
  if (!bn) Internal("BN_bin2bn failed");
  return bn;
}

Bytes BnToPad(const BIGNUM* bn, std::size_t len) {
  Bytes out(len);
  if (BN_bn2binpad(bn, out.data(), static_cast<int>(len)) != static_cast<int>(len)) {
    Internal("BN_bn2binpad failed");
  }
  return out;
}

Bytes BnToBytes(const BIGNUM* bn) {
  Bytes out(static_cast<std::size_t>(BN_num_bytes(bn)));
  BN_bn2bin(bn, out.data());
  return out;
}

PkeyPtr FromData(const char* type, OSSL_PARAM* params, int selection) {
  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) Internal("EVP_PKEY_fromdata_init failed");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params) != 1 || raw == nullptr) {
    InvalidInput(std::string("JWS: invalid ") + type + " key");
  }
  return PkeyPtr(raw);
}

bool IsP256(const EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) return false;
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) != 1) {
    return false;
  }
  return std::string_view(name, len) == "prime256v1";
}

bool KindOf(const EVP_PKEY* pkey) {
  const int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_RSA) return true;
  if (IsP256(pkey)) return false;
  InvalidInput("JWS: only RSA and P-256 keys are supported");
}

json::Value JwkOf(const EVP_PKEY* pkey, bool rsa) {
  if (rsa) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      BN_free(n);
      BN_free(e);
      Internal("cannot read RSA public key");
    }
    BnPtr nn(n), ee(e);
    return json::Object{{"kty", "RSA"},
                        {"n", b64url::Encode(BnToBytes(n))},
                        {"e", b64url::Encode(BnToBytes(e))}};
  }
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
      EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
    BN_free(x);
    BN_free(y);
    Internal("cannot read EC public key");
  }
  BnPtr xx(x), yy(y);
  return json::Object{{"kty", "EC"},
                      {"crv", "P-256"},
                      {"x", b64url::Encode(BnToPad(x, 32))},
                      {"y", b64url::Encode(BnToPad(y, 32))}};
}

const EVP_MD* DigestFor(Alg alg) { return alg == Alg::kPS384 ? EVP_sha384() : EVP_sha256(); }

void ConfigurePss(EVP_PKEY_CTX* pctx) {
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1) {
    Internal("cannot configure RSASSA-PSS");
  }
}

}  // namespace

std::string_view AlgName(Alg alg) noexcept { return alg == Alg::kPS384 ? "PS384" : "ES256"; }

PublicKey PublicKey::Rsa(ByteView n, ByteView e) {
  BnPtr nn = ToBn(n), ee = ToBn(e);
  if (BN_is_zero(nn.get()) || BN_is_zero(ee.get())) InvalidInput("JWS: empty RSA modulus or exponent");
  if (BN_num_bits(nn.get()) < 2048 || BN_num_bits(nn.get()) > 8192) {
    InvalidInput("JWS: RSA modulus size out of range");
  }
  if (!BN_is_odd(ee.get()) || BN_is_one(ee.get())) InvalidInput("JWS: invalid RSA exponent");
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, nn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, ee.get()) != 1) {
    Internal("param build failed");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) Internal("param build failed");
  return PublicKey(FromData("RSA", params.get(), EVP_PKEY_PUBLIC_KEY), true);
}

namespace {

// A P-256 public key (the generator) imported once per process. EcP256 duplicates it and sets the
// new point, so the group is copied instead of being rebuilt from its name (EC_GROUP_new_from_params
// and its Montgomery setup were half of each import). Only read (EVP_PKEY_dup) after construction.
const evp_pkey_st* P256Template() {
  static const PkeyPtr key = [] {
    std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
        EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), &EC_GROUP_free);
    if (!group) Internal("EC group failed");
    unsigned char g[65];
    if (EC_POINT_point2oct(group.get(), EC_GROUP_get0_generator(group.get()),
                           POINT_CONVERSION_UNCOMPRESSED, g, sizeof(g), nullptr) != sizeof(g)) {
      Internal("EC point encoding failed");
    }
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, g, sizeof(g)) != 1) {
      Internal("param build failed");
    }
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) Internal("param build failed");
    return FromData("EC", params.get(), EVP_PKEY_PUBLIC_KEY);
  }();
  return key.get();
}

}  // namespace

PublicKey PublicKey::EcP256(ByteView x, ByteView y) {
  if (x.size() != 32 || y.size() != 32) InvalidInput("JWS: P-256 coordinates must be 32 bytes");
  const Bytes point = Concat({Bytes{0x04}, x, y});
  // EVP_PKEY_dup only reads the template (OpenSSL 3.0 takes it non-const).
  PkeyPtr pkey(EVP_PKEY_dup(const_cast<evp_pkey_st*>(P256Template())));
  if (!pkey) Internal("EVP_PKEY_dup failed");
  // Decodes the point on the copied group: coordinates below p and on the curve, as an import.
  if (EVP_PKEY_set1_encoded_public_key(pkey.get(), point.data(), point.size()) != 1) {
    ERR_clear_error();
    InvalidInput("JWS: invalid EC key");
  }
  // The point was decoded (and checked on the curve) above; check again explicitly.
  // The quick check (on the curve, not infinity) is the full check for P-256: its cofactor is 1,
  // so every such point has the prime order n; the full check's n*Q = O costs a scalar multiplication.
  CtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    InvalidInput("JWS: P-256 point not on the curve");
  }
  return PublicKey(std::move(pkey), false);
}

PublicKey PublicKey::FromJwk(const json::Value& jwk) {
  if (!jwk.is_object()) InvalidInput("JWK: not an object");
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "k"}) {
    if (jwk.find(priv) != nullptr) InvalidInput("JWK: private key members are not accepted");
  }
  const std::string& kty = jwk.at("kty").as_string();
  if (kty == "RSA") {
    return Rsa(b64url::Decode(jwk.at("n").as_string()), b64url::Decode(jwk.at("e").as_string()));
  }
  if (kty == "EC") {
    if (jwk.at("crv").as_string() != "P-256") InvalidInput("JWK: only P-256 EC keys");
    return EcP256(b64url::Decode(jwk.at("x").as_string()), b64url::Decode(jwk.at("y").as_string()));
  }
  InvalidInput("JWK: unsupported kty");
}

PublicKey PublicKey::FromEvp(const evp_pkey_st* pkey) {
  if (pkey == nullptr) InvalidInput("JWS: null key");
  const bool rsa = KindOf(pkey);
  // Re-import only the public half so a private key handed in is not kept alive here.
  json::Value jwk = JwkOf(pkey, rsa);
  return FromJwk(jwk);
}

json::Value PublicKey::Jwk() const { return JwkOf(pkey_.get(), rsa_); }

PrivateKey PrivateKey::GenerateEcP256() {
  EVP_PKEY* raw = EVP_EC_gen("P-256");
  if (raw == nullptr) Internal("EC key generation failed");
  return PrivateKey(PkeyPtr(raw), false);
}

PrivateKey PrivateKey::GenerateRsa(int bits) {
  if (bits < 2048 || bits > 8192) InvalidInput("JWS: RSA size out of range");
  EVP_PKEY* raw = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (raw == nullptr) Internal("RSA key generation failed");
  return PrivateKey(PkeyPtr(raw), true);
}

PrivateKey PrivateKey::EcP256FromScalar(ByteView d) {
  if (d.size() != 32) InvalidInput("JWS: P-256 scalar must be 32 bytes");
  BnPtr bn = ToBn(d);
  // Derive the public point.
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
      EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), &EC_GROUP_free);
  if (!group) Internal("EC group failed");
  if (BN_is_zero(bn.get()) || BN_cmp(bn.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    InvalidInput("JWS: P-256 scalar out of range");
  }
  std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)> pub(EC_POINT_new(group.get()), &EC_POINT_free);
  if (!pub || EC_POINT_mul(group.get(), pub.get(), bn.get(), nullptr, nullptr, nullptr) != 1) {
    Internal("EC point multiplication failed");
  }
  unsigned char point[65];
  if (EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point),
                         nullptr) != sizeof(point)) {
    Internal("EC point encoding failed");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, bn.get()) != 1) {
    Internal("param build failed");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) Internal("param build failed");
  BN_clear(bn.get());
  return PrivateKey(FromData("EC", params.get(), EVP_PKEY_KEYPAIR), false);
}

PrivateKey PrivateKey::FromEvp(PkeyPtr pkey) {
  if (!pkey) InvalidInput("JWS: null key");
  const bool rsa = KindOf(pkey.get());
  return PrivateKey(std::move(pkey), rsa);
}

PublicKey PrivateKey::Public() const { return PublicKey::FromEvp(pkey_.get()); }

std::string SigningInput(std::string_view header_json, ByteView payload) {
  return b64url::Encode(header_json) + "." + b64url::Encode(payload);
}

Bytes EcdsaRawToDer(ByteView raw) {
  if (raw.size() != 64) InvalidInput("JWS: ES256 signature must be 64 bytes");
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BnPtr r = ToBn(raw.subspan(0, 32)), s = ToBn(raw.subspan(32, 32));
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) Internal("ECDSA_SIG_set0 failed");
  (void)r.release();
  (void)s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0 || der == nullptr) Internal("i2d_ECDSA_SIG failed");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Bytes EcdsaDerToRaw(ByteView der) {
  if (der.size() > 256) InvalidInput("JWS: DER signature too long");
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) InvalidInput("JWS: invalid DER ECDSA signature");
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (BN_num_bytes(r) > 32 || BN_num_bytes(s) > 32) InvalidInput("JWS: ECDSA value too large");
  return Concat({BnToPad(r, 32), BnToPad(s, 32)});
}

Bytes SignRaw(const PrivateKey& key, Alg alg, std::string_view signing_input) {
  if ((alg == Alg::kPS384) != key.is_rsa()) InvalidInput("JWS: key type does not match the algorithm");
  MdCtxPtr md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!md || EVP_DigestSignInit(md.get(), &pctx, DigestFor(alg), nullptr, key.evp()) != 1) {
    Internal("EVP_DigestSignInit failed");
  }
  if (alg == Alg::kPS384) ConfigurePss(pctx);
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (EVP_DigestSign(md.get(), nullptr, &len, in, signing_input.size()) != 1) Internal("sign failed");
  Bytes sig(len);
  if (EVP_DigestSign(md.get(), sig.data(), &len, in, signing_input.size()) != 1) Internal("sign failed");
  sig.resize(len);
  if (alg == Alg::kES256) return EcdsaDerToRaw(sig);
  return sig;
}

bool VerifyRaw(const PublicKey& key, Alg alg, std::string_view signing_input, ByteView signature) {
  if ((alg == Alg::kPS384) != key.is_rsa()) InvalidInput("JWS: key type does not match the algorithm");
  Bytes der;
  ByteView sig = signature;
  if (alg == Alg::kES256) {
    if (signature.size() != 64) return false;
    der = EcdsaRawToDer(signature);
    sig = der;
  } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.evp()))) {
    return false;
  }
  MdCtxPtr md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  // EVP_DigestVerifyInit takes a non-const key but does not modify it.
  if (!md || EVP_DigestVerifyInit(md.get(), &pctx, DigestFor(alg), nullptr,
                                  const_cast<EVP_PKEY*>(key.evp())) != 1) {
    Internal("EVP_DigestVerifyInit failed");
  }
  if (alg == Alg::kPS384) ConfigurePss(pctx);
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  return EVP_DigestVerify(md.get(), sig.data(), sig.size(), in, signing_input.size()) == 1;
}

Compact ParseCompact(std::string_view compact) {
  const std::size_t d1 = compact.find('.');
  if (d1 == std::string_view::npos) InvalidInput("JWS: not a compact JWS (expected 3 parts)");
  const std::size_t d2 = compact.find('.', d1 + 1);
  if (d2 == std::string_view::npos || compact.find('.', d2 + 1) != std::string_view::npos) {
    InvalidInput("JWS: not a compact JWS (expected 3 parts)");
  }
  Compact c;
  c.header_b64 = std::string(compact.substr(0, d1));
  c.payload_b64 = std::string(compact.substr(d1 + 1, d2 - d1 - 1));
  c.signature_b64 = std::string(compact.substr(d2 + 1));
  if (c.header_b64.empty() || c.signature_b64.empty()) InvalidInput("JWS: empty header or signature");
  c.header_json = ToString(b64url::Decode(c.header_b64));
  c.header = json::Parse(c.header_json);
  if (!c.header.is_object()) InvalidInput("JWS: header is not a JSON object");
  c.payload = b64url::Decode(c.payload_b64);
  c.signature = b64url::Decode(c.signature_b64);
  return c;
}

std::string Sign(const PrivateKey& key, Alg alg, const json::Value& header, ByteView payload) {
  const json::Value* a = header.find("alg");
  if (a == nullptr || !a->is_string() || a->as_string() != AlgName(alg)) {
    InvalidInput("JWS: header alg does not match the signing algorithm");
  }
  const std::string input = SigningInput(json::Serialize(header), payload);
  return input + "." + b64url::Encode(SignRaw(key, alg, input));
}

Compact Verify(std::string_view compact, const PublicKey& key, Alg alg, const VerifyOptions& options) {
  Compact c = ParseCompact(compact);
  VerifyParsed(c, key, alg, options);
  return c;
}

void VerifyParsed(const Compact& c, const PublicKey& key, Alg alg, const VerifyOptions& options) {
  const json::Value* a = c.header.find("alg");
  if (a == nullptr || !a->is_string()) InvalidInput("JWS: header has no alg");
  if (a->as_string() == "none") InvalidInput("JWS: alg none is refused");
  if (a->as_string() != AlgName(alg)) InvalidInput("JWS: unexpected alg");
  if (c.header.find("crit") != nullptr) InvalidInput("JWS: crit header is not supported");
  if (options.refuse_key_headers) {
    for (const char* h : {"jwk", "jku", "x5u", "x5c"}) {
      if (c.header.find(h) != nullptr) {
        InvalidInput(std::string("JWS: header member ") + h + " is refused (keys are pinned by kid)");
      }
    }
  }
  if (!options.expected_typ.empty()) {
    const json::Value* t = c.header.find("typ");
    if (t == nullptr || !t->is_string() || t->as_string() != options.expected_typ) {
      InvalidInput("JWS: unexpected typ");
    }
  }
  if (!VerifyRaw(key, alg, c.signing_input(), c.signature)) InvalidInput("JWS: invalid signature");
}

}  // namespace realdid::jws
