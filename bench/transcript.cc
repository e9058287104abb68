#include "bench/transcript.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <ctime>
#include <fstream>
#include <stdexcept>

#include "core/base64url.h"
#include "core/json.h"

namespace realdid::bench {
namespace {

// CPU time of the calling thread: the floor is what the primitives cost, not what a shared machine
// lets them take in wall time.
struct Clock {
  using time_point = double;  // seconds
  static time_point now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
};

json::Value Field(const json::Value& exchange, const char* member) {
  return json::Parse(exchange.at(member).as_string());
}
Bytes B64(const json::Value& v, std::string_view key) { return b64url::Decode(v.at(key).as_string()); }

double MsPerOp(Clock::time_point t0, long n) {
  return (Clock::now() - t0) * 1000.0 / static_cast<double>(n);
}

EVP_PKEY* FromData(const char* type, int selection, OSSL_PARAM* params) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &key, selection, params) != 1) {
    EVP_PKEY_CTX_free(ctx);
    throw std::runtime_error("key import failed");
  }
  EVP_PKEY_CTX_free(ctx);
  return key;
}

}  // namespace

Transcript LoadTranscript(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<json::Value> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::Parse(line));
  }
  if (lines.size() != 5) throw std::runtime_error("transcript must hold 5 exchanges");
  const json::Value jwks = Field(lines[0], "response");
  const json::Value o = Field(lines[2], "response");
  const json::Value& key = jwks.at("keys").as_array().at(0);
  const json::Value& esc = jwks.at("escrow");
  credential::SessionValues v;
  v.iss = o.at("iss").as_string();
  v.vct = o.at("vct").as_string();
  v.kid = o.at("kid").as_string();
  v.iat = o.at("iat").as_int();
  v.exp = o.at("exp").as_int();
  const json::Value& a = o.at("attested");
  v.attested.age_over_18 = a.at("age_over_18").as_bool();
  v.attested.age_over_60 = a.at("age_over_60").as_bool();
  v.attested.province = a.at("province").as_string();
  v.attested.nationality = a.at("nationality").as_string();
  v.attested.real_name_verified = a.at("real_name_verified").as_bool();
  v.escrow_kid = o.at("escrow_kid").as_string();
  Transcript t{candidate::Context{
                   v, B64(o, "issuance_id"),
                   hpke::DeserializePublicKey(Concat({Bytes{0x04}, B64(esc, "x"), B64(esc, "y")})),
                   blind_rsa::PublicKey::FromComponents(B64(key, "n"), B64(key, "e"))},
               0, {}, {}};
  const json::Value commit = Field(lines[3], "request");
  for (const json::Value& c : commit.at("candidates").as_array()) {
    const Bytes b = B64(c, "blinded_msg");
    const Bytes tr = B64(c, "trace");
    t.commit_blob.insert(t.commit_blob.end(), b.begin(), b.end());
    t.commit_blob.insert(t.commit_blob.end(), tr.begin(), tr.end());
    ++t.k;
  }
  const json::Value reveal = Field(lines[4], "request");
  for (const json::Value& op : reveal.at("openings").as_array()) {
    OwnedOpening w;
    w.index = static_cast<std::size_t>(op.at("index").as_int());
    w.holder_x = B64(op.at("holder_jwk"), "x");
    w.holder_y = B64(op.at("holder_jwk"), "y");
    w.jti = B64(op, "jti");
    const json::Array& salts = op.at("salts").as_array();
    if (salts.size() != credential::kNumDisclosed) throw std::runtime_error("salts");
    for (std::size_t i = 0; i < salts.size(); ++i) w.salts[i] = b64url::Decode(salts[i].as_string());
    w.pss_salt = B64(op, "pss_salt");
    w.r = B64(op, "r");
    w.escrow_ikm = B64(op, "escrow_ikm");
    w.trace_ikm = B64(op, "trace_ikm");
    t.openings.push_back(std::move(w));
  }
  return t;
}

bool CheckAllOpenings(const Transcript& t) {
  std::vector<issuance::IndexedOpening> views;
  views.reserve(t.openings.size());
  for (const OwnedOpening& w : t.openings) {
    issuance::IndexedOpening v{.index = w.index,
                               .opening = {.holder_x = w.holder_x,
                                           .holder_y = w.holder_y,
                                           .jti = w.jti,
                                           .salts = {},
                                           .pss_salt = w.pss_salt,
                                           .r = w.r,
                                           .escrow_ikm = w.escrow_ikm,
                                           .trace_ikm = w.trace_ikm}};
    for (std::size_t i = 0; i < w.salts.size(); ++i) v.opening.salts[i] = w.salts[i];
    views.push_back(v);
  }
  return !issuance::FindCheatInOpenings(t.context, t.commit_blob, t.k, views).has_value();
}

FloorTimes TimeFloor(const Transcript& t, long iterations) {
  FloorTimes f;
  if (iterations < 1) iterations = 1;
  // RSA public operation, key set up once (what `openssl speed rsa3072` verify costs).
  {
    const blind_rsa::PublicKey& pk = t.context.signing_key;
    BIGNUM* n = BN_bin2bn(pk.n().data(), static_cast<int>(pk.n().size()), nullptr);
    BIGNUM* e = BN_bin2bn(pk.e().data(), static_cast<int>(pk.e().size()), nullptr);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY* key = FromData("RSA", EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    if (ctx == nullptr || EVP_PKEY_encrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1) {
      throw std::runtime_error("RSA setup failed");
    }
    const Bytes& r = t.openings.at(0).r;
    Bytes out(r.size());
    auto t0 = Clock::now();
    for (long i = 0; i < iterations; ++i) {
      std::size_t len = out.size();
      if (EVP_PKEY_encrypt(ctx, out.data(), &len, r.data(), r.size()) != 1) {
        throw std::runtime_error("RSA public op failed");
      }
    }
    f.rsa_public_ms = MsPerOp(t0, iterations);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
  }
  // P-256: k*G and ECDH with the escrow key.
  {
    EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT* p = EC_POINT_new(g);
    BN_CTX* bctx = BN_CTX_new();
    BIGNUM* k = BN_bin2bn(t.openings.at(0).escrow_ikm.data(), 32, nullptr);
    auto t0 = Clock::now();
    for (long i = 0; i < iterations; ++i) EC_POINT_mul(g, p, k, nullptr, nullptr, bctx);
    f.ec_base_mul_ms = MsPerOp(t0, iterations);
    BN_free(k);
    BN_CTX_free(bctx);
    EC_POINT_free(p);
    EC_GROUP_free(g);

    EVP_PKEY* mine = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    const Bytes& pub = t.context.escrow_public_key.bytes();
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY* peer = FromData("EC", EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, mine, nullptr);
    if (mine == nullptr || ctx == nullptr || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer(ctx, peer) != 1) {
      throw std::runtime_error("ECDH setup failed");
    }
    std::uint8_t secret[32];
    t0 = Clock::now();
    for (long i = 0; i < iterations; ++i) {
      std::size_t len = sizeof secret;
      if (EVP_PKEY_derive(ctx, secret, &len) != 1) throw std::runtime_error("ECDH failed");
    }
    f.ecdh_ms = MsPerOp(t0, iterations);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
  }
  return f;
}

}  // namespace realdid::bench
