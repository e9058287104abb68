// HPKE (RFC 9180) base mode, DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM: the A.3.1
// vector with every intermediate value, the external-ECDH path, and refusal of invalid points and of
// tampered enc / ct / aad / info.
#include "core/hpke.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "core/json.h"
#include "tests/support/error_kind.h"
#include "tests/support/vectors.h"

namespace realdid::hpke {
namespace {

using realdid::testing::KindOf;

class Rfc9180A31Test : public ::testing::Test {
 protected:
  void SetUp() override {
    REALDID_VECTOR_FILE(path, "hpke_rfc9180_a31.json");
    v_ = json::Parse(testing::ReadFile(path));
    ASSERT_EQ(v_.at("mode").as_int(), 0);
    ASSERT_EQ(v_.at("kem_id").as_int(), kKemId);
    ASSERT_EQ(v_.at("kdf_id").as_int(), kKdfId);
    ASSERT_EQ(v_.at("aead_id").as_int(), kAeadId);
    ASSERT_EQ(v_.at("seq").as_int(), 0);
  }
  Bytes H(std::string_view key) const { return FromHex(v_.at(key).as_string()); }
  std::string S(std::string_view key) const { return v_.at(key).as_string(); }
  json::Value v_;
};

TEST_F(Rfc9180A31Test, EveryIntermediateValue) {
  const KeyPair eph = DeriveKeyPair(H("ikmE"));
  EXPECT_EQ(ToHex(eph.private_key.reveal()), S("skEm"));
  EXPECT_EQ(ToHex(SerializePublicKey(eph.public_key)), S("pkEm"));
  const KeyPair rcp = DeriveKeyPair(H("ikmR"));
  EXPECT_EQ(ToHex(rcp.private_key.reveal()), S("skRm"));
  EXPECT_EQ(ToHex(SerializePublicKey(rcp.public_key)), S("pkRm"));
  EXPECT_EQ(PublicKeyFromPrivate(rcp.private_key), rcp.public_key);

  const Encapsulation e = Encap(rcp.public_key, H("ikmE"));
  EXPECT_EQ(ToHex(e.enc), S("pkEm"));
  EXPECT_EQ(ToHex(e.shared_secret.reveal()), S("shared_secret"));
  EXPECT_EQ(ToHex(Decap(e.enc, rcp.private_key).reveal()), S("shared_secret"));
  // Both sides of the ECDH agree.
  EXPECT_EQ(Dh(eph.private_key, rcp.public_key), Dh(rcp.private_key, eph.public_key));

  const Context c = KeySchedule(e.shared_secret, H("info"));
  EXPECT_EQ(ToHex(c.key_schedule_context), S("key_schedule_context"));
  EXPECT_EQ(ToHex(c.secret.reveal()), S("secret"));
  EXPECT_EQ(ToHex(c.key.reveal()), S("key"));
  EXPECT_EQ(ToHex(c.base_nonce.reveal()), S("base_nonce"));
  EXPECT_EQ(ToHex(c.exporter_secret.reveal()), S("exporter_secret"));
  EXPECT_EQ(ToHex(SealWithContext(c, H("aad"), H("pt"))), S("ct"));

  const Sealed sealed = Seal(rcp.public_key, H("info"), H("aad"), H("pt"), H("ikmE"));
  EXPECT_EQ(ToHex(sealed.enc), S("pkEm"));
  EXPECT_EQ(ToHex(sealed.ct), S("ct"));
  EXPECT_EQ(ToHex(Open(sealed.enc, sealed.ct, rcp.private_key, H("info"), H("aad")).reveal()),
            S("pt"));
}

TEST_F(Rfc9180A31Test, OpenWithExternalEcdh) {
  const KeyPair rcp = DeriveKeyPair(H("ikmR"));
  int calls = 0;
  EcdhFunction hsm = [&](const PublicKey& pk_e) {
    ++calls;
    EXPECT_EQ(ToHex(pk_e.bytes()), S("pkEm"));
    return Dh(rcp.private_key, pk_e);
  };
  EXPECT_EQ(ToHex(Decap(H("pkEm"), rcp.public_key, hsm).reveal()), S("shared_secret"));
  EXPECT_EQ(ToHex(Open(H("pkEm"), H("ct"), rcp.public_key, hsm, H("info"), H("aad")).reveal()),
            S("pt"));
  EXPECT_EQ(calls, 2);
  // An ECDH result of the wrong size is refused.
  EcdhFunction broken = [](const PublicKey&) { return Secret(Bytes(31, 1)); };
  EXPECT_EQ(KindOf([&] { Decap(H("pkEm"), rcp.public_key, broken); }), ErrorKind::kInternal);
  // An invalid enc never reaches the ECDH callback.
  Bytes bad = H("pkEm");
  bad[64] ^= 1;
  EXPECT_EQ(KindOf([&] { Decap(bad, rcp.public_key, hsm); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(calls, 2);
}

TEST_F(Rfc9180A31Test, TamperedInputsDoNotOpen) {
  const KeyPair rcp = DeriveKeyPair(H("ikmR"));
  const Bytes enc = H("pkEm"), ct = H("ct"), info = H("info"), aad = H("aad");
  ASSERT_NO_THROW(Open(enc, ct, rcp.private_key, info, aad));
  for (std::size_t i = 0; i < ct.size(); ++i) {
    Bytes t = ct;
    t[i] ^= 0x01;
    EXPECT_EQ(KindOf([&] { Open(enc, t, rcp.private_key, info, aad); }), ErrorKind::kCryptoFailure)
        << i;
  }
  EXPECT_EQ(KindOf([&] { Open(enc, Bytes(ct.begin(), ct.end() - 1), rcp.private_key, info, aad); }),
            ErrorKind::kCryptoFailure);
  EXPECT_EQ(KindOf([&] { Open(enc, Bytes(15, 0), rcp.private_key, info, aad); }),
            ErrorKind::kCryptoFailure);
  Bytes aad2 = aad;
  aad2.back() ^= 1;
  EXPECT_EQ(KindOf([&] { Open(enc, ct, rcp.private_key, info, aad2); }), ErrorKind::kCryptoFailure);
  EXPECT_EQ(KindOf([&] { Open(enc, ct, rcp.private_key, info, Bytes{}); }),
            ErrorKind::kCryptoFailure);
  Bytes info2 = info;
  info2[0] ^= 1;
  EXPECT_EQ(KindOf([&] { Open(enc, ct, rcp.private_key, info2, aad); }), ErrorKind::kCryptoFailure);
  // Another valid enc (a different ephemeral key) gives another shared secret.
  const Bytes other_enc = SerializePublicKey(GenerateKeyPair().public_key);
  EXPECT_EQ(KindOf([&] { Open(other_enc, ct, rcp.private_key, info, aad); }),
            ErrorKind::kCryptoFailure);
  // Another recipient key.
  const KeyPair other = GenerateKeyPair();
  EXPECT_EQ(KindOf([&] { Open(enc, ct, other.private_key, info, aad); }), ErrorKind::kCryptoFailure);
  // An enc that is not a point at all.
  Bytes bad_enc = enc;
  bad_enc[10] ^= 1;
  EXPECT_EQ(KindOf([&] { Open(bad_enc, ct, rcp.private_key, info, aad); }),
            ErrorKind::kInvalidInput);
}

TEST(HpkeTest, InvalidPointsRefused) {
  const Bytes good = SerializePublicKey(GenerateKeyPair().public_key);
  ASSERT_NO_THROW(DeserializePublicKey(good));
  auto refused = [](const Bytes& b) {
    return KindOf([&] { DeserializePublicKey(b); }) == ErrorKind::kInvalidInput;
  };
  // Off-curve: y + 1.
  Bytes off = good;
  off[64] = static_cast<std::uint8_t>(off[64] + 1);
  EXPECT_TRUE(refused(off));
  // Wrong prefix: compressed (0x02/0x03) and hybrid (0x06/0x07) prefixes, 0x00, 0x05.
  for (int prefix : {0x00, 0x02, 0x03, 0x05, 0x06, 0x07}) {
    Bytes p = good;
    p[0] = static_cast<std::uint8_t>(prefix);
    EXPECT_TRUE(refused(p)) << prefix;
  }
  // The compressed encoding of a valid point (33 bytes) is refused too.
  Bytes compressed(good.begin(), good.begin() + 33);
  compressed[0] = static_cast<std::uint8_t>(0x02 | (good[64] & 1));
  EXPECT_TRUE(refused(compressed));
  // Wrong lengths.
  EXPECT_TRUE(refused(Bytes(good.begin(), good.end() - 1)));
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_TRUE(refused(longer));
  EXPECT_TRUE(refused(Bytes{}));
  EXPECT_TRUE(refused(Bytes{0x00}));  // the SEC1 encoding of the point at infinity
  // All zero, and 0x04 followed by zeros.
  EXPECT_TRUE(refused(Bytes(65, 0)));
  Bytes zero_point(65, 0);
  zero_point[0] = 0x04;
  EXPECT_TRUE(refused(zero_point));
  // Coordinates >= p: x = p (the field prime), y arbitrary.
  Bytes big(65, 0xff);
  big[0] = 0x04;
  EXPECT_TRUE(refused(big));
  const Bytes p = FromHex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
  Bytes x_is_p = good;
  std::copy(p.begin(), p.end(), x_is_p.begin() + 1);
  EXPECT_TRUE(refused(x_is_p));
}

TEST(HpkeTest, PrivateKeyAndIkmRules) {
  EXPECT_EQ(KindOf([&] { DeriveKeyPair(Bytes(31, 1)); }), ErrorKind::kInvalidInput);
  EXPECT_NO_THROW(DeriveKeyPair(Bytes(32, 1)));
  EXPECT_EQ(KindOf([&] { PublicKeyFromPrivate(Secret(Bytes(32, 0))); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { PublicKeyFromPrivate(Secret(Bytes(32, 0xff))); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { PublicKeyFromPrivate(Secret(Bytes(31, 1))); }), ErrorKind::kInvalidInput);
  const KeyPair r = GenerateKeyPair();
  EXPECT_EQ(KindOf([&] { Encap(r.public_key, Bytes(16, 1)); }), ErrorKind::kInvalidInput);
}

TEST(HpkeTest, RoundTripAndDeterminism) {
  const KeyPair r = GenerateKeyPair();
  const Bytes info = ToBytes("info"), aad = ToBytes("aad"), pt = ToBytes("the plaintext");
  const Bytes ikm(32, 0x42);
  const Sealed a = Seal(r.public_key, info, aad, pt, ikm);
  const Sealed b = Seal(r.public_key, info, aad, pt, ikm);
  EXPECT_EQ(a.enc, b.enc);
  EXPECT_EQ(a.ct, b.ct);
  EXPECT_EQ(a.enc.size(), kNenc);
  EXPECT_EQ(a.ct.size(), pt.size() + kNt);
  const Sealed c = Seal(r.public_key, info, aad, pt);
  const Sealed d = Seal(r.public_key, info, aad, pt);
  EXPECT_NE(c.enc, d.enc);
  EXPECT_EQ(ToString(Open(c.enc, c.ct, r.private_key, info, aad).reveal()), "the plaintext");
  // Empty plaintext, empty aad, empty info.
  const Sealed e = Seal(r.public_key, {}, {}, {});
  EXPECT_EQ(e.ct.size(), kNt);
  EXPECT_TRUE(Open(e.enc, e.ct, r.private_key, {}, {}).empty());
  EXPECT_EQ(KindOf([&] { KeySchedule(Secret(Bytes(32, 1)), Bytes(kMaxInfo + 1, 0)); }),
            ErrorKind::kInvalidInput);
}

}  // namespace
}  // namespace realdid::hpke
