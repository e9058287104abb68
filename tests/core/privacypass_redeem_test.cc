// The websites' redemption helper (privacypass/redeem.h): a token verifies against the directory
// key and the challenge, a second redemption is a double spend (also through a second store object
// on the same file), a token of an unknown key or for another challenge is refused, a corrupt store
// file is an internal error rather than a silent accept.
#include "privacypass/redeem.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/blind_rsa.h"
#include "core/error.h"
#include "tests/support/error_kind.h"

namespace realdid::privacypass {
namespace {

using realdid::testing::KindOf;

struct Issued {
  Directory directory;
  Bytes challenge;
  std::vector<Bytes> tokens;
};

Issued IssueTokens(std::size_t n) {
  static const blind_rsa::PrivateKeyForTesting sk = blind_rsa::PrivateKeyForTesting::Generate(2048);
  Issued out;
  const Bytes spki = PssSpki(sk.public_key());
  out.directory.issuer_request_uri = "https://issuer.example/r";
  out.directory.keys.push_back({spki, 100});
  out.challenge = MakeChallenge("issuer.example", {"rp.example"}, true);
  for (std::size_t i = 0; i < n; ++i) {
    const PendingToken p = BeginToken(sk.public_key(), spki, out.challenge);
    const Bytes sig = blind_rsa::BlindSignSoftwareForTesting(sk, p.request.blinded_msg);
    out.tokens.push_back(FinishToken(sk.public_key(), p, sig).Serialize());
  }
  return out;
}

std::filesystem::path TempFile(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           (std::string("realdid-pp-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove(p);
  return p;
}

TEST(PrivacyPassRedeem, VerifiesOnceThenRefusesTheDoubleSpend) {
  const Issued is = IssueTokens(2);
  const auto path = TempFile("seen");
  SeenNonceStore store(path);
  const Redeemed r = Redeem(is.directory, is.tokens[0], ByteView(is.challenge), &store);
  EXPECT_EQ(r.not_before, 100);
  EXPECT_EQ(KindOf([&] { Redeem(is.directory, is.tokens[0], ByteView(is.challenge), &store); }),
            ErrorKind::kConflict);
  SeenNonceStore other(path);  // another process's view of the same file
  EXPECT_EQ(KindOf([&] { Redeem(is.directory, is.tokens[0], std::nullopt, &other); }),
            ErrorKind::kConflict);
  EXPECT_NO_THROW(Redeem(is.directory, is.tokens[1], ByteView(is.challenge), &other));
  // Without a store the check is verification only (repeatable).
  EXPECT_NO_THROW(Redeem(is.directory, is.tokens[0], ByteView(is.challenge), nullptr));
  std::filesystem::remove(path);
}

TEST(PrivacyPassRedeem, RefusesForeignKeysChallengesAndTampering) {
  const Issued is = IssueTokens(1);
  const Issued foreign = IssueTokens(1);  // same key (static), another challenge
  const Bytes other_challenge = MakeChallenge("issuer.example", {}, true);
  EXPECT_EQ(KindOf([&] { Redeem(is.directory, is.tokens[0], ByteView(other_challenge), nullptr); }),
            ErrorKind::kForbidden);
  Directory empty;
  empty.issuer_request_uri = "x";
  EXPECT_EQ(KindOf([&] { Redeem(empty, is.tokens[0], std::nullopt, nullptr); }),
            ErrorKind::kForbidden);
  Directory other_key = is.directory;
  other_key.keys[0].spki = PssSpki(blind_rsa::PrivateKeyForTesting::Generate(2048).public_key());
  EXPECT_EQ(KindOf([&] { Redeem(other_key, is.tokens[0], std::nullopt, nullptr); }),
            ErrorKind::kForbidden);
  Bytes bad = is.tokens[0];
  bad[40] ^= 1;  // challenge digest
  EXPECT_EQ(KindOf([&] { Redeem(is.directory, bad, std::nullopt, nullptr); }), ErrorKind::kForbidden);
  EXPECT_EQ(KindOf([&] { Redeem(is.directory, Bytes(10, 0), std::nullopt, nullptr); }),
            ErrorKind::kInvalidInput);
  EXPECT_NO_THROW(Redeem(foreign.directory, foreign.tokens[0], ByteView(foreign.challenge), nullptr));
}

TEST(PrivacyPassRedeem, CorruptStoreIsAnError) {
  const Issued is = IssueTokens(1);
  const auto path = TempFile("corrupt");
  std::ofstream(path) << "not a hex line";
  SeenNonceStore store(path);
  EXPECT_EQ(KindOf([&] { Redeem(is.directory, is.tokens[0], std::nullopt, &store); }),
            ErrorKind::kInternal);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace realdid::privacypass
