// verify_bench: presentation verification per second (credential::VerifyPresentation: strict parse,
// issuer PS384 signature, disclosure digests, KB-JWT ES256, aud/nonce/iat/exp) against the sum of
// its primitives timed alone in the same run, with keys set up once: one RSA-PSS (SHA-384) verify,
// one ECDSA P-256 (SHA-256) verify and the SHA-256 digests (each disclosure and the sd_hash input).
//
//   verify_bench [--bits 3072] [--iterations N] [--json FILE]
//
// All times are CPU time of the benchmark thread. Not a test: no assertions.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

#include "core/base64url.h"
#include "core/credential.h"
#include "core/hash.h"
#include "core/hpke.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/sdjwt.h"

namespace {

using namespace realdid;

double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

template <typename F>
double MsPerCall(long n, F&& f) {
  const double t0 = CpuMs();
  for (long i = 0; i < n; ++i) f();
  return (CpuMs() - t0) / static_cast<double>(n);
}

// Verifies sig over msg with a key set up once (the primitive alone).
struct EvpVerifier {
  const EVP_PKEY* key;
  const EVP_MD* md;
  bool pss;
  bool Verify(std::string_view msg, ByteView sig) const {
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    // OpenSSL 3.0 takes a non-const key but only reads it.
    bool ok = EVP_DigestVerifyInit(c, &pctx, md, nullptr, const_cast<EVP_PKEY*>(key)) == 1;
    if (ok && pss) {
      ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1;
    }
    ok = ok && EVP_DigestVerify(c, sig.data(), sig.size(),
                                reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
    EVP_MD_CTX_free(c);
    return ok;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  const int bits = a.count("--bits") ? std::stoi(a["--bits"]) : 3072;
  const long n = a.count("--iterations") ? std::stol(a["--iterations"]) : 300;
  try {
    const jws::PrivateKey issuer = jws::PrivateKey::GenerateRsa(bits);
    const jws::PrivateKey holder = jws::PrivateKey::GenerateEcP256();
    const json::Value hj = holder.Public().Jwk();
    credential::SessionValues s;
    s.iss = "https://authority.example";
    s.kid = jwk::Kid(issuer.Public().Jwk());
    s.iat = (std::time(nullptr) / 86400) * 86400;
    s.exp = s.iat + std::int64_t{30} * 86400;
    s.attested.age_over_18 = true;
    s.attested.province = "11";
    s.escrow_kid = s.kid;
    credential::CandidateOpening o;
    o.holder_x = b64url::Decode(hj.at("x").as_string());
    o.holder_y = b64url::Decode(hj.at("y").as_string());
    o.jti = RandomBytes(credential::kJtiSize);
    for (Bytes& salt : o.salts) salt = RandomBytes(credential::kSaltSize);
    o.escrow = Concat({hpke::GenerateKeyPair().public_key.bytes(), RandomBytes(32)});
    const credential::Built b = credential::Build(s, o);
    const Bytes issuer_sig = jws::SignRaw(issuer, jws::Alg::kPS384, b.signing_input);
    const std::string issued = b.Issued(issuer_sig);
    const std::int64_t now = s.iat + 3600;
    const std::string pres = sdjwt::Present(issued, {"age_over_18", "province"}, holder,
                                            "https://rp.example", "nonce-1", now);
    const jws::PublicKey issuer_pub = issuer.Public();
    sdjwt::VerifyOptions vo;
    vo.issuer_keys = [&](std::string_view kid) -> std::optional<jws::PublicKey> {
      if (kid == s.kid) return issuer_pub;
      return std::nullopt;
    };
    vo.now = now;
    vo.audience = "https://rp.example";
    vo.nonce = "nonce-1";
    (void)credential::VerifyPresentation(pres, vo);  // must verify

    const double verify_ms = MsPerCall(n, [&] { (void)credential::VerifyPresentation(pres, vo); });

    // The primitives alone.
    const sdjwt::Parts parts = sdjwt::Split(pres);
    const auto dot = parts.issuer_jwt.rfind('.');
    const std::string issuer_input = parts.issuer_jwt.substr(0, dot);
    const Bytes isig = b64url::Decode(parts.issuer_jwt.substr(dot + 1));
    const std::string& kb = *parts.kb_jwt;
    const auto kdot = kb.rfind('.');
    const std::string kb_input = kb.substr(0, kdot);
    const Bytes kb_raw = b64url::Decode(kb.substr(kdot + 1));  // r || s (64 bytes): DER for EVP
    auto der_int = [](ByteView v) {
      std::size_t i = 0;
      while (i + 1 < v.size() && v[i] == 0) ++i;
      Bytes out(v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
      if (out[0] & 0x80) out.insert(out.begin(), 0);
      Bytes t{0x02, static_cast<std::uint8_t>(out.size())};
      t.insert(t.end(), out.begin(), out.end());
      return t;
    };
    const Bytes ri = der_int(ByteView(kb_raw).subspan(0, 32));
    const Bytes si = der_int(ByteView(kb_raw).subspan(32, 32));
    Bytes kb_der{0x30, static_cast<std::uint8_t>(ri.size() + si.size())};
    kb_der.insert(kb_der.end(), ri.begin(), ri.end());
    kb_der.insert(kb_der.end(), si.begin(), si.end());
    const EvpVerifier rsa{issuer_pub.evp(), EVP_sha384(), true};
    const jws::PublicKey holder_pub = holder.Public();
    const EvpVerifier ec{holder_pub.evp(), EVP_sha256(), false};
    if (!rsa.Verify(issuer_input, isig) || !ec.Verify(kb_input, kb_der)) {
      throw std::runtime_error("primitive check failed");
    }
    const double rsa_ms = MsPerCall(n, [&] { (void)rsa.Verify(issuer_input, isig); });
    const double ec_ms = MsPerCall(n, [&] { (void)ec.Verify(kb_input, kb_der); });
    const double digest_ms = MsPerCall(n, [&] {
      for (const std::string& d : parts.disclosures) (void)hash::Sha256(AsBytes(d));
      (void)hash::Sha256(AsBytes(parts.prefix));  // sd_hash
    });
    const double floor_ms = rsa_ms + ec_ms + digest_ms;
    const double ratio = floor_ms / verify_ms;
    std::printf("presentation verification (RSA-%d issuer, 2 disclosures): %.1f /s (%.4f ms)\n",
                bits, 1000.0 / verify_ms, verify_ms);
    std::printf("primitives alone: RSA-PSS verify %.4f + ECDSA P-256 verify %.4f + digests %.4f = "
                "%.4f ms (%.1f /s)\n",
                rsa_ms, ec_ms, digest_ms, floor_ms, 1000.0 / floor_ms);
    std::printf("verification / primitives' limit: %.3f\n", ratio);
    if (a.count("--json") != 0) {
      std::ofstream out(a["--json"], std::ios::app);
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "{\"bench\":\"verify\",\"bits\":%d,\"verify_per_s\":%.2f,\"verify_ms\":%.5f,"
                    "\"rsa_pss_verify_ms\":%.5f,\"ecdsa_verify_ms\":%.5f,\"digests_ms\":%.5f,"
                    "\"primitives_per_s\":%.2f,\"ratio\":%.4f}\n",
                    bits, 1000.0 / verify_ms, verify_ms, rsa_ms, ec_ms, digest_ms,
                    1000.0 / floor_ms, ratio);
      out << buf;
    }
  } catch (const std::exception& e) {
    std::cerr << "verify_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
