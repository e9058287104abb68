// core/credential.h: the pinned canonical form, its sensitivity to every input byte, and the strict
// parser's refusals.
#include "core/credential.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jwk.h"

namespace realdid::credential {
namespace {

// P-256 generator G: a valid public point with fixed coordinates.
const Bytes kGx = FromHex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
const Bytes kGy = FromHex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");

Bytes Seq(std::uint8_t start, std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

// The worked example of docs/protocol.md.
SessionValues ExampleSession() {
  SessionValues s;
  s.iss = "https://realdid.example";
  s.kid = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";  // the RFC 7638 example thumbprint
  s.iat = 1767225600;                                    // 2026-01-01T00:00:00Z
  s.exp = 1767225600 + 30 * 86400;
  s.attested = Attested{true, false, "11", "CN", true};
  s.escrow_kid = "escrow-kid-not-in-the-credential";
  return s;
}

CandidateOpening ExampleOpening() {
  CandidateOpening o;
  o.holder_x = kGx;
  o.holder_y = kGy;
  o.jti = Seq(0x00, 16);
  for (std::size_t i = 0; i < kNumDisclosed; ++i) o.salts[i] = Seq(static_cast<std::uint8_t>(0x10 * (i + 1)), 16);
  o.escrow = Concat({Bytes{0x04}, kGx, kGy, Seq(0xa0, 32)});
  return o;
}

// PINNED: changing any of these bytes changes the protocol (docs/protocol.md).
constexpr std::string_view kExampleHeader = R"({"alg":"PS384","kid":"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs","typ":"dc+sd-jwt"})";
constexpr std::string_view kExamplePayload =
    R"({"iss":"https://realdid.example","vct":"urn:realdid:resident:1","iat":1767225600,"exp":176)"
    R"(9817600,"jti":"AAECAwQFBgcICQoLDA0ODw","cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"axfR8uE)"
    R"(sQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}},)"
    R"("escrow":"BGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWT-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZA)"
    R"(aDe_UfWgoaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2-vw","_sd":["2LHc2UrunYnpkgcyT0z-a0Zp1gfqvn)"
    R"(FmeKRHU86LVrI","IAG5bU1OYIPzEBWrb8OlVhfYqyGqWhVCNGdBswLLBR8","IO9wrnL8ho5F6ilx82-prMYO89hi)"
    R"(Ou-oYIaTG7u1zVk","_Wls9ar45VjU4dPKHFjkscWqyjdeMzXL9kp_mVm4-3k","ap93skUiM70rcRevWjwcCqfaH5)"
    R"(WacNM0Fnceh2eCXZo"],"_sd_alg":"sha-256"})";
const std::vector<std::string> kExampleDisclosures = {
    "WyJFQkVTRXhRVkZoY1lHUm9iSEIwZUh3IiwiYWdlX292ZXJfMTgiLHRydWVd",      // ["EBESExQVFhcYGRobHB0eHw","age_over_18",true]
    "WyJJQ0VpSXlRbEppY29LU29yTEMwdUx3IiwiYWdlX292ZXJfNjAiLGZhbHNlXQ",    // ["ICEiIyQlJicoKSorLC0uLw","age_over_60",false]
    "WyJNREV5TXpRMU5qYzRPVG83UEQwLVB3IiwicHJvdmluY2UiLCIxMSJd",          // ["MDEyMzQ1Njc4OTo7PD0-Pw","province","11"]
    "WyJRRUZDUTBSRlJrZElTVXBMVEUxT1R3IiwibmF0aW9uYWxpdHkiLCJDTiJd",      // ["QEFCQ0RFRkdISUpLTE1OTw","nationality","CN"]
    "WyJVRkZTVTFSVlZsZFlXVnBiWEYxZVh3IiwicmVhbF9uYW1lX3ZlcmlmaWVkIix0cnVlXQ"};  // [...,"real_name_verified",true]
constexpr std::string_view kExampleSigningInputSha256 =
    "3e9285f24a6632b0d2974b4fd9e4264d8fd235d15a5ab706b71fdf1f81f828cc";

