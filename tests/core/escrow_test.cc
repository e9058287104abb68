// Escrow and trace ciphertexts (BRIEF section 4 step 2): pinned byte layouts, round trips through an
// external ECDH, aad binding to the credential, trace contents, and fixed-length rules.
#include "core/escrow.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jwk.h"
#include "tests/support/error_kind.h"

namespace realdid::escrow {
namespace {

using realdid::testing::KindOf;

class EscrowTest : public ::testing::Test {
 protected:
  EscrowTest()
      : key_(hpke::DeriveKeyPair(Bytes(32, 0x11))),
        escrow_kid_(jwk::Kid(jwk::EcP256FromPoint(key_.public_key.bytes()))),
        issuance_id_(Bytes(16, 0xa5)) {
    fields_.kid = b64url::Encode(hash::Sha256("blind signing key"));
    fields_.iat = 1767225600;  // 2026-01-01T00:00:00Z
    fields_.exp = fields_.iat + 30 * 86400;
    fields_.jti = Bytes(16, 0x01);
    fields_.cnf_thumbprint = hash::Sha256("holder key");
    ecdh_ = [this](const hpke::PublicKey& pk_e) { return hpke::Dh(key_.private_key, pk_e); };
  }

  hpke::Sealed Escrow(const CredentialFields& f, std::uint8_t ikm = 0x21) const {
    return SealEscrow(key_.public_key, escrow_kid_, f, issuance_id_, Bytes(32, ikm));
  }

