// core/revocation_list.h: byte layout, strict parsing, signatures, freshness, rollback, deltas,
// holder proofs. Known answers are byte strings written out by hand from docs/protocol.md 10.
#include <gtest/gtest.h>

#include <string>

#include "core/base64url.h"
#include "core/error.h"
#include "core/jwk.h"
#include "core/revocation_list.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace)
using revocation::List;

const std::string kKid(43, 'A');

Bytes Id(std::uint8_t b) { return Bytes(32, b); }

struct Keys {
  jws::PrivateKey key = jws::PrivateKey::EcP256FromScalar(Concat({Bytes(31, 0), Bytes{7}}));
  std::string kid = jwk::Kid(key.Public().Jwk());
};

List Full(std::int64_t version, std::vector<Bytes> ids, std::int64_t issued_at = 1000) {
  List l;
  l.kid = kKid;
  l.version = version;
  l.issued_at = issued_at;
  l.next_update = issued_at + 86400;
  l.ids = std::move(ids);
  return l;
}

TEST(RevocationList, PayloadByteLayout) {
  List l = Full(2, {Id(1), Id(2)});
  std::string id1 = b64url::Encode(Id(1));
  std::string id2 = b64url::Encode(Id(2));
  EXPECT_EQ(revocation::PayloadJson(l),
            "{\"kid\":\"" + kKid + "\",\"version\":2,\"issued_at\":1000,\"next_update\":87400,"
            "\"key_revoked\":false,\"ids\":[\"" + id1 + "\",\"" + id2 + "\"]}");
  l.since = 1;
  EXPECT_EQ(revocation::PayloadJson(l),
            "{\"kid\":\"" + kKid + "\",\"since\":1,\"version\":2,\"issued_at\":1000,"
            "\"next_update\":87400,\"key_revoked\":false,\"ids\":[\"" + id1 + "\",\"" + id2 +
                "\"]}");
  EXPECT_EQ(revocation::HeaderJson(kKid, false),
            "{\"alg\":\"ES256\",\"kid\":\"" + kKid + "\",\"typ\":\"realdid-revocation-list+jwt\"}");
  EXPECT_EQ(revocation::HeaderJson(kKid, true),
            "{\"alg\":\"ES256\",\"kid\":\"" + kKid + "\",\"typ\":\"realdid-revocation-delta+jwt\"}");
}

TEST(RevocationList, RulesRefused) {
  EXPECT_THROW(revocation::PayloadJson(Full(1, {Id(2), Id(1)})), Error);  // unsorted
  EXPECT_THROW(revocation::PayloadJson(Full(1, {Id(1), Id(1)})), Error);  // repeated
  EXPECT_THROW(revocation::PayloadJson(Full(0, {Id(1)})), Error);         // version 0 not empty
  EXPECT_THROW(revocation::PayloadJson(Full(1, {Bytes(31, 1)})), Error);  // short id
  List bad_time = Full(1, {});
  bad_time.next_update = bad_time.issued_at;
  EXPECT_THROW(revocation::PayloadJson(bad_time), Error);
  List bad_kid = Full(1, {});
  bad_kid.kid = "short";
  EXPECT_THROW(revocation::PayloadJson(bad_kid), Error);
  List ahead = Full(1, {});
  ahead.since = 2;
  EXPECT_THROW(revocation::PayloadJson(ahead), Error);
}

TEST(RevocationList, StrictParse) {
  List l = Full(3, {Id(1), Id(9)});
  std::string p = revocation::PayloadJson(l);
  List back = revocation::ParsePayload(p, false);
  EXPECT_EQ(revocation::PayloadJson(back), p);
  EXPECT_THROW(revocation::ParsePayload(p, true), Error);  // no since in a full list
  std::string spaced = p;
  spaced.insert(1, " ");
  EXPECT_THROW(revocation::ParsePayload(spaced, false), Error);
  std::string extra = p.substr(0, p.size() - 1) + ",\"reason\":\"x\"}";
  EXPECT_THROW(revocation::ParsePayload(extra, false), Error);
  std::string reordered =
      "{\"version\":3,\"kid\":\"" + kKid + "\"" + p.substr(p.find(",\"issued_at"));
  EXPECT_THROW(revocation::ParsePayload(reordered, false), Error);
  std::string dup = p.substr(0, p.size() - 1) + ",\"kid\":\"" + kKid + "\"}";
  EXPECT_THROW(revocation::ParsePayload(dup, false), Error);
  EXPECT_THROW(revocation::ParsePayload("[]", false), Error);
  EXPECT_THROW(revocation::ParsePayload("", false), Error);
}