TEST(Credential, PinnedWorkedExample) {
  const Built b = Build(ExampleSession(), ExampleOpening());
  EXPECT_EQ(b.header_json, kExampleHeader);
  EXPECT_EQ(b.payload_json, kExamplePayload);
  EXPECT_EQ(b.disclosures, kExampleDisclosures);
  EXPECT_EQ(ToHex(hash::Sha256(b.signing_input)), kExampleSigningInputSha256);
  EXPECT_EQ(b.signing_input, b64url::Encode(b.header_json) + "." + b64url::Encode(b.payload_json));
  EXPECT_EQ(b.Issued(Bytes{1, 2, 3}),
            b.signing_input + ".AQID~" + kExampleDisclosures[0] + "~" + kExampleDisclosures[1] + "~" +
                kExampleDisclosures[2] + "~" + kExampleDisclosures[3] + "~" + kExampleDisclosures[4] + "~");
}

std::string IssuedOf(const SessionValues& s, const CandidateOpening& o) {
  return Build(s, o).Issued(Bytes(384, 0x5a));
}

// Every byte of every random input and every session value reaches the output.
TEST(Credential, EveryInputByteChangesTheOutput) {
  const SessionValues s0 = ExampleSession();
  const CandidateOpening o0 = ExampleOpening();
  const std::string base = IssuedOf(s0, o0);
  const auto differs = [&](const SessionValues& s, const CandidateOpening& o) {
    try {
      return IssuedOf(s, o) != base;
    } catch (const Error&) {
      return true;  // refused (e.g. a point no longer on the curve) also changes the outcome
    }
  };
  for (std::size_t i = 0; i < 16; ++i) {
    CandidateOpening o = o0;
    o.jti[i] ^= 1;
    EXPECT_TRUE(differs(s0, o)) << "jti " << i;
  }
  for (std::size_t k = 0; k < kNumDisclosed; ++k) {
    for (std::size_t i = 0; i < 16; ++i) {
      CandidateOpening o = o0;
      o.salts[k][i] ^= 1;
      EXPECT_TRUE(differs(s0, o)) << "salt " << k << " " << i;
    }
  }
  for (std::size_t i = 0; i < kEscrowSize; ++i) {
    CandidateOpening o = o0;
    o.escrow[i] ^= 1;
    EXPECT_TRUE(differs(s0, o)) << "escrow " << i;
  }
  for (std::size_t i = 0; i < 32; ++i) {
    CandidateOpening o = o0;
    o.holder_x[i] ^= 1;
    EXPECT_TRUE(differs(s0, o)) << "x " << i;
    o = o0;
    o.holder_y[i] ^= 1;
    EXPECT_TRUE(differs(s0, o)) << "y " << i;
  }
  {
    // -G: a different valid point differing only in y.
    CandidateOpening o = o0;
    o.holder_y = FromHex("b01cbd1c01e58065711814b583f061e9d431cca994cea1313449bf97c840ae0a");
    EXPECT_NE(IssuedOf(s0, o), base);
  }
  SessionValues s = s0;
  s.iss += "/";
  EXPECT_TRUE(differs(s, o0));
  s = s0;
  s.kid = b64url::Encode(hash::Sha256("other key"));
  EXPECT_TRUE(differs(s, o0));
  s = s0;
  s.iat += 86400;
  EXPECT_TRUE(differs(s, o0));
  s = s0;
  s.exp += 1;
  EXPECT_TRUE(differs(s, o0));
  s = s0;
  s.attested.age_over_18 = false;
  EXPECT_TRUE(differs(s, o0));
  s = s0;
  s.attested.age_over_18 = s.attested.age_over_60 = true;
  EXPECT_TRUE(differs(s, o0));
  s = s0;
  s.attested.province = "12";
  EXPECT_TRUE(differs(s, o0));
  // The escrow key id does not enter the credential bytes.
  s = s0;
  s.escrow_kid = "other";
  EXPECT_EQ(IssuedOf(s, o0), base);
}

