// Privacy Pass wire formats (core/privacypass.h): the ten RFC 9578 token type 2 vectors byte for
// byte through every message (TokenChallenge, SPKI and key id, TokenRequest, TokenResponse, Token),
// RFC 9000 varints, the generic batch, the issuer directory, the auth scheme, and a negative test
// for every parser rule.
#include "core/privacypass.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"
#include "tests/support/error_kind.h"
#include "tests/support/vectors.h"

namespace realdid::privacypass {
namespace {

using realdid::testing::KindOf;

Bytes Hex(const json::Value& v, std::string_view key) { return FromHex(v.at(key).as_string()); }

json::Value LoadVectors(const std::filesystem::path& p) {
  return json::Parse(testing::ReadFile(p), json::ParseLimits{1 << 22, 32});
}

void RunVectors(const char* file) {
  REALDID_VECTOR_FILE(path, file);
  const json::Value vectors = LoadVectors(path);
  ASSERT_EQ(vectors.as_array().size(), 5u);
  int index = 0;
  for (const json::Value& v : vectors.as_array()) {
    SCOPED_TRACE(std::string(file) + " #" + std::to_string(index++));
    const Bytes spki = Hex(v, "pkS");
    const blind_rsa::PublicKey pk = blind_rsa::PublicKey::FromSpkiDer(spki);
    // The SPKI we build from (n, e) is the published one, byte for byte.
    EXPECT_EQ(ToHex(PssSpki(pk)), ToHex(spki));
    const Bytes key_id = TokenKeyId(spki);

    const Bytes challenge = Hex(v, "token_challenge");
    const TokenChallenge tc = TokenChallenge::Parse(challenge);
    EXPECT_EQ(tc.token_type, kTokenTypeBlindRsa);
    EXPECT_EQ(ToHex(tc.Serialize()), ToHex(challenge));

    const PendingToken p = BeginTokenWith(pk, spki, challenge, Hex(v, "nonce"), Hex(v, "salt"),
                                          Hex(v, "blind"));
    const Bytes token_request = Hex(v, "token_request");
    EXPECT_EQ(ToHex(p.request.Serialize()), ToHex(token_request));
    const TokenRequest parsed = TokenRequest::Parse(token_request);
    EXPECT_EQ(parsed.truncated_token_key_id, key_id.back());
    EXPECT_EQ(parsed.Serialize(), token_request);
    EXPECT_NO_THROW(CheckTokenRequest(parsed, pk, key_id));

    const blind_rsa::PrivateKeyForTesting sk =
        blind_rsa::PrivateKeyForTesting::FromPem(ToString(Hex(v, "skS")));
    const Bytes token_response = Hex(v, "token_response");
    EXPECT_EQ(ToHex(blind_rsa::BlindSignSoftwareForTesting(sk, parsed.blinded_msg)),
              ToHex(token_response));

    const Token token = FinishToken(pk, p, token_response);
    const Bytes token_bytes = Hex(v, "token");
    EXPECT_EQ(ToHex(token.Serialize()), ToHex(token_bytes));
    const Token reparsed = Token::Parse(token_bytes);
    EXPECT_EQ(reparsed.nonce, Hex(v, "nonce"));
    EXPECT_EQ(reparsed.challenge_digest, hash::Sha256(challenge));
    EXPECT_EQ(reparsed.token_key_id, key_id);
    EXPECT_EQ(reparsed.Serialize(), token_bytes);
    EXPECT_TRUE(VerifyToken(pk, spki, reparsed));
    EXPECT_TRUE(VerifyToken(pk, spki, reparsed, ByteView(challenge)));
    // Another challenge, another key id, one flipped signature bit: refused.
    Bytes other_challenge = challenge;
    other_challenge.back() ^= 1;
    EXPECT_FALSE(VerifyToken(pk, spki, reparsed, ByteView(other_challenge)));
    Token bad = reparsed;
    bad.authenticator[7] ^= 0x10;
    EXPECT_FALSE(VerifyToken(pk, spki, bad));
    bad = reparsed;
    bad.nonce[0] ^= 1;
    EXPECT_FALSE(VerifyToken(pk, spki, bad));
    bad = reparsed;
    bad.token_key_id[0] ^= 1;
    EXPECT_FALSE(VerifyToken(pk, spki, bad));

    // The auth scheme carries the same bytes.
    EXPECT_EQ(TokenFromAuthorization(AuthorizationHeader(token_bytes)), token_bytes);
  }
}

TEST(PrivacyPassVectors, GoByteForByte) { RunVectors("pub_verif_rfc9578.go.json"); }
TEST(PrivacyPassVectors, RustByteForByte) { RunVectors("pub_verif_rfc9578.rust.json"); }

TEST(PrivacyPass, RandomRoundTripAndBatch) {
  const blind_rsa::PrivateKeyForTesting sk = blind_rsa::PrivateKeyForTesting::Generate(2048);
  const blind_rsa::PublicKey& pk = sk.public_key();
  const Bytes spki = PssSpki(pk);
  EXPECT_EQ(blind_rsa::PublicKey::FromSpkiDer(spki).n(), pk.n());
  TokenChallenge tc;
  tc.issuer_name = "issuer.example:8443";
  tc.redemption_context = Bytes(32, 7);
  tc.origin_info = {"a.example", "b.example"};
  const Bytes challenge = tc.Serialize();
  const TokenChallenge back = TokenChallenge::Parse(challenge);
  EXPECT_EQ(back.issuer_name, tc.issuer_name);
  EXPECT_EQ(back.origin_info, tc.origin_info);
  EXPECT_EQ(back.redemption_context, tc.redemption_context);

  std::vector<PendingToken> pending;
  std::vector<TokenRequest> requests;
  for (int i = 0; i < 3; ++i) {
    pending.push_back(BeginToken(pk, spki, challenge));
    requests.push_back(pending.back().request);
  }
  EXPECT_NE(pending[0].token_input, pending[1].token_input);  // fresh nonces
  const Bytes batch = SerializeBatchRequest(requests);
  EXPECT_EQ(batch.size(), 2u + 3u * kTokenRequestSize);  // 777 < 16384: a 2-byte varint
  const std::vector<TokenRequest> parsed = ParseBatchRequest(batch, 10);
  ASSERT_EQ(parsed.size(), 3u);
  std::vector<std::optional<Bytes>> sigs;
  for (const TokenRequest& r : parsed) {
    CheckTokenRequest(r, pk, TokenKeyId(spki));
    sigs.emplace_back(blind_rsa::BlindSignSoftwareForTesting(sk, r.blinded_msg));
  }
  sigs.emplace_back(std::nullopt);
  const Bytes response = SerializeBatchResponse(sigs);
  const std::vector<std::optional<Bytes>> got = ParseBatchResponse(response, 10);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_FALSE(got[3].has_value());
  for (std::size_t i = 0; i < 3; ++i) {
    const Token t = FinishToken(pk, pending[i], *got[i]);
    EXPECT_TRUE(VerifyToken(pk, spki, Token::Parse(t.Serialize()), ByteView(challenge)));
  }
  // Limits and framing.
  EXPECT_EQ(KindOf([&] { ParseBatchRequest(batch, 2); }), ErrorKind::kInvalidInput);
  Bytes longer = batch;
  longer.push_back(0);
  EXPECT_EQ(KindOf([&] { ParseBatchRequest(longer, 10); }), ErrorKind::kInvalidInput);
  Bytes shorter(batch.begin(), batch.end() - 1);
  EXPECT_EQ(KindOf([&] { ParseBatchRequest(shorter, 10); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { ParseBatchRequest(Bytes{0x00}, 10); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { ParseBatchRequest(Bytes{}, 10); }), ErrorKind::kInvalidInput);
  Bytes wrong_type = batch;
  wrong_type[3] = 0x01;  // first request's token type 0x0001
  EXPECT_EQ(KindOf([&] { ParseBatchRequest(wrong_type, 10); }), ErrorKind::kInvalidInput);
  // A batch whose length field counts one request of two.
  Bytes one = SerializeBatchRequest({requests[0]});
  Bytes lying = Concat({ByteView(one).subspan(0, 2), requests[0].Serialize(), requests[1].Serialize()});
  EXPECT_EQ(KindOf([&] { ParseBatchRequest(lying, 10); }), ErrorKind::kInvalidInput);
  // Response: bad presence byte, bad type, truncated.
  Bytes bad_resp = response;
  bad_resp[2] = 0x02;
  EXPECT_EQ(KindOf([&] { ParseBatchResponse(bad_resp, 10); }), ErrorKind::kInvalidInput);
  bad_resp = response;
  bad_resp[4] = 0x01;
  EXPECT_EQ(KindOf([&] { ParseBatchResponse(bad_resp, 10); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { ParseBatchResponse(Bytes(response.begin(), response.end() - 2), 10); }),
            ErrorKind::kInvalidInput);

  // Wrong key id and out-of-range blinded messages are refused by the issuer check.
  TokenRequest r = requests[0];
  r.truncated_token_key_id = static_cast<std::uint8_t>(r.truncated_token_key_id ^ 1);
  EXPECT_EQ(KindOf([&] { CheckTokenRequest(r, pk, TokenKeyId(spki)); }), ErrorKind::kInvalidInput);
  r = requests[0];
  for (const Bytes& m : {Bytes(kNk, 0), Bytes(kNk, 0xff), pk.n()}) {
    r.blinded_msg = m;
    EXPECT_EQ(KindOf([&] { CheckTokenRequest(r, pk, TokenKeyId(spki)); }), ErrorKind::kInvalidInput);
  }
  Bytes one_m(kNk, 0);
  one_m.back() = 1;
  r.blinded_msg = one_m;
  EXPECT_EQ(KindOf([&] { CheckTokenRequest(r, pk, TokenKeyId(spki)); }), ErrorKind::kInvalidInput);
  Bytes n_minus_1 = pk.n();
  n_minus_1.back() = static_cast<std::uint8_t>(n_minus_1.back() - 1);
  r.blinded_msg = n_minus_1;
  EXPECT_EQ(KindOf([&] { CheckTokenRequest(r, pk, TokenKeyId(spki)); }), ErrorKind::kInvalidInput);
  // Response of the wrong size.
  EXPECT_EQ(KindOf([&] { FinishToken(pk, pending[0], Bytes(kNk - 1, 1)); }), ErrorKind::kInvalidInput);
  // A foreign key's signature over the same blinded message does not verify. The blinded message
  // is below pk's modulus but not necessarily below another key's: draw keys until it is (each
  // draw succeeds with probability about 1/2).
  const Bytes& blinded = pending[0].request.blinded_msg;
  std::optional<blind_rsa::PrivateKeyForTesting> other;
  for (int i = 0; i < 64 && !other; ++i) {
    blind_rsa::PrivateKeyForTesting k = blind_rsa::PrivateKeyForTesting::Generate(2048);
    if (std::lexicographical_compare(blinded.begin(), blinded.end(), k.public_key().n().begin(),
                                     k.public_key().n().end())) {
      other.emplace(std::move(k));
    }
  }
  ASSERT_TRUE(other.has_value());
  const Bytes foreign = blind_rsa::BlindSignSoftwareForTesting(*other, blinded);
  EXPECT_THROW(FinishToken(pk, pending[0], foreign), Error);
}

TEST(PrivacyPass, ParsersRefuseMalformedInput) {
  TokenChallenge tc;
  tc.issuer_name = "issuer.example";
  const Bytes good = tc.Serialize();
  EXPECT_EQ(ToHex(good), "0002000e6973737565722e6578616d706c65000000");
  Bytes b = good;
  b[1] = 0x01;  // token type 1
  EXPECT_EQ(KindOf([&] { TokenChallenge::Parse(b); }), ErrorKind::kInvalidInput);
  b = good;
  b.push_back(0);  // trailing
  EXPECT_EQ(KindOf([&] { TokenChallenge::Parse(b); }), ErrorKind::kInvalidInput);
  b = Bytes(good.begin(), good.end() - 1);  // truncated
  EXPECT_EQ(KindOf([&] { TokenChallenge::Parse(b); }), ErrorKind::kInvalidInput);
  b = good;
  b[18] = 5;  // redemption context of 5 bytes
  EXPECT_EQ(KindOf([&] { TokenChallenge::Parse(b); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { TokenChallenge::Parse(FromHex("000200000000")); }),
            ErrorKind::kInvalidInput);  // empty issuer name
  // origin_info with an empty name.
  EXPECT_EQ(KindOf([&] { TokenChallenge::Parse(FromHex("00020001610000022c61")); }),
            ErrorKind::kInvalidInput);
  tc.origin_info = {"a,b"};
  EXPECT_EQ(KindOf([&] { tc.Serialize(); }), ErrorKind::kInvalidInput);

  const Bytes req = Concat({FromHex("0002"), Bytes{0x2a}, Bytes(kNk, 5)});
  EXPECT_NO_THROW(TokenRequest::Parse(req));
  EXPECT_EQ(KindOf([&] { TokenRequest::Parse(Concat({FromHex("0001"), Bytes{0x2a}, Bytes(kNk, 5)})); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { TokenRequest::Parse(Bytes(req.begin(), req.end() - 1)); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { TokenRequest::Parse(Concat({req, Bytes{0}})); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { TokenRequest::Parse(Bytes{0x00}); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { ParseTokenResponse(Bytes(kNk + 1, 0)); }), ErrorKind::kInvalidInput);

  const Bytes token = Concat({FromHex("0002"), Bytes(32, 1), Bytes(32, 2), Bytes(32, 3), Bytes(kNk, 4)});
  EXPECT_EQ(Token::Parse(token).Serialize(), token);
  EXPECT_EQ(KindOf([&] { Token::Parse(Bytes(token.begin(), token.end() - 1)); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { Token::Parse(Concat({token, Bytes{0}})); }), ErrorKind::kInvalidInput);
  Bytes t1 = token;
  t1[1] = 1;
  EXPECT_EQ(KindOf([&] { Token::Parse(t1); }), ErrorKind::kInvalidInput);
}

TEST(PrivacyPass, VarintsAsRfc9000) {
  // RFC 9000 appendix A.1 examples.
  EXPECT_EQ(DecodeVarint(FromHex("c2197c5eff14e88c")).first, 151288809941952652u);
  EXPECT_EQ(DecodeVarint(FromHex("9d7f3e7d")).first, 494878333u);
  EXPECT_EQ(DecodeVarint(FromHex("7bbd")).first, 15293u);
  EXPECT_EQ(DecodeVarint(FromHex("25")).first, 37u);
  EXPECT_EQ(DecodeVarint(FromHex("4025")), (std::pair<std::uint64_t, std::size_t>{37u, 2u}));
  EXPECT_EQ(ToHex(EncodeVarint(151288809941952652u)), "c2197c5eff14e88c");
  EXPECT_EQ(ToHex(EncodeVarint(494878333u)), "9d7f3e7d");
  EXPECT_EQ(ToHex(EncodeVarint(15293u)), "7bbd");
  EXPECT_EQ(ToHex(EncodeVarint(37u)), "25");
  EXPECT_EQ(KindOf([&] { DecodeVarint(FromHex("7b")); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { DecodeVarint(Bytes{}); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { EncodeVarint(std::uint64_t{1} << 62); }), ErrorKind::kInvalidInput);
}

TEST(PrivacyPass, DirectoryAndAuthScheme) {
  const blind_rsa::PrivateKeyForTesting sk = blind_rsa::PrivateKeyForTesting::Generate(2048);
  Directory d;
  d.issuer_request_uri = "https://issuer.example/v1/privacypass/token-request";
  d.keys.push_back({PssSpki(sk.public_key()), 1700000000});
  const std::string doc = DirectoryJson(d);
  EXPECT_NE(doc.find("\"token-type\":2"), std::string::npos);
  EXPECT_NE(doc.find(EncodeB64urlPadded(d.keys[0].spki)), std::string::npos) << doc;
  const Directory back = ParseDirectory(doc);
  EXPECT_EQ(back.issuer_request_uri, d.issuer_request_uri);
  ASSERT_EQ(back.keys.size(), 1u);
  EXPECT_EQ(back.keys[0].spki, d.keys[0].spki);
  EXPECT_EQ(back.keys[0].not_before, 1700000000);
  // Other token types are skipped; unknown members ignored; bad keys refused.
  EXPECT_TRUE(ParseDirectory(R"({"issuer-request-uri":"/r","token-keys":[{"token-type":1,"token-key":"x"}],"x":1})")
                  .keys.empty());
  EXPECT_EQ(KindOf([] { ParseDirectory(R"({"issuer-request-uri":"/r","token-keys":[{"token-type":2,"token-key":"AAAA"}]})"); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([] { ParseDirectory(R"({"token-keys":[]})"); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([] { ParseDirectory(R"({"issuer-request-uri":"/r","token-keys":[],"token-keys":[]})"); }),
            ErrorKind::kInvalidInput);

  const Bytes data = {1, 2, 3, 4};
  EXPECT_EQ(EncodeB64urlPadded(data), "AQIDBA==");
  EXPECT_EQ(DecodeB64urlPadded("AQIDBA=="), data);
  EXPECT_EQ(DecodeB64urlPadded("AQIDBA"), data);
  for (const char* bad : {"AQIDBA=", "AQIDB===", "AQ=DBA==", "AQIDBA==="}) {
    EXPECT_EQ(KindOf([&] { DecodeB64urlPadded(bad); }), ErrorKind::kInvalidInput) << bad;
  }
  EXPECT_EQ(TokenFromAuthorization("PrivateToken token=\"AQIDBA==\""), data);
  EXPECT_EQ(TokenFromAuthorization("privatetoken token=AQIDBA"), data);
  EXPECT_EQ(TokenFromAuthorization(" AQIDBA==\n"), data);
  EXPECT_EQ(KindOf([] { TokenFromAuthorization("PrivateToken tok=AQID"); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([] { TokenFromAuthorization("PrivateToken token=\"AQID"); }), ErrorKind::kInvalidInput);
  EXPECT_EQ(WwwAuthenticate(data, data), "PrivateToken challenge=\"AQIDBA==\", token-key=\"AQIDBA==\"");
}

}  // namespace
}  // namespace realdid::privacypass
