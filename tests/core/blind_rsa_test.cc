// RFC 9474 blind RSA: all four Appendix A vectors byte for byte, the blind-signature step of all ten
// RFC 9578 token type 2 vectors, and the negative cases of every input rule.
#include "core/blind_rsa.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"
#include "tests/support/error_kind.h"
#include "tests/support/vectors.h"

namespace realdid::blind_rsa {
namespace {

struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct CtxFree {
  void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
};
using TestBn = std::unique_ptr<BIGNUM, BnFree>;

TestBn ToBn(ByteView b) {
  return TestBn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
}
Bytes FromBn(const BIGNUM* bn, std::size_t len) {
  Bytes out(len);
  EXPECT_EQ(BN_bn2binpad(bn, out.data(), static_cast<int>(len)), static_cast<int>(len));
  return out;
}

// r = inv^-1 mod n (the RFC 9474 vectors publish inv, not r).
Bytes InverseMod(ByteView inv, ByteView n) {
  std::unique_ptr<BN_CTX, CtxFree> ctx(BN_CTX_new());
  TestBn i = ToBn(inv), nn = ToBn(n);
  TestBn r(BN_mod_inverse(nullptr, i.get(), nn.get(), ctx.get()));
  EXPECT_NE(r, nullptr);
  return FromBn(r.get(), n.size());
}

Bytes Hex(const json::Value& v, std::string_view key) {
  std::string s = v.at(key).as_string();
  if (s.rfind("0x", 0) == 0) s = s.substr(2);
  return FromHex(s);
}

json::Value LoadJson(const std::filesystem::path& p) {
  return json::Parse(testing::ReadFile(p), json::ParseLimits{1 << 22, 32});
}

using realdid::testing::KindOf;

class Rfc9474Test : public ::testing::Test {
 protected:
  void SetUp() override {
    REALDID_VECTOR_FILE(path, "test_vectors_rfc9474.json");
    vectors_ = LoadJson(path);
    ASSERT_EQ(vectors_.as_array().size(), 4u);
  }
  const json::Value& Det() const { return vectors_.as_array()[2]; }  // PSS-Deterministic
  json::Value vectors_;
};

TEST_F(Rfc9474Test, AllFourVectorsByteForByte) {
  for (const json::Value& v : vectors_.as_array()) {
    const std::string name = v.at("name").as_string();
    SCOPED_TRACE(name);
    const Bytes n = Hex(v, "n"), e = Hex(v, "e"), d = Hex(v, "d");
    const Bytes msg = Hex(v, "msg"), prefix = Hex(v, "msg_prefix"), input = Hex(v, "input_msg");
    const Bytes salt = Hex(v, "salt"), inv = Hex(v, "inv");
    const Bytes blinded = Hex(v, "blinded_msg"), blind_sig = Hex(v, "blind_sig");
    const Bytes sig = Hex(v, "sig");
    const std::size_t slen = Hex(v, "sLen").at(0);
    const bool randomized = Hex(v, "is_randomized").at(0) == 1;

    const Variant variant = slen == 48 ? (randomized ? Variant::kPssRandomized
                                                     : Variant::kPssDeterministic)
                                       : (randomized ? Variant::kPssZeroRandomized
                                                     : Variant::kPssZeroDeterministic);
    EXPECT_EQ(SaltLength(variant), slen);
    EXPECT_EQ(salt.size(), slen);
    EXPECT_EQ(IsRandomized(variant), randomized);

    // Prepare.
    if (randomized) {
      EXPECT_EQ(PrepareWithPrefix(prefix, msg), input);
      const Bytes fresh = Prepare(msg, variant);
      ASSERT_EQ(fresh.size(), kPrefixLen + msg.size());
      EXPECT_EQ(Bytes(fresh.begin() + kPrefixLen, fresh.end()), msg);
    } else {
      EXPECT_TRUE(prefix.empty());
      EXPECT_EQ(Prepare(msg, variant), input);
    }

    const PublicKey pk = PublicKey::FromComponents(n, e);
    EXPECT_EQ(pk.modulus_bits(), 4096u);
    EXPECT_EQ(pk.modulus_len(), 512u);
    if (v.find("encoded_msg") != nullptr) {
      EXPECT_EQ(EmsaPssEncodeSha384(input, salt, 4095), Hex(v, "encoded_msg"));
    }

    // Blind with the vector's salt and r = inv^-1.
    const Bytes r = InverseMod(inv, n);
    const Blinding b = BlindWith(pk, input, salt, r);
    EXPECT_EQ(ToHex(b.blinded_msg), ToHex(blinded));
    EXPECT_EQ(ToHex(b.inv.reveal()), ToHex(inv));
    EXPECT_EQ(ToHex(b.salt.reveal()), ToHex(salt));
    EXPECT_TRUE(ConstantTimeEqual(b.r.reveal(), r));
    // Deterministic: the same values give the same bytes.
    EXPECT_EQ(BlindWith(pk, input, salt, r).blinded_msg, b.blinded_msg);

    // The raw private operation (what the HSM computes) and the s^e check.
    const PrivateKeyForTesting sk = PrivateKeyForTesting::FromComponents(n, e, d);
    EXPECT_EQ(ToHex(BlindSignSoftwareForTesting(sk, blinded)), ToHex(blind_sig));
    EXPECT_NO_THROW(CheckBlindSignature(pk, blinded, blind_sig));

    // Finalize and verify.
    EXPECT_EQ(ToHex(Finalize(pk, input, blind_sig, b)), ToHex(sig));
    EXPECT_EQ(ToHex(Finalize(pk, input, blind_sig, Secret(inv), slen)), ToHex(sig));
    EXPECT_TRUE(Verify(pk, input, sig, slen));
    EXPECT_FALSE(Verify(pk, Concat({input, Bytes{0}}), sig, slen));
  }
}

TEST_F(Rfc9474Test, BlindingFactorOutOfRangeRefused) {
  const json::Value& v = Det();
  const Bytes n = Hex(v, "n"), input = Hex(v, "input_msg"), salt = Hex(v, "salt");
  const PublicKey pk = PublicKey::FromComponents(n, Hex(v, "e"));
  const std::size_t k = pk.modulus_len();
  Bytes zero(k, 0), one(k, 0);
  one[k - 1] = 1;
  Bytes above(k, 0xff);
  // p (padded to k bytes) shares a factor with n.
  const Bytes p = Hex(v, "p");
  Bytes p_padded(k - p.size(), 0);
  p_padded.insert(p_padded.end(), p.begin(), p.end());
  for (const Bytes& r : {zero, one, n, above, p_padded}) {
    EXPECT_EQ(KindOf([&] { BlindWith(pk, input, salt, r); }), ErrorKind::kInvalidInput);
  }
  // Lengths: r must be exactly k bytes.
  Bytes r = InverseMod(Hex(v, "inv"), n);
  Bytes shorter(r.begin() + 1, r.end());
  Bytes longer = r;
  longer.insert(longer.begin(), 0);
  EXPECT_EQ(KindOf([&] { BlindWith(pk, input, salt, shorter); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { BlindWith(pk, input, salt, longer); }), ErrorKind::kInvalidInput);
  // n - 1 is in range (and coprime): accepted.
  Bytes n_minus_1 = n;
  n_minus_1[k - 1] = static_cast<std::uint8_t>(n_minus_1[k - 1] - 1);
  EXPECT_NO_THROW(BlindWith(pk, input, salt, n_minus_1));
}

TEST_F(Rfc9474Test, SaltOfWrongLengthRefused) {
  const json::Value& v = Det();
  const PublicKey pk = PublicKey::FromComponents(Hex(v, "n"), Hex(v, "e"));
  const Bytes input = Hex(v, "input_msg");
  const Bytes r = InverseMod(Hex(v, "inv"), Hex(v, "n"));
  for (std::size_t len : {1u, 32u, 47u, 49u, 64u}) {
    EXPECT_EQ(KindOf([&] { BlindWith(pk, input, Bytes(len, 7), r); }), ErrorKind::kInvalidInput)
        << len;
  }
  const Bytes blind_sig = Hex(v, "blind_sig");
  EXPECT_EQ(KindOf([&] { Finalize(pk, input, blind_sig, Secret(Hex(v, "inv")), 47); }),
            ErrorKind::kInvalidInput);
  EXPECT_FALSE(Verify(pk, input, Hex(v, "sig"), 47));
  // Right length, wrong value: the PSS signature was made with 48, so 0 does not verify.
  EXPECT_FALSE(Verify(pk, input, Hex(v, "sig"), 0));
}

TEST_F(Rfc9474Test, BlindSignatureRangeAndLengthRefused) {
  const json::Value& v = Det();
  const Bytes n = Hex(v, "n"), input = Hex(v, "input_msg"), inv = Hex(v, "inv");
  const Bytes blinded = Hex(v, "blinded_msg"), blind_sig = Hex(v, "blind_sig");
  const PublicKey pk = PublicKey::FromComponents(n, Hex(v, "e"));
  const PrivateKeyForTesting sk = PrivateKeyForTesting::FromComponents(n, Hex(v, "e"), Hex(v, "d"));
  const Bytes all_ff(pk.modulus_len(), 0xff);
  for (const Bytes& bad : {n, all_ff}) {
    EXPECT_EQ(KindOf([&] { Finalize(pk, input, bad, Secret(inv), 48); }), ErrorKind::kInvalidInput);
    EXPECT_EQ(KindOf([&] { BlindSignSoftwareForTesting(sk, bad); }), ErrorKind::kInvalidInput);
    EXPECT_EQ(KindOf([&] { CheckBlindSignature(pk, blinded, bad); }), ErrorKind::kInvalidInput);
  }
  const Bytes short_sig(blind_sig.begin() + 1, blind_sig.end());
  EXPECT_EQ(KindOf([&] { Finalize(pk, input, short_sig, Secret(inv), 48); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { BlindSignSoftwareForTesting(sk, short_sig); }), ErrorKind::kInvalidInput);
  const Bytes short_inv(inv.begin() + 1, inv.end());
  EXPECT_EQ(KindOf([&] { Finalize(pk, input, blind_sig, Secret(short_inv), 48); }),
            ErrorKind::kInvalidInput);

  // A blind signature altered by one bit: s^e != B, and Finalize does not produce a valid signature.
  Bytes altered = blind_sig;
  altered[100] ^= 0x04;
  EXPECT_EQ(KindOf([&] { CheckBlindSignature(pk, blinded, altered); }), ErrorKind::kCryptoFailure);
  EXPECT_EQ(KindOf([&] { Finalize(pk, input, altered, Secret(inv), 48); }),
            ErrorKind::kCryptoFailure);
  // Finalizing for another message fails too.
  EXPECT_EQ(KindOf([&] { Finalize(pk, Bytes{1, 2, 3}, blind_sig, Secret(inv), 48); }),
            ErrorKind::kCryptoFailure);
}

TEST_F(Rfc9474Test, EveryOneBitChangeOfTheSignatureFailsVerify) {
  const json::Value& v = Det();
  const PublicKey pk = PublicKey::FromComponents(Hex(v, "n"), Hex(v, "e"));
  const Bytes input = Hex(v, "input_msg");
  const Bytes sig = Hex(v, "sig");
  ASSERT_TRUE(Verify(pk, input, sig));
  for (std::size_t bit = 0; bit < sig.size() * 8; bit += 3) {
    Bytes s = sig;
    s[bit / 8] = static_cast<std::uint8_t>(s[bit / 8] ^ (1u << (bit % 8)));
    ASSERT_FALSE(Verify(pk, input, s)) << "bit " << bit;
  }
  Bytes in = input;
  in[0] ^= 1;
  EXPECT_FALSE(Verify(pk, in, sig));
  EXPECT_FALSE(Verify(pk, input, Bytes(sig.begin() + 1, sig.end())));
  Bytes longer = sig;
  longer.insert(longer.begin(), 0);
  EXPECT_FALSE(Verify(pk, input, longer));
  EXPECT_FALSE(Verify(pk, input, Bytes{}));
}

TEST_F(Rfc9474Test, RandomBlindingRoundTrip) {
  const json::Value& v = Det();
  const PrivateKeyForTesting sk =
      PrivateKeyForTesting::FromComponents(Hex(v, "n"), Hex(v, "e"), Hex(v, "d"));
  const PublicKey& pk = sk.public_key();
  for (Variant variant : {Variant::kPssDeterministic, Variant::kPssRandomized,
                          Variant::kPssZeroDeterministic, Variant::kPssZeroRandomized}) {
    const Bytes input = Prepare(AsBytes("a credential signing input"), variant);
    const Blinding b1 = Blind(pk, input, variant);
    const Blinding b2 = Blind(pk, input, variant);
    EXPECT_NE(b1.blinded_msg, b2.blinded_msg);
    EXPECT_EQ(b1.salt.size(), SaltLength(variant));
    EXPECT_EQ(b1.r.size(), pk.modulus_len());
    // The opening recomputes the same blinded message.
    EXPECT_EQ(BlindWith(pk, input, b1.salt.reveal(), b1.r.reveal()).blinded_msg, b1.blinded_msg);
    const Bytes sig = Finalize(pk, input, BlindSignSoftwareForTesting(sk, b1.blinded_msg), b1);
    EXPECT_TRUE(Verify(pk, input, sig, SaltLength(variant)));
  }
}

TEST(BlindRsaKeyTest, KeyRulesEnforced) {
  const PrivateKeyForTesting sk = PrivateKeyForTesting::Generate(2048);
  const PublicKey& pk = sk.public_key();
  EXPECT_EQ(pk.modulus_bits(), 2048u);
  EXPECT_EQ(pk.e(), (Bytes{1, 0, 1}));
  // Leading zeros are ignored.
  Bytes padded_n(1, 0);
  padded_n.insert(padded_n.end(), pk.n().begin(), pk.n().end());
  EXPECT_EQ(PublicKey::FromComponents(padded_n, pk.e()).n(), pk.n());
  // e other than 65537 refused by the product policy, allowed (odd, >= 3) for foreign vectors.
  EXPECT_EQ(KindOf([&] { PublicKey::FromComponents(pk.n(), Bytes{3}); }), ErrorKind::kInvalidInput);
  EXPECT_NO_THROW(PublicKey::FromComponents(pk.n(), Bytes{3}, ExponentPolicy::kAnyOdd));
  EXPECT_EQ(KindOf([&] { PublicKey::FromComponents(pk.n(), Bytes{1}, ExponentPolicy::kAnyOdd); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { PublicKey::FromComponents(pk.n(), Bytes{4}, ExponentPolicy::kAnyOdd); }),
            ErrorKind::kInvalidInput);
  // Modulus sizes other than 2048/3072/4096, even moduli.
  Bytes n1024(pk.n().begin(), pk.n().begin() + 128);
  n1024.back() |= 1;
  EXPECT_EQ(KindOf([&] { PublicKey::FromComponents(n1024, pk.e()); }), ErrorKind::kInvalidInput);
  Bytes even = pk.n();
  even.back() &= 0xfe;
  EXPECT_EQ(KindOf([&] { PublicKey::FromComponents(even, pk.e()); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { PublicKey::FromComponents(Bytes{}, pk.e()); }), ErrorKind::kInvalidInput);
  // SPKI garbage.
  EXPECT_EQ(KindOf([&] { PublicKey::FromSpkiDer(Bytes{0x30, 0x00}); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { PrivateKeyForTesting::FromPem("not a key"); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { PrepareWithPrefix(Bytes(31, 0), Bytes{1}); }), ErrorKind::kInvalidInput);
}

// RFC 9578 token type 2: token_input = 0x0002 || nonce || SHA-256(challenge) || SHA-256(pkS SPKI).
void RunRfc9578(const char* file) {
  REALDID_VECTOR_FILE(path, file);
  const json::Value vectors = LoadJson(path);
  ASSERT_EQ(vectors.as_array().size(), 5u);
  int index = 0;
  for (const json::Value& v : vectors.as_array()) {
    SCOPED_TRACE(std::string(file) + " #" + std::to_string(index++));
    const Bytes spki = Hex(v, "pkS");
    const PublicKey pk = PublicKey::FromSpkiDer(spki);
    ASSERT_EQ(pk.modulus_len(), 256u);
    const PrivateKeyForTesting sk = PrivateKeyForTesting::FromPem(ToString(Hex(v, "skS")));
    EXPECT_EQ(sk.public_key().n(), pk.n());

    const Bytes nonce = Hex(v, "nonce");
    const Bytes key_id = hash::Sha256(spki);
    const Bytes token_input =
        Concat({U16BE(0x0002), nonce, hash::Sha256(Hex(v, "token_challenge")), key_id});
    const Bytes token_request = Hex(v, "token_request");
    const Bytes token_response = Hex(v, "token_response");
    const Bytes token = Hex(v, "token");
    ASSERT_EQ(token_request.size(), 2u + 1u + 256u);
    EXPECT_EQ(token_request[0], 0x00);
    EXPECT_EQ(token_request[1], 0x02);
    EXPECT_EQ(token_request[2], key_id.back());  // truncated_token_key_id
    ASSERT_EQ(token.size(), token_input.size() + 256u);
    EXPECT_EQ(Bytes(token.begin(), token.begin() + static_cast<std::ptrdiff_t>(token_input.size())),
              token_input);

    const Blinding b = BlindWith(pk, token_input, Hex(v, "salt"), Hex(v, "blind"));
    EXPECT_EQ(ToHex(b.blinded_msg), ToHex(Bytes(token_request.begin() + 3, token_request.end())));
    EXPECT_EQ(ToHex(BlindSignSoftwareForTesting(sk, b.blinded_msg)), ToHex(token_response));
    const Bytes sig = Finalize(pk, token_input, token_response, b);
    EXPECT_EQ(ToHex(sig), ToHex(Bytes(token.end() - 256, token.end())));
    EXPECT_TRUE(Verify(pk, token_input, sig));
  }
}

TEST(Rfc9578Test, GoVectorsBlindSignatureStep) { RunRfc9578("pub_verif_rfc9578.go.json"); }
TEST(Rfc9578Test, RustVectorsBlindSignatureStep) { RunRfc9578("pub_verif_rfc9578.rust.json"); }

}  // namespace
}  // namespace realdid::blind_rsa
