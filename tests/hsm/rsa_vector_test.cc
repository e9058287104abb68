// Known answers: the RFC 9474 Appendix A RSA-4096 key imported into SoftHSM2; the HSM's
// CKM_RSA_X_509 result on each blinded_msg must equal blind_sig byte for byte.
#include <gtest/gtest.h>
#include <openssl/bn.h>

#include "core/json.h"
#include "tests/hsm/hsm_fixture.h"
#include "tests/support/vectors.h"

namespace realdid::hsm::testing {
namespace {

Bytes Hex(const json::Value& v, std::string_view field) {
  std::string s = v.at(field).as_string();
  if (s.rfind("0x", 0) == 0) s = s.substr(2);
  if (s.size() % 2 != 0) s = "0" + s;
  return FromHex(s);
}

struct Bn {
  BIGNUM* p;
  explicit Bn(ByteView b) : p(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr)) {}
  Bn() : p(BN_new()) {}
  ~Bn() { BN_clear_free(p); }
  Bn(const Bn&) = delete;
  Bn& operator=(const Bn&) = delete;
  Bytes bytes() const {
    Bytes out(static_cast<std::size_t>(BN_num_bytes(p)));
    BN_bn2bin(p, out.data());
    return out;
  }
};

// Imports an RSA key pair (CRT parameters computed with OpenSSL) allowed only for CKM_RSA_X_509.
void ImportRsa(Session& s, const KeyRef& ref, const json::Value& v) {
  Bytes n = Hex(v, "n"), e = Hex(v, "e"), d = Hex(v, "d"), p = Hex(v, "p"), q = Hex(v, "q");
  Bn bp(p), bq(q), bd(d), dp, dq, qinv, p1, q1;
  BN_CTX* ctx = BN_CTX_new();
  BN_sub(p1.p, bp.p, BN_value_one());
  BN_sub(q1.p, bq.p, BN_value_one());
  BN_mod(dp.p, bd.p, p1.p, ctx);
  BN_mod(dq.p, bd.p, q1.p, ctx);
  BN_mod_inverse(qinv.p, bq.p, bp.p, ctx);
  BN_CTX_free(ctx);
  Bytes dpb = dp.bytes(), dqb = dq.bytes(), qinvb = qinv.bytes();
  CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY, pub_cls = CKO_PUBLIC_KEY;
  CK_KEY_TYPE kt = CKK_RSA;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_MECHANISM_TYPE mech = CKM_RSA_X_509;
  std::vector<CK_ATTRIBUTE> priv = {
      AttrOf(CKA_CLASS, priv_cls), AttrOf(CKA_KEY_TYPE, kt), AttrOf(CKA_TOKEN, yes),
      AttrOf(CKA_PRIVATE, yes), AttrOf(CKA_SENSITIVE, yes), AttrOf(CKA_EXTRACTABLE, no),
      AttrString(CKA_LABEL, ref.label), AttrBytes(CKA_ID, ref.id), AttrOf(CKA_SIGN, yes),
      AttrOf(CKA_ALLOWED_MECHANISMS, mech), AttrBytes(CKA_MODULUS, n), AttrBytes(CKA_PUBLIC_EXPONENT, e),
      AttrBytes(CKA_PRIVATE_EXPONENT, d), AttrBytes(CKA_PRIME_1, p), AttrBytes(CKA_PRIME_2, q),
      AttrBytes(CKA_EXPONENT_1, dpb), AttrBytes(CKA_EXPONENT_2, dqb), AttrBytes(CKA_COEFFICIENT, qinvb)};
  std::vector<CK_ATTRIBUTE> pub = {
      AttrOf(CKA_CLASS, pub_cls), AttrOf(CKA_KEY_TYPE, kt), AttrOf(CKA_TOKEN, yes),
      AttrString(CKA_LABEL, ref.label), AttrBytes(CKA_ID, ref.id), AttrBytes(CKA_MODULUS, n),
      AttrBytes(CKA_PUBLIC_EXPONENT, e)};
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  Check(s.fn().C_CreateObject(s.handle(), priv.data(), ToCkUlong(priv.size()), &h), "C_CreateObject");
  Check(s.fn().C_CreateObject(s.handle(), pub.data(), ToCkUlong(pub.size()), &h), "C_CreateObject");
}

TEST_F(HsmTest, Rfc9474BlindSigMatchesByteForByte) {
  REALDID_VECTOR_FILE(path, "test_vectors_rfc9474.json");
  json::Value doc = json::Parse(realdid::testing::ReadFile(path));
  const json::Array& vectors = doc.as_array();
  ASSERT_EQ(vectors.size(), 4u);
  KeyRef ref{"rfc9474-vector-key", FromHex("9474")};
  ImportRsa(Admin(kIssuance), ref, vectors.front());
  auto token = Token::Open(module(), Config(kIssuance));
  RsaPublicKey pub = token->RsaPublic(ref);
  EXPECT_EQ(pub.n, Hex(vectors.front(), "n"));
  for (const json::Value& v : vectors) {
    ASSERT_EQ(Hex(v, "n"), pub.n) << "all vectors share one key";
    Bytes blinded = Hex(v, "blinded_msg");
    Bytes expected = Hex(v, "blind_sig");
    ASSERT_EQ(blinded.size(), 512u);
    Bytes got = token->RsaRawPrivate(ref, blinded);
    EXPECT_EQ(ToHex(got), ToHex(expected)) << v.at("name").as_string();
  }
}

}  // namespace
}  // namespace realdid::hsm::testing
