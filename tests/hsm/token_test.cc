// Integration tests of hsm::Token against the real SoftHSM2 module: every operation round-trips
// against OpenSSL on the host, known answers where the key can be imported, and the negative cases.
#include <gtest/gtest.h>

#include <set>

#include "core/hash.h"
#include "tests/hsm/hsm_fixture.h"

namespace realdid::hsm::testing {
namespace {

class TokenTest : public HsmTest {
 protected:
  void SetUp() override {
    HsmTest::SetUp();
    keys_ = RunCeremony();
    token_ = Token::Open(module(), Config(kIssuance));
    escrow_ = Token::Open(module(), Config(kEscrow));
  }
  void TearDown() override {
    token_.reset();
    escrow_.reset();
    HsmTest::TearDown();
  }
  std::vector<ceremony::KeyRecord> keys_;
  std::unique_ptr<Token> token_;
  std::unique_ptr<Token> escrow_;
};

TEST_F(TokenTest, RsaRawRoundTripsAndIsDeterministic) {
  KeyRef key = RefFor(keys_, "blind-signing");
  RsaPublicKey pub = token_->RsaPublic(key);
  ASSERT_EQ(pub.n.size(), 256u);
  EXPECT_EQ(ToHex(pub.e), "010001");
  Bytes m = RandomBytes(pub.n.size());
  m[0] = 0x01;  // below n (whose top bit is set)
  Bytes s = token_->RsaRawPrivate(key, m);
  ASSERT_EQ(s.size(), pub.n.size());
  EXPECT_EQ(HostRsaPublic(pub, s), m);
  EXPECT_EQ(token_->RsaRawPrivate(key, m), s);  // raw RSA is deterministic
}

TEST_F(TokenTest, RsaRawRejectsOutOfRangeInput) {
  KeyRef key = RefFor(keys_, "blind-signing");
  RsaPublicKey pub = token_->RsaPublic(key);
  const std::size_t k = pub.n.size();
  Bytes zero(k, 0);
  Bytes one(k, 0);
  one[k - 1] = 1;
  Bytes two(k, 0);
  two[k - 1] = 2;
  Bytes n = pub.n;
  auto n_minus = [&](unsigned long w) {  // big-number subtraction (a borrow may cross bytes)
    BIGNUM* b = BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr);
    BN_sub_word(b, w);
    Bytes out(k);
    BN_bn2binpad(b, out.data(), static_cast<int>(k));
    BN_free(b);
    return out;
  };
  Bytes n_minus_1 = n_minus(1);
  Bytes n_minus_2 = n_minus(2);
  Bytes all_ff(k, 0xff);
  for (const Bytes& bad : {zero, one, n, n_minus_1, all_ff}) {
    ExpectError(ErrorKind::kInvalidInput, [&] { token_->RsaRawPrivate(key, bad); });
  }
  ExpectError(ErrorKind::kInvalidInput, [&] { token_->RsaRawPrivate(key, Bytes(k - 1, 0x01)); });
  ExpectError(ErrorKind::kInvalidInput, [&] { token_->RsaRawPrivate(key, Bytes(k + 1, 0x01)); });
  ExpectError(ErrorKind::kInvalidInput, [&] { token_->RsaRawPrivate(key, Bytes()); });
  // The boundaries just inside the range are accepted.
  EXPECT_EQ(HostRsaPublic(pub, token_->RsaRawPrivate(key, two)), two);
  EXPECT_EQ(HostRsaPublic(pub, token_->RsaRawPrivate(key, n_minus_2)), n_minus_2);
}

TEST_F(TokenTest, EcdhMatchesHostEcdh) {
  KeyRef key = RefFor(keys_, "escrow");
  Bytes token_point = escrow_->EcP256Public(key);
  ASSERT_EQ(token_point.size(), 65u);
  PkeyPtr token_pub = P256FromPoint(token_point);
  ASSERT_TRUE(token_pub);
  for (int i = 0; i < 3; ++i) {
    PkeyPtr eph = P256Generate();
    Bytes expected = HostEcdh(eph.get(), token_pub.get());
    ASSERT_EQ(expected.size(), 32u);
    Secret z = escrow_->EcdhP256(key, P256PublicPoint(eph.get()));
    EXPECT_EQ(ToHex(z.reveal()), ToHex(expected));
  }
}

TEST_F(TokenTest, EcdhRejectsInvalidPoints) {
  KeyRef key = RefFor(keys_, "escrow");
  PkeyPtr eph = P256Generate();
  Bytes good = P256PublicPoint(eph.get());
  Bytes off_curve = good;
  off_curve[64] ^= 0x01;
  Bytes compressed(good.begin(), good.begin() + 33);
  compressed[0] = 0x02;
  Bytes wrong_prefix = good;
  wrong_prefix[0] = 0x06;
  Bytes zeros(65, 0);
  zeros[0] = 0x04;
  Bytes big(65, 0xff);  // coordinates >= p
  big[0] = 0x04;
  for (const Bytes& bad : {off_curve, compressed, wrong_prefix, zeros, big, Bytes(64, 4), Bytes()}) {
    ExpectError(ErrorKind::kInvalidInput, [&] { escrow_->EcdhP256(key, bad); });
  }
  EXPECT_EQ(escrow_->EcdhP256(key, good).size(), 32u);
}

TEST_F(TokenTest, IssuanceTokenCannotSeeEscrowKey) {
  KeyRef key = RefFor(keys_, "escrow");
  PkeyPtr eph = P256Generate();
  ExpectError(ErrorKind::kInternal, [&] { token_->EcdhP256(key, P256PublicPoint(eph.get())); });
}

TEST_F(TokenTest, EcdsaSignatureVerifiesWithOpenSsl) {
  KeyRef key = RefFor(keys_, "audit-signing");
  Bytes point = token_->EcP256Public(key);
  Bytes msg = ToBytes("audit checkpoint 42");
  Bytes sig = token_->EcdsaP256Sign(key, msg);
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(HostEs256Verify(point, msg, sig));
  EXPECT_FALSE(HostEs256Verify(point, ToBytes("audit checkpoint 43"), sig));
  Bytes tampered = sig;
  tampered[10] ^= 0x01;
  EXPECT_FALSE(HostEs256Verify(point, msg, tampered));
}

TEST_F(TokenTest, HmacIsDeterministicAndKeyed) {
  KeyRef key = RefFor(keys_, "id-lookup-hmac");
  Bytes a = token_->HmacSha256(key, ToBytes("110101199003077777"));
  Bytes b = token_->HmacSha256(key, ToBytes("110101199003077777"));
  Bytes c = token_->HmacSha256(key, ToBytes("110101199003077778"));
  ASSERT_EQ(a.size(), 32u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, hash::Sha256(ToBytes("110101199003077777")));
}

TEST_F(TokenTest, HmacKnownAnswerRfc4231Case6) {
  // Test-only imported key (readable), so the HSM result can be checked against the RFC. (SoftHSM2
  // refuses HMAC-SHA256 keys under 32 bytes, so cases 1-5 of RFC 4231 do not apply.)
  KeyRef key{"test-hmac-known", FromHex("01")};
  ImportSecret(Admin(kIssuance), key, CKK_GENERIC_SECRET, Bytes(131, 0xaa), CKM_SHA256_HMAC);
  Bytes data = ToBytes("Test Using Larger Than Block-Size Key - Hash Key First");
  Bytes mac = token_->HmacSha256(key, data);
  EXPECT_EQ(ToHex(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(mac, hash::HmacSha256(Bytes(131, 0xaa), data));
}

TEST_F(TokenTest, AesGcmRoundTripAndTamperDetection) {
  KeyRef key = RefFor(keys_, "data-wrapping");
  Secret data_key = Secret::Random(32);
  Bytes aad = ToBytes("identity-record-7");
  Bytes sealed = token_->AesGcmEncrypt(key, data_key, aad);
  ASSERT_EQ(sealed.size(), 12u + 32u + 16u);
  EXPECT_TRUE(token_->AesGcmDecrypt(key, sealed, aad) == data_key);
  EXPECT_NE(token_->AesGcmEncrypt(key, data_key, aad), sealed);  // fresh IV each time
  for (std::size_t pos : {std::size_t{0}, std::size_t{11}, std::size_t{12}, std::size_t{43},
                          std::size_t{44}, sealed.size() - 1}) {
    Bytes t = sealed;
    t[pos] ^= 0x80;
    ExpectError(ErrorKind::kCryptoFailure, [&] { token_->AesGcmDecrypt(key, t, aad); });
  }
  ExpectError(ErrorKind::kCryptoFailure, [&] { token_->AesGcmDecrypt(key, sealed, ToBytes("other")); });
  ExpectError(ErrorKind::kCryptoFailure, [&] { token_->AesGcmDecrypt(key, sealed, {}); });
  ExpectError(ErrorKind::kInvalidInput, [&] { token_->AesGcmDecrypt(key, Bytes(27, 0), aad); });
  // The pool is still healthy after the failures.
  EXPECT_TRUE(token_->AesGcmDecrypt(key, sealed, aad) == data_key);
  // Empty aad works; an empty data key is refused.
  Bytes sealed2 = token_->AesGcmEncrypt(key, data_key, {});
  EXPECT_TRUE(token_->AesGcmDecrypt(key, sealed2, {}) == data_key);
  ExpectError(ErrorKind::kInvalidInput, [&] { token_->AesGcmEncrypt(key, Secret(), aad); });
}

TEST_F(TokenTest, AesGcmFormatMatchesOpenSsl) {
  Bytes raw = FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  KeyRef key{"test-aes-known", FromHex("02")};
  ImportSecret(Admin(kIssuance), key, CKK_AES, raw, CKM_AES_GCM);
  Bytes aad = ToBytes("aad");
  Secret pt = Secret::FromString("data key bytes, thirty-two long!");
  Bytes sealed = token_->AesGcmEncrypt(key, pt, aad);
  // HSM -> host
  Bytes out;
  Bytes tag(sealed.end() - 16, sealed.end());
  ByteView sv(sealed);
  ASSERT_TRUE(HostAesGcm(false, raw, sv.first(12), sv.subspan(12, sealed.size() - 28), aad, out, tag));
  EXPECT_EQ(ToString(out), "data key bytes, thirty-two long!");
  // host -> HSM
  Bytes iv = RandomBytes(12);
  Bytes ct;
  Bytes tag2;
  ASSERT_TRUE(HostAesGcm(true, raw, iv, pt.reveal(), aad, ct, tag2));
  EXPECT_TRUE(token_->AesGcmDecrypt(key, Concat({iv, ct, tag2}), aad) == pt);
}

TEST_F(TokenTest, MissingAndDuplicateKeysAreErrors) {
  KeyRef missing{"no-such-key", FromHex("00")};
  std::string d = ExpectError(ErrorKind::kInternal, [&] { token_->HmacSha256(missing, ToBytes("x")); });
  EXPECT_NE(d.find("not found"), std::string::npos) << d;
  KeyRef wrong_id = RefFor(keys_, "id-lookup-hmac");
  wrong_id.id.back() ^= 1;
  ExpectError(ErrorKind::kInternal, [&] { token_->HmacSha256(wrong_id, ToBytes("x")); });

  KeyRef dup{"test-dup", FromHex("aa")};
  Session& admin = Admin(kIssuance);
  ImportSecret(admin, dup, CKK_GENERIC_SECRET, Bytes(32, 1), CKM_SHA256_HMAC);
  EXPECT_EQ(token_->HmacSha256(dup, ToBytes("x")).size(), 32u);
  auto fresh = Token::Open(module(), Config(kIssuance));  // nothing cached yet
  ImportSecret(admin, dup, CKK_GENERIC_SECRET, Bytes(32, 2), CKM_SHA256_HMAC);
  d = ExpectError(ErrorKind::kInternal, [&] { fresh->HmacSha256(dup, ToBytes("x")); });
  EXPECT_NE(d.find("several"), std::string::npos) << d;
}

TEST_F(TokenTest, MechanismRestrictionsAreEnforcedByTheToken) {
  // The HMAC key cannot be used for AES-GCM and the AES key cannot MAC: SoftHSM2 refuses.
  KeyRef hmac = RefFor(keys_, "id-lookup-hmac");
  KeyRef aes = RefFor(keys_, "data-wrapping");
  EXPECT_THROW(token_->AesGcmEncrypt(hmac, Secret::Random(32), {}), Error);
  EXPECT_THROW(token_->HmacSha256(aes, ToBytes("x")), Error);
  EXPECT_EQ(token_->HmacSha256(hmac, ToBytes("x")).size(), 32u);
}

TEST_F(TokenTest, PingChecksLoginAndKeys) {
  std::vector<KeyRef> refs = {RefFor(keys_, "blind-signing"), RefFor(keys_, "audit-signing")};
  EXPECT_NO_THROW(token_->Ping(refs));
  std::vector<KeyRef> missing = {KeyRef{"nope", FromHex("01")}};
  ExpectError(ErrorKind::kUnavailable, [&] { token_->Ping(missing); });
}

TEST_F(TokenTest, RecoversAfterAllSessionsAreClosedUnderThePool) {
  KeyRef rsa = RefFor(keys_, "blind-signing");
  KeyRef hmac = RefFor(keys_, "id-lookup-hmac");
  RsaPublicKey pub = token_->RsaPublic(rsa);
  Bytes mac = token_->HmacSha256(hmac, ToBytes("x"));
  admin_.clear();
  // Closes every session of this application on the slot, which also logs the token out.
  CK_SLOT_ID slot = module()->FindSlotByTokenLabel(kIssuance);
  ASSERT_EQ(module()->fn().C_CloseAllSessions(slot), CKR_OK);
  EXPECT_EQ(token_->recoveries(), 0u);
  EXPECT_EQ(token_->HmacSha256(hmac, ToBytes("x")), mac);
  EXPECT_EQ(token_->recoveries(), 1u);
  Bytes m(pub.n.size(), 0x42);
  EXPECT_EQ(HostRsaPublic(pub, token_->RsaRawPrivate(rsa, m)), m);
  EXPECT_NO_THROW(token_->Ping());
  EXPECT_EQ(token_->recoveries(), 1u);
}

TEST_F(TokenTest, LeaseIsMoveOnlyAndReturnsToThePool) {
  auto t = Token::Open(module(), Config(kIssuance, 2));
  EXPECT_EQ(t->OpenSessionsForTesting(), 1u);
  {
    Token::Lease a = t->Acquire();
    Token::Lease b = t->Acquire();
    EXPECT_EQ(t->OpenSessionsForTesting(), 2u);
    CK_SESSION_HANDLE ha = a.session().handle();
    Token::Lease c = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): a move empties the source
    EXPECT_FALSE(a.session().valid());
    EXPECT_TRUE(c);
    EXPECT_EQ(c.session().handle(), ha);
  }
  EXPECT_EQ(t->OpenSessionsForTesting(), 2u);  // both back in the pool, none closed twice
  Token::Lease again = t->Acquire();
  CK_SESSION_INFO info{};
  EXPECT_EQ(again.session().fn().C_GetSessionInfo(again.session().handle(), &info), CKR_OK);
  EXPECT_EQ(info.state, static_cast<CK_STATE>(CKS_RO_USER_FUNCTIONS));
}

TEST_F(HsmTest, OpenFailsWithWrongPinWithoutLeakingIt) {
  TokenConfig c = Config(kIssuance);
  c.pin = Secret::FromString("wrong-pin-31337");
  std::string d = ExpectError(ErrorKind::kUnavailable, [&] { Token::Open(module(), c); });
  EXPECT_NE(d.find("CKR_PIN_INCORRECT"), std::string::npos) << d;
  EXPECT_EQ(d.find("31337"), std::string::npos) << d;
}

TEST_F(HsmTest, OpenFailsForUnknownOrDuplicateTokenLabel) {
  TokenConfig c = Config("no-such-token");
  ExpectError(ErrorKind::kUnavailable, [&] { Token::Open(module(), c); });
  harness_->InitToken("twin");
  harness_->InitToken("twin");
  module_.reset();  // SoftHSM2 sees tokens created by another process at C_Initialize
  std::string d = ExpectError(ErrorKind::kInternal, [&] { module()->FindSlotByTokenLabel("twin"); });
  EXPECT_NE(d.find("several"), std::string::npos);
  c.pool_size = 0;
  c.token_label = kIssuance;
  ExpectError(ErrorKind::kInvalidInput, [&] { Token::Open(module(), c); });
}

TEST_F(HsmTest, ModuleIsSharedPerPathAndBadPathsFail) {
  auto a = Module::Load(SoftHsmHarness::ModulePath());
  auto b = Module::Load(SoftHsmHarness::ModulePath());
  EXPECT_EQ(a.get(), b.get());
  ExpectError(ErrorKind::kUnavailable, [] { Module::Load("/nonexistent/libpkcs11.so"); });
  ExpectError(ErrorKind::kUnavailable, [] { Module::Load("libc.so.6"); });
}

}  // namespace
}  // namespace realdid::hsm::testing