TEST(RevocationList, SignVerifyAndTamper) {
  Keys k;
  List l = Full(2, {Id(1), Id(2)});
  std::string jws = revocation::SignWithKey(l, k.key, k.kid);
  List v = revocation::Verify(jws, k.key.Public(), k.kid, false);
  EXPECT_EQ(v.ids, l.ids);
  EXPECT_EQ(v.version, 2);
  // Tampered signature: flip one character of the signature part.
  std::string bad = jws;
  char& c = bad[bad.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_THROW(revocation::Verify(bad, k.key.Public(), k.kid, false), Error);
  // Tampered payload (a removed id) under the old signature.
  List fewer = Full(2, {Id(1)});
  std::string forged = revocation::SigningInput(fewer, k.kid) + jws.substr(jws.rfind('.'));
  EXPECT_THROW(revocation::Verify(forged, k.key.Public(), k.kid, false), Error);
  // Another key, another kid, delta typ for a full list.
  jws::PrivateKey other = jws::PrivateKey::GenerateEcP256();
  EXPECT_THROW(revocation::Verify(jws, other.Public(), k.kid, false), Error);
  EXPECT_THROW(revocation::Verify(jws, k.key.Public(), kKid, false), Error);
  EXPECT_THROW(revocation::Verify(jws, k.key.Public(), k.kid, true), Error);
}

TEST(RevocationList, StaleAndRolledBackRefused) {
  List l = Full(5, {Id(1)}, 1000);
  EXPECT_NO_THROW(revocation::CheckFresh(l, 1000));
  EXPECT_NO_THROW(revocation::CheckFresh(l, l.next_update));
  EXPECT_THROW(revocation::CheckFresh(l, l.next_update + 1), Error);
  EXPECT_THROW(revocation::CheckFresh(l, 1000 - 301), Error);
  List older = Full(4, {Id(1)}, 2000);
  EXPECT_THROW(revocation::CheckNotRolledBack(l, older), Error);  // lower version
  List earlier = Full(5, {Id(1)}, 999);
  EXPECT_THROW(revocation::CheckNotRolledBack(l, earlier), Error);  // older issued_at
  List same = Full(5, {Id(1)}, 1000);
  EXPECT_NO_THROW(revocation::CheckNotRolledBack(l, same));
  List unrevoke = Full(6, {Id(1)}, 1000);
  List revoked_key = Full(5, {Id(1)}, 1000);
  revoked_key.key_revoked = true;
  EXPECT_THROW(revocation::CheckNotRolledBack(revoked_key, unrevoke), Error);
}

TEST(RevocationList, DeltaEqualsFullByteForByte) {
  Keys k;
  List v2 = Full(2, {Id(3), Id(7)}, 1000);
  List v5 = Full(5, {Id(1), Id(3), Id(5), Id(7), Id(9)}, 5000);
  v5.key_revoked = true;
  List delta = v5;
  delta.since = 2;
  delta.ids = {Id(1), Id(5), Id(9)};
  // Through signatures, as a relying party sees them.
  List cached = revocation::Verify(revocation::SignWithKey(v2, k.key, k.kid), k.key.Public(),
                                   k.kid, false);
  List d = revocation::Verify(revocation::SignWithKey(delta, k.key, k.kid), k.key.Public(), k.kid,
                              true);
  List merged = revocation::ApplyDelta(cached, d);
  EXPECT_EQ(revocation::PayloadJson(merged), revocation::PayloadJson(v5));
  EXPECT_EQ(revocation::SigningInput(merged, k.kid), revocation::SigningInput(v5, k.kid));
  EXPECT_TRUE(merged.Revokes(Id(200)));  // key revoked: everything

  // Wrong base version, repeated id, rollback, kid mismatch.
  List wrong_base = delta;
  wrong_base.since = 1;
  EXPECT_THROW(revocation::ApplyDelta(cached, wrong_base), Error);
  List repeat = delta;
  repeat.ids = {Id(1), Id(3)};
  EXPECT_THROW(revocation::ApplyDelta(cached, repeat), Error);
  List back = delta;
  back.issued_at = 900;
  back.next_update = 2000;
  EXPECT_THROW(revocation::ApplyDelta(cached, back), Error);
  List other = delta;
  other.kid = std::string(43, 'B');
  EXPECT_THROW(revocation::ApplyDelta(cached, other), Error);
}

TEST(RevocationList, RevokesBinarySearch) {
  List l = Full(1, {Id(1), Id(4), Id(200)});
  EXPECT_TRUE(l.Revokes(Id(4)));
  EXPECT_TRUE(l.Revokes(Id(200)));
  EXPECT_FALSE(l.Revokes(Id(5)));
  EXPECT_FALSE(l.Revokes(Id(0)));
}

TEST(HolderProof, RoundTripAndRefusals) {
  jws::PrivateKey holder = jws::PrivateKey::GenerateEcP256();
  revocation::HolderProof p{"https://authority.example", Bytes(16, 3), 1234, Id(8)};
  EXPECT_EQ(revocation::ProofPayloadJson(p),
            "{\"aud\":\"https://authority.example\",\"nonce\":\"" + b64url::Encode(Bytes(16, 3)) +
                "\",\"iat\":1234,\"rid\":\"" + b64url::Encode(Id(8)) + "\"}");
  std::string proof = revocation::MakeHolderProof(holder, p);
  revocation::HolderProof back = revocation::VerifyHolderProof(proof, holder.Public());
  EXPECT_EQ(back.aud, p.aud);
  EXPECT_EQ(back.rid, p.rid);
  jws::PrivateKey wrong = jws::PrivateKey::GenerateEcP256();
  EXPECT_THROW(revocation::VerifyHolderProof(proof, wrong.Public()), Error);
  EXPECT_THROW(revocation::ParseHolderProof(proof + "x"), Error);
  // A kb+jwt typed token is not a revocation proof.
  std::string kb_header = b64url::Encode(std::string("{\"alg\":\"ES256\",\"typ\":\"kb+jwt\"}"));
  std::string swapped = kb_header + proof.substr(proof.find('.'));
  EXPECT_THROW(revocation::ParseHolderProof(swapped), Error);

  revocation::HolderRequest req{"cred~", proof};
  revocation::HolderRequest rb = revocation::ParseHolderRequest(revocation::HolderRequestJson(req));
  EXPECT_EQ(rb.credential, "cred~");
  EXPECT_THROW(revocation::ParseHolderRequest("{\"credential\":\"a\"}"), Error);
  EXPECT_THROW(revocation::ParseHolderRequest("{\"credential\":\"a\",\"proof\":\"b\",\"x\":1}"),
               Error);
  EXPECT_THROW(revocation::ParseHolderRequest("{\"credential\":1,\"proof\":\"b\"}"), Error);
}

}  // namespace