  hpke::KeyPair key_;
  std::string escrow_kid_;
  Bytes issuance_id_;
  CredentialFields fields_;
  hpke::EcdhFunction ecdh_;
};

TEST_F(EscrowTest, PinnedByteLayouts) {
  ASSERT_EQ(escrow_kid_.size(), 43u);
  EXPECT_EQ(ToString(EscrowInfo(escrow_kid_)), "realdid/v1/escrow" + escrow_kid_);
  EXPECT_EQ(ToString(TraceInfo(escrow_kid_)), "realdid/v1/trace" + escrow_kid_);
  const Bytes preimage =
      Concat({AsBytes(fields_.kid), FromHex("000000006955b900"), FromHex("00000000697d4600"),
              fields_.jti, fields_.cnf_thumbprint});
  ASSERT_EQ(preimage.size(), 107u);
  EXPECT_EQ(EscrowAad(fields_), hash::Sha256(preimage));
  EXPECT_EQ(TraceAad(issuance_id_, fields_.kid), Concat({issuance_id_, AsBytes(fields_.kid)}));

  // The escrow is exactly HPKE with that info/aad/plaintext: recompute it with hpke directly.
  const hpke::Sealed e = Escrow(fields_);
  const hpke::Sealed direct = hpke::Seal(key_.public_key, EscrowInfo(escrow_kid_),
                                         hash::Sha256(preimage), issuance_id_, Bytes(32, 0x21));
  EXPECT_EQ(e.enc, direct.enc);
  EXPECT_EQ(e.ct, direct.ct);
  EXPECT_EQ(e.enc.size(), 65u);
  EXPECT_EQ(e.ct.size(), kEscrowCtLen);
  EXPECT_EQ(EscrowHash(e), hash::Sha256(Concat({e.enc, e.ct})));

  const hpke::Sealed t =
      SealTrace(key_.public_key, escrow_kid_, fields_, issuance_id_, e, Bytes(32, 0x31));
  EXPECT_EQ(t.ct.size(), kTraceCtLen);
  const Secret pt = hpke::Open(t.enc, t.ct, key_.private_key, TraceInfo(escrow_kid_),
                               Concat({issuance_id_, AsBytes(fields_.kid)}));
  EXPECT_EQ(ToHex(pt.reveal()),
            ToHex(Concat({fields_.jti, fields_.cnf_thumbprint, hash::Sha256(Concat({e.enc, e.ct}))})));
}

TEST_F(EscrowTest, RoundTripsAndDeterminism) {
  const hpke::Sealed e = Escrow(fields_);
  const hpke::Sealed again = Escrow(fields_);
  EXPECT_EQ(e.enc, again.enc);  // recomputable from the opened ikmE
  EXPECT_EQ(e.ct, again.ct);
  const Secret id = OpenEscrow(e, key_.public_key, escrow_kid_, fields_, ecdh_);
  EXPECT_TRUE(ConstantTimeEqual(id.reveal(), issuance_id_));

  const hpke::Sealed t =
      SealTrace(key_.public_key, escrow_kid_, fields_, issuance_id_, e, Bytes(32, 0x31));
  const TraceContent tc =
      OpenTrace(t, key_.public_key, escrow_kid_, issuance_id_, fields_.kid, ecdh_);
  EXPECT_EQ(tc.jti, fields_.jti);
  EXPECT_EQ(tc.cnf_thumbprint, fields_.cnf_thumbprint);
  EXPECT_EQ(tc.escrow_hash, EscrowHash(e));
  EXPECT_TRUE(TraceMatches(tc, fields_, e));

  // The trace does not match another credential or another escrow ciphertext.
  CredentialFields other = fields_;
  other.jti[0] ^= 1;
  EXPECT_FALSE(TraceMatches(tc, other, e));
  other = fields_;
  other.cnf_thumbprint[5] ^= 1;
  EXPECT_FALSE(TraceMatches(tc, other, e));
  EXPECT_FALSE(TraceMatches(tc, fields_, Escrow(fields_, 0x22)));
}

TEST_F(EscrowTest, EscrowBoundToItsOwnCredential) {
  const hpke::Sealed e = Escrow(fields_);
  auto fails = [&](const CredentialFields& f) {
    return KindOf([&] { OpenEscrow(e, key_.public_key, escrow_kid_, f, ecdh_); }) ==
           ErrorKind::kCryptoFailure;
  };
  CredentialFields f = fields_;
  f.jti[15] ^= 1;
  EXPECT_TRUE(fails(f));
  f = fields_;
  f.cnf_thumbprint[0] ^= 0x80;
  EXPECT_TRUE(fails(f));
  f = fields_;
  f.iat += 1;
  EXPECT_TRUE(fails(f));
  f = fields_;
  f.exp -= 86400;
  EXPECT_TRUE(fails(f));
  f = fields_;
  f.kid = b64url::Encode(hash::Sha256("another signing key"));
  EXPECT_TRUE(fails(f));
  // Another escrow key id (info) does not open either.
  const std::string other_kid = b64url::Encode(hash::Sha256("another escrow key"));
  EXPECT_EQ(KindOf([&] { OpenEscrow(e, key_.public_key, other_kid, fields_, ecdh_); }),
            ErrorKind::kCryptoFailure);
  // Tampered ciphertext, swapped enc.
  hpke::Sealed t = e;
  t.ct[3] ^= 1;
  EXPECT_EQ(KindOf([&] { OpenEscrow(t, key_.public_key, escrow_kid_, fields_, ecdh_); }),
            ErrorKind::kCryptoFailure);
  t = e;
  t.enc = Escrow(fields_, 0x99).enc;
  EXPECT_EQ(KindOf([&] { OpenEscrow(t, key_.public_key, escrow_kid_, fields_, ecdh_); }),
            ErrorKind::kCryptoFailure);
}

TEST_F(EscrowTest, TraceBoundToIssuanceAndKid) {
  const hpke::Sealed e = Escrow(fields_);
  const hpke::Sealed t =
      SealTrace(key_.public_key, escrow_kid_, fields_, issuance_id_, e, Bytes(32, 0x31));
  Bytes other_id = issuance_id_;
  other_id[0] ^= 1;
  EXPECT_EQ(KindOf([&] {
              OpenTrace(t, key_.public_key, escrow_kid_, other_id, fields_.kid, ecdh_);
            }),
            ErrorKind::kCryptoFailure);
  const std::string other_kid = b64url::Encode(hash::Sha256("another signing key"));
  EXPECT_EQ(KindOf([&] {
              OpenTrace(t, key_.public_key, escrow_kid_, issuance_id_, other_kid, ecdh_);
            }),
            ErrorKind::kCryptoFailure);
  // An escrow ciphertext is not a trace and vice versa (lengths differ, and so do infos).
  EXPECT_EQ(KindOf([&] {
              OpenTrace(e, key_.public_key, escrow_kid_, issuance_id_, fields_.kid, ecdh_);
            }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { OpenEscrow(t, key_.public_key, escrow_kid_, fields_, ecdh_); }),
            ErrorKind::kInvalidInput);
}

TEST_F(EscrowTest, FixedLengthsEnforced) {
  auto invalid = [](const std::function<void()>& f) { return KindOf(f) == ErrorKind::kInvalidInput; };
  CredentialFields f = fields_;
  f.kid.pop_back();
  EXPECT_TRUE(invalid([&] { Escrow(f); }));
  f = fields_;
  f.kid += "A";
  EXPECT_TRUE(invalid([&] { Escrow(f); }));
  f = fields_;
  f.kid[10] = '+';  // not base64url
  EXPECT_TRUE(invalid([&] { Escrow(f); }));
  f = fields_;
  f.kid.back() = 'B';  // non-canonical: unused trailing bits set
  EXPECT_TRUE(invalid([&] { Escrow(f); }));
  f = fields_;
  f.jti.push_back(0);
  EXPECT_TRUE(invalid([&] { Escrow(f); }));
  f = fields_;
  f.jti.pop_back();
  EXPECT_TRUE(invalid([&] { Escrow(f); }));
  f = fields_;
  f.cnf_thumbprint.pop_back();
  EXPECT_TRUE(invalid([&] { Escrow(f); }));
  EXPECT_TRUE(invalid([&] {
    SealEscrow(key_.public_key, escrow_kid_, fields_, Bytes(15, 1), Bytes(32, 1));
  }));
  EXPECT_TRUE(invalid([&] {
    SealEscrow(key_.public_key, escrow_kid_, fields_, issuance_id_, Bytes(31, 1));
  }));
  EXPECT_TRUE(invalid([&] {
    SealEscrow(key_.public_key, escrow_kid_, fields_, issuance_id_, Bytes(33, 1));
  }));
  EXPECT_TRUE(invalid([&] {
    SealEscrow(key_.public_key, escrow_kid_ + "x", fields_, issuance_id_, Bytes(32, 1));
  }));
  const hpke::Sealed e = Escrow(fields_);
  hpke::Sealed bad = e;
  bad.ct.push_back(0);
  EXPECT_TRUE(invalid([&] {
    SealTrace(key_.public_key, escrow_kid_, fields_, issuance_id_, bad, Bytes(32, 1));
  }));
  EXPECT_TRUE(invalid([&] { OpenEscrow(bad, key_.public_key, escrow_kid_, fields_, ecdh_); }));
  bad = e;
  bad.enc.pop_back();
  EXPECT_TRUE(invalid([&] { OpenEscrow(bad, key_.public_key, escrow_kid_, fields_, ecdh_); }));
  bad = e;
  bad.enc[0] = 0x02;
  EXPECT_TRUE(invalid([&] { OpenEscrow(bad, key_.public_key, escrow_kid_, fields_, ecdh_); }));
  EXPECT_TRUE(invalid([&] {
    SealTrace(key_.public_key, escrow_kid_, fields_, Bytes(17, 0), e, Bytes(32, 1));
  }));
}

}  // namespace
}  // namespace realdid::escrow