TEST(Credential, BuildRefusesBadValues) {
  const SessionValues s0 = ExampleSession();
  const CandidateOpening o0 = ExampleOpening();
  auto s = s0;
  s.iat += 1;
  EXPECT_THROW(Build(s, o0), Error);
  s = s0;
  s.exp = s.iat;
  EXPECT_THROW(Build(s, o0), Error);
  s = s0;
  s.vct = "urn:other";
  EXPECT_THROW(Build(s, o0), Error);
  s = s0;
  s.kid = "short";
  EXPECT_THROW(Build(s, o0), Error);
  s = s0;
  s.attested.province = "99";
  EXPECT_THROW(Build(s, o0), Error);
  s = s0;
  s.attested.nationality = "US";
  EXPECT_THROW(Build(s, o0), Error);
  s = s0;
  s.attested.real_name_verified = false;
  EXPECT_THROW(Build(s, o0), Error);
  s = s0;
  s.attested.age_over_18 = false;
  s.attested.age_over_60 = true;
  EXPECT_THROW(Build(s, o0), Error);
  auto o = o0;
  o.jti.pop_back();
  EXPECT_THROW(Build(s0, o), Error);
  o = o0;
  o.salts[3].push_back(0);
  EXPECT_THROW(Build(s0, o), Error);
  o = o0;
  o.escrow.pop_back();
  EXPECT_THROW(Build(s0, o), Error);
  o = o0;
  o.escrow[0] = 0x02;
  EXPECT_THROW(Build(s0, o), Error);
  o = o0;
  o.holder_y[5] ^= 1;
  EXPECT_THROW(Build(s0, o), Error);
}

TEST(Credential, ParseStrictRoundTrip) {
  const std::string issued = IssuedOf(ExampleSession(), ExampleOpening());
  const Parsed p = ParseStrict(issued, Form::kIssued);
  EXPECT_TRUE(p.Complete());
  EXPECT_EQ(p.kid, ExampleSession().kid);
  EXPECT_EQ(p.iat, 1767225600);
  EXPECT_EQ(p.jti, ExampleOpening().jti);
  EXPECT_EQ(p.escrow, ExampleOpening().escrow);
  EXPECT_EQ(p.BoolClaim("age_over_18"), true);
  EXPECT_EQ(p.BoolClaim("age_over_60"), false);
  EXPECT_EQ(p.StringClaim("province"), "11");
  const Built again = Build(p.Session(), p.Opening());
  EXPECT_EQ(again.Issued(p.signature), issued);
  EXPECT_EQ(p.signature, Bytes(384, 0x5a));
  // Revocation id = SHA-256(jti || thumbprint(cnf)).
  EXPECT_EQ(RevocationId(p), hash::Sha256(Concat({p.jti, jwk::ThumbprintSha256(jwk::EcP256Public(kGx, kGy))})));
  EXPECT_EQ(ToHex(RevocationId(p)), ToHex(RevocationId(ExampleOpening().jti, p.cnf_jwk)));
}

