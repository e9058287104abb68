// core/sdjwt.h: RFC 9901 disclosures, presentations with key binding, and verification refusals.
#include "core/sdjwt.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/base64url.h"
#include "core/error.h"

namespace realdid::sdjwt {
namespace {

constexpr std::int64_t kNow = 1767300000;

const jws::PrivateKey& IssuerKey() {
  static const jws::PrivateKey k = jws::PrivateKey::GenerateRsa(2048);
  return k;
}
const jws::PrivateKey& HolderKey() {
  static const jws::PrivateKey k = jws::PrivateKey::GenerateEcP256();
  return k;
}

KeyLookup Keys() {
  return [](std::string_view kid) -> std::optional<jws::PublicKey> {
    if (kid == "issuer-1") return IssuerKey().Public();
    return std::nullopt;
  };
}

VerifyOptions Options() {
  VerifyOptions o;
  o.issuer_keys = Keys();
  o.now = kNow;
  o.audience = "https://rp.example";
  o.nonce = "n-123";
  return o;
}

struct Issued {
  std::string serialization;
  std::vector<std::string> disclosures;
};

// Issues an SD-JWT with the given plain claims and selectively disclosable ones.
Issued Issue(json::Object plain, const std::vector<std::pair<std::string, json::Value>>& sd_claims,
             json::Object header = {{"alg", "PS384"}, {"kid", "issuer-1"}, {"typ", "dc+sd-jwt"}},
             std::vector<std::string> extra_digests = {}) {
  Issued out;
  std::vector<std::string> digests = std::move(extra_digests);
  int i = 0;
  for (const auto& [name, value] : sd_claims) {
    out.disclosures.push_back(EncodeDisclosure("salt" + std::to_string(i++), name, value));
    digests.push_back(Digest(out.disclosures.back()));
  }
  std::sort(digests.begin(), digests.end());
  json::Array sd(digests.begin(), digests.end());
  json::Value payload(std::move(plain));
  payload.set("cnf", json::Object{{"jwk", HolderKey().Public().Jwk()}});
  payload.set("_sd", std::move(sd));
  payload.set("_sd_alg", "sha-256");
  const std::string jwt =
      jws::Sign(IssuerKey(), jws::Alg::kPS384, json::Value(std::move(header)), AsBytes(json::Serialize(payload)));
  out.serialization = Join(jwt, out.disclosures);
  return out;
}

Issued Standard() {
  return Issue(json::Object{{"iss", "https://issuer.example"}, {"exp", kNow + 1000}},
               {{"age_over_18", true}, {"province", "11"}, {"nationality", "CN"}});
}

std::string PresentAll(const Issued& is, const std::vector<std::string>& names) {
  return Present(is.serialization, names, HolderKey(), "https://rp.example", "n-123", kNow);
}

void ExpectRefused(std::string_view presentation, const VerifyOptions& o, std::string_view why) {
  try {
    Verify(presentation, o);
    ADD_FAILURE() << "accepted; expected: " << why;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what() << " / expected: " << why;
  }
}

TEST(SdJwt, Rfc9901DisclosureDigest) {
  // RFC 9901 section 4.2.3 example: a disclosure with whitespace and raw UTF-8 (not canonical).
  constexpr std::string_view kDisc = "WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
  EXPECT_EQ(Digest(kDisc), "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY");
  const Disclosure d = DecodeDisclosure(kDisc, false);
  EXPECT_EQ(d.salt, "6qMQvRL5haj");
  EXPECT_EQ(*d.name, "family_name");
  EXPECT_EQ(d.value.as_string(), "M\xc3\xb6" "bius");
  EXPECT_EQ(d.digest, "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY");
  EXPECT_THROW(DecodeDisclosure(kDisc, true), Error);
  // Our encoding of the same triple is canonical: no spaces, \u-escaped.
  const std::string mine = EncodeDisclosure("6qMQvRL5haj", "family_name", "M\xc3\xb6" "bius");
  EXPECT_EQ(ToString(b64url::Decode(mine)), R"(["6qMQvRL5haj","family_name","M\u00f6bius"])");
  EXPECT_NO_THROW(DecodeDisclosure(mine, true));
}

TEST(SdJwt, DisclosureShapeRefusals) {
  const auto enc = [](std::string_view j) { return b64url::Encode(j); };
  EXPECT_THROW(DecodeDisclosure(enc(R"({"a":1})"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"(["s"])"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"(["s","n",1,2])"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"([1,"n",1])"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"(["s","_sd",1])"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"(["s","...",1])"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"(["s","n",1,"n"])"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"(["s","n",1e9])"), false), Error);
  EXPECT_THROW(DecodeDisclosure(enc(R"(["s","n",1])") + "=", false), Error);
  EXPECT_NO_THROW(DecodeDisclosure(enc(R"(["s",1])"), false));  // array element
}

TEST(SdJwt, SplitAndJoin) {
  Parts p = Split("a.b.c~d1~d2~kb");
  EXPECT_EQ(p.issuer_jwt, "a.b.c");
  EXPECT_EQ(p.disclosures, (std::vector<std::string>{"d1", "d2"}));
  EXPECT_EQ(*p.kb_jwt, "kb");
  EXPECT_EQ(p.prefix, "a.b.c~d1~d2~");
  p = Split("a.b.c~");
  EXPECT_TRUE(p.disclosures.empty());
  EXPECT_FALSE(p.kb_jwt);
  EXPECT_EQ(Join("a.b.c", {"x", "y"}), "a.b.c~x~y~");
  EXPECT_THROW(Split("a.b.c"), Error);
  EXPECT_THROW(Split("a.b.c~~"), Error);
  EXPECT_THROW(Split("~d~"), Error);
}

TEST(SdJwt, PresentAndVerifySubset) {
  const Issued is = Standard();
  const std::string pres = PresentAll(is, {"age_over_18", "nationality"});
  const Verified v = Verify(pres, Options());
  EXPECT_EQ(v.kid, "issuer-1");
  EXPECT_TRUE(v.claims.at("age_over_18").as_bool());
  EXPECT_EQ(v.claims.at("nationality").as_string(), "CN");
  EXPECT_EQ(v.claims.find("province"), nullptr);
  EXPECT_EQ(v.claims.find("_sd"), nullptr);
  EXPECT_EQ(v.claims.find("_sd_alg"), nullptr);
  EXPECT_EQ(v.disclosures.size(), 2u);
  ASSERT_TRUE(v.kb_claims);
  EXPECT_EQ(v.kb_claims->at("sd_hash").as_string(), SdHash(Split(pres).prefix));
  // No disclosures at all.
  EXPECT_NO_THROW(Verify(PresentAll(is, {}), Options()));
  // Issued form without key binding.
  VerifyOptions o = Options();
  o.require_key_binding = false;
  EXPECT_NO_THROW(Verify(is.serialization, o));
  ExpectRefused(pres, o, "unexpected key binding");
}

TEST(SdJwt, RefusesBadDisclosures) {
  const Issued is = Standard();
  const std::string jwt = Split(is.serialization).issuer_jwt;
  const auto kb = [&](const std::vector<std::string>& ds) {
    const std::string prefix = Join(jwt, ds);
    return prefix + MakeKbJwt(HolderKey(), prefix, "https://rp.example", "n-123", kNow);
  };
  const std::string foreign = EncodeDisclosure("zz", "age_over_18", false);
  ExpectRefused(kb({foreign}), Options(), "not referenced");
  ExpectRefused(kb({is.disclosures[0], is.disclosures[0]}), Options(), "duplicate disclosure");
  // A disclosure naming a claim that is already plain.
  const Issued clash = Issue(json::Object{{"iss", "x"}, {"exp", kNow + 10}, {"nationality", "CN"}},
                             {{"nationality", "US"}});
  ExpectRefused(Present(clash.serialization, {"nationality"}, HolderKey(), "https://rp.example", "n-123",
                        kNow),
                Options(), "clashes");
  // A digest listed twice in _sd.
  const std::string d = EncodeDisclosure("s", "a", 1);
  const Issued twice = Issue(json::Object{{"exp", kNow + 10}}, {{"a", 1}}, {{"alg", "PS384"}, {"kid", "issuer-1"},
                             {"typ", "dc+sd-jwt"}}, {Digest(EncodeDisclosure("salt0", "a", 1))});
  ExpectRefused(PresentAll(twice, {"a"}), Options(), "more than once");
}

TEST(SdJwt, RefusesIssuerProblems) {
  const Issued is = Standard();
  VerifyOptions o = Options();
  o.issuer_keys = [](std::string_view) -> std::optional<jws::PublicKey> { return std::nullopt; };
  ExpectRefused(PresentAll(is, {}), o, "unknown issuer key");
  o = Options();
  o.now = kNow + 1000;
  ExpectRefused(PresentAll(is, {}), o, "expired");
  const Issued with_jwk = Issue(json::Object{{"exp", kNow + 10}}, {},
                                {{"alg", "PS384"}, {"kid", "issuer-1"}, {"typ", "dc+sd-jwt"},
                                 {"jwk", IssuerKey().Public().Jwk()}});
  ExpectRefused(PresentAll(with_jwk, {}), Options(), "jwk is refused");
  const Issued typ = Issue(json::Object{{"exp", kNow + 10}}, {}, {{"alg", "PS384"}, {"kid", "issuer-1"},
                                                                 {"typ", "JWT"}});
  ExpectRefused(PresentAll(typ, {}), Options(), "unexpected typ");
  // Tampered payload.
  Parts p = Split(is.serialization);
  std::string jwt = p.issuer_jwt;
  const std::size_t d1 = jwt.find('.');
  jwt[d1 + 5] = jwt[d1 + 5] == 'A' ? 'B' : 'A';
  const std::string prefix = Join(jwt, {});
  ExpectRefused(prefix + MakeKbJwt(HolderKey(), prefix, "https://rp.example", "n-123", kNow), Options(), "");
}

TEST(SdJwt, RefusesKeyBindingProblems) {
  const Issued is = Standard();
  const std::string prefix = Join(Split(is.serialization).issuer_jwt, {is.disclosures[1]});
  const auto with = [&](const jws::PrivateKey& k, std::string_view aud, std::string_view nonce,
                        std::int64_t iat) { return prefix + MakeKbJwt(k, prefix, aud, nonce, iat); };
  EXPECT_NO_THROW(Verify(with(HolderKey(), "https://rp.example", "n-123", kNow), Options()));
  ExpectRefused(prefix, Options(), "missing key binding");
  ExpectRefused(with(HolderKey(), "https://evil.example", "n-123", kNow), Options(), "aud mismatch");
  ExpectRefused(with(HolderKey(), "https://rp.example", "n-124", kNow), Options(), "nonce mismatch");
  ExpectRefused(with(HolderKey(), "https://rp.example", "n-123", kNow - 301), Options(), "freshness");
  ExpectRefused(with(HolderKey(), "https://rp.example", "n-123", kNow + 61), Options(), "freshness");
  EXPECT_NO_THROW(Verify(with(HolderKey(), "https://rp.example", "n-123", kNow - 300), Options()));
  ExpectRefused(with(jws::PrivateKey::GenerateEcP256(), "https://rp.example", "n-123", kNow), Options(),
                "invalid signature");
  // sd_hash binds the disclosure list: drop the disclosure after signing.
  const std::string full = with(HolderKey(), "https://rp.example", "n-123", kNow);
  const std::string kbjwt = Split(full).kb_jwt.value();
  ExpectRefused(Join(Split(is.serialization).issuer_jwt, {}) + kbjwt, Options(), "sd_hash mismatch");
  // Wrong KB typ.
  const json::Value claims = json::Object{{"iat", kNow}, {"aud", "https://rp.example"}, {"nonce", "n-123"},
                                          {"sd_hash", SdHash(prefix)}};
  const std::string wrong_typ = jws::Sign(HolderKey(), jws::Alg::kES256,
                                          json::Object{{"alg", "ES256"}, {"typ", "JWT"}},
                                          AsBytes(json::Serialize(claims)));
  ExpectRefused(prefix + wrong_typ, Options(), "unexpected typ");
}

}  // namespace
}  // namespace realdid::sdjwt