// Assembles a credential from edited parts (the signature is irrelevant to the parser).
std::string Assemble(std::string_view header, std::string_view payload, const std::vector<std::string>& d) {
  return sdjwt::Join(b64url::Encode(header) + "." + b64url::Encode(payload) + ".WlpaWlpa", d);
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  const std::size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

void ExpectRefused(std::string_view text, Form form, std::string_view why) {
  try {
    ParseStrict(text, form);
    ADD_FAILURE() << "accepted; expected: " << why << " input: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what() << " / expected: " << why;
  }
}

TEST(Credential, ParseStrictRefusals) {
  const std::string H(kExampleHeader);
  const std::string P(kExamplePayload);
  const auto& D = kExampleDisclosures;
  const Form I = Form::kIssued;
  ASSERT_NO_THROW(ParseStrict(Assemble(H, P, D), I));

  // JSON-level: duplicates, escapes, numbers, whitespace, order, unknown/missing members.
  ExpectRefused(Assemble(H, Replace(P, R"({"iss")", R"({"iss":"x","iss")"), D), I, "duplicate");
  ExpectRefused(Assemble(H, Replace(P, R"("iss")", R"("\u0069ss")"), D), I, "not canonical");
  ExpectRefused(Assemble(H, Replace(P, "1767225600", "1.7672256e9"), D), I, "plain integers");
  ExpectRefused(Assemble(H, Replace(P, "1767225600", "1767225600.0"), D), I, "plain integers");
  ExpectRefused(Assemble(H, Replace(P, R"("iat":)", R"("iat": )"), D), I, "not canonical");
  ExpectRefused(Assemble(H + " ", P, D), I, "not canonical");
  ExpectRefused(Assemble(H, Replace(Replace(P, R"("iss":"https://realdid.example","vct":"urn:realdid:resident:1")",
                                            R"("vct":"urn:realdid:resident:1","iss":"https://realdid.example")"),
                                    "", ""),
                         D),
                I, "canonical order");
  ExpectRefused(Assemble(Replace(H, R"("alg":"PS384","kid")", R"("kid")"), P, D), I, "missing member");
  ExpectRefused(Assemble(H, Replace(P, R"(,"_sd_alg")", R"(,"foo":1,"_sd_alg")"), D), I, "unknown member");
  ExpectRefused(Assemble(H, Replace(P, R"("escrow")", R"("nbf":1,"escrow")"), D), I, "unknown member");
  ExpectRefused(Assemble(Replace(H, R"(})", R"(,"jwk":{}})"), P, D), I, "unknown member");
  ExpectRefused(Assemble(H, Replace(P, R"("iat":1767225600,)", ""), D), I, "missing member");
  ExpectRefused(Assemble(H, Replace(P, R"("kty":"EC",)", R"("kty":"EC","kid":"x",)"), D), I, "unknown member");
  // Types and values.
  ExpectRefused(Assemble(H, Replace(P, "1767225600", R"("1767225600")"), D), I, "integers");
  ExpectRefused(Assemble(H, Replace(P, "1767225600", "1767225601"), D), I, "midnight");
  ExpectRefused(Assemble(H, Replace(P, "1769817600", "1767225600"), D), I, "exp must be after");
  ExpectRefused(Assemble(Replace(H, "PS384", "RS384"), P, D), I, "alg must be PS384");
  ExpectRefused(Assemble(Replace(H, "PS384", "none"), P, D), I, "alg must be PS384");
  ExpectRefused(Assemble(Replace(H, "dc+sd-jwt", "vc+sd-jwt"), P, D), I, "typ");
  ExpectRefused(Assemble(H, Replace(P, "resident:1", "resident:2"), D), I, "wrong vct");
  ExpectRefused(Assemble(H, Replace(P, "sha-256", "sha-384"), D), I, "_sd_alg");
  // base64url: padding, standard alphabet, non-canonical trailing bits, wrong length.
  ExpectRefused(Assemble(H, Replace(P, "DA0ODw\"", "DA0ODw==\""), D), I, "base64url");
  ExpectRefused(Assemble(H, Replace(P, "DA0ODw\"", "DA0ODx\""), D), I, "base64url");
  ExpectRefused(Assemble(H, Replace(P, "\"T-NC4v4", "\"T+NC4v4"), D), I, "");
  ExpectRefused(Assemble(H, Replace(P, "AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0O"), D), I, "wrong length");
  ExpectRefused(Assemble(H, P, D) + "=", I, "");
  {
    std::string jws = b64url::Encode(H) + "=." + b64url::Encode(P) + ".WlpaWlpa";
    ExpectRefused(sdjwt::Join(jws, D), I, "base64url");
  }
  // _sd: unsorted, wrong count.
  {
    std::string unsorted = Replace(P, R"(["2LHc2UrunYnpkgcyT0z-a0Zp1gfqvnFmeKRHU86LVrI","IAG5bU1OYIPzEBWrb8OlVhfYqyGqWhVCNGdBswLLBR8")",
                                   R"(["IAG5bU1OYIPzEBWrb8OlVhfYqyGqWhVCNGdBswLLBR8","2LHc2UrunYnpkgcyT0z-a0Zp1gfqvnFmeKRHU86LVrI")");
    ExpectRefused(Assemble(H, unsorted, D), I, "not sorted");
    std::string six = Replace(P, R"(],"_sd_alg")", R"(,"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzw"],"_sd_alg")");
    ExpectRefused(Assemble(H, six, D), I, "exactly 5");
  }
  // Disclosures: missing, extra, repeated, reordered, unknown claim, non-canonical, bad values.
  {
    std::vector<std::string> four(D.begin(), D.end() - 1);
    ExpectRefused(Assemble(H, P, four), I, "exactly 5");
    std::vector<std::string> six = D;
    six.push_back(D[0]);
    ExpectRefused(Assemble(H, P, six), I, "exactly 5");
    std::vector<std::string> swapped = D;
    std::swap(swapped[0], swapped[1]);
    ExpectRefused(Assemble(H, P, swapped), I, "out of order");
    std::vector<std::string> repeated = D;
    repeated[1] = D[0];
    ExpectRefused(Assemble(H, P, repeated), I, "out of order");
    std::vector<std::string> unknown = D;
    unknown[4] = sdjwt::EncodeDisclosure("UFFSU1RVVldYWVpbXF1eXw", "given_name", "x");
    ExpectRefused(Assemble(H, P, unknown), I, "unknown claim");
    std::vector<std::string> spaced = D;
    spaced[4] = b64url::Encode(std::string_view(R"(["UFFSU1RVVldYWVpbXF1eXw", "real_name_verified", true])"));
    ExpectRefused(Assemble(H, P, spaced), I, "not canonical");
    std::vector<std::string> changed = D;
    changed[1] = sdjwt::EncodeDisclosure("ICEiIyQlJicoKSorLC0uLw", "age_over_60", true);
    ExpectRefused(Assemble(H, P, changed), I, "not in _sd");
    std::vector<std::string> badval = D;
    badval[3] = sdjwt::EncodeDisclosure("QEFCQ0RFRkdISUpLTE1OTw", "nationality", "US");
    ExpectRefused(Assemble(H, P, badval), I, "nationality");
    std::vector<std::string> badsalt = D;
    badsalt[3] = sdjwt::EncodeDisclosure("QEFCQ0RFRkdISUpLTE1O", "nationality", "CN");
    ExpectRefused(Assemble(H, P, badsalt), I, "salt");
  }
  // cnf.jwk must be a P-256 point (y changed in its last byte: off the curve), in both forms.
  {
    const std::string off = Replace(P, R"(ZAaDe_UfU")", R"(ZAaDe_UfY")");
    ExpectRefused(Assemble(H, off, D), I, "not a valid P-256 point");
    const std::vector<std::string> two(D.begin(), D.begin() + 2);
    ExpectRefused(Assemble(H, off, two) + "a.b.c", Form::kPresentation, "not a valid P-256 point");
  }
  // Form rules.
  ExpectRefused(Assemble(H, P, D) + "a.b.c", I, "no key binding");
  ExpectRefused(Assemble(H, P, D), Form::kPresentation, "needs a key binding");
}

TEST(Credential, IssueVerifyAndPresent) {
  const jws::PrivateKey issuer = jws::PrivateKey::GenerateRsa(3072);
  const jws::PrivateKey holder = jws::PrivateKey::GenerateEcP256();
  const json::Value hj = holder.Public().Jwk();
  SessionValues s = ExampleSession();
  s.kid = jwk::Kid(issuer.Public().Jwk());
  CandidateOpening o = ExampleOpening();
  o.holder_x = b64url::Decode(hj.at("x").as_string());
  o.holder_y = b64url::Decode(hj.at("y").as_string());
  const Built b = Build(s, o);
  const std::string issued = b.Issued(jws::SignRaw(issuer, jws::Alg::kPS384, b.signing_input));
  const sdjwt::KeyLookup keys = [&](std::string_view kid) -> std::optional<jws::PublicKey> {
    if (kid == s.kid) return issuer.Public();
    return std::nullopt;
  };
  const std::int64_t now = s.iat + 3600;
  const Parsed p = VerifyIssued(issued, keys, now);
  EXPECT_EQ(p.Opening().jti, o.jti);
  EXPECT_THROW(VerifyIssued(issued, keys, s.exp), Error);  // expired

  const std::string pres = sdjwt::Present(issued, {"age_over_18", "province"}, holder, "https://rp.example",
                                          "nonce-1", now);
  sdjwt::VerifyOptions vo;
  vo.issuer_keys = keys;
  vo.now = now;
  vo.audience = "https://rp.example";
  vo.nonce = "nonce-1";
  const VerifiedPresentation v = VerifyPresentation(pres, vo);
  EXPECT_FALSE(v.parsed.Complete());
  EXPECT_EQ(v.parsed.BoolClaim("age_over_18"), true);
  EXPECT_EQ(v.parsed.StringClaim("province"), "11");
  EXPECT_FALSE(v.parsed.BoolClaim("age_over_60"));
  EXPECT_EQ(v.verified.claims.at("province").as_string(), "11");
  EXPECT_THROW(v.parsed.Session(), Error);
  // Disclosures out of the fixed order are refused by the strict parser.
  const sdjwt::Parts parts = sdjwt::Split(pres);
  const std::string prefix = sdjwt::Join(parts.issuer_jwt, {parts.disclosures[1], parts.disclosures[0]});
  const std::string reordered = prefix + sdjwt::MakeKbJwt(holder, prefix, "https://rp.example", "nonce-1", now);
  EXPECT_NO_THROW(sdjwt::Verify(reordered, vo));  // generic RFC 9901 verification accepts it
  EXPECT_THROW(VerifyPresentation(reordered, vo), Error);
  // Wrong nonce.
  vo.nonce = "nonce-2";
  EXPECT_THROW(VerifyPresentation(pres, vo), Error);
}

}  // namespace
}  // namespace realdid::credential
