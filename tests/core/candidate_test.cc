// candidate::Derive: a known-answer test against a real issuance's HTTP exchanges
// (docs/examples/issuance-transcript.jsonl: all 31 opened candidates rebuild their committed
// blinded message and trace byte for byte, and the kept candidate's blind signature checks against its
// committed B), then determinism, every input changing the output, and refusal of malformed inputs.
#include "core/candidate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/error.h"
#include "core/jwk.h"
#include "core/json.h"
#include "tests/support/error_kind.h"

namespace realdid::candidate {
namespace {

using realdid::testing::KindOf;

// One opening's values, owned (candidate::Opening only views them).
struct OwnedOpening {
  Bytes holder_x, holder_y, jti;
  std::array<Bytes, credential::kNumDisclosed> salts;
  Bytes pss_salt, r, escrow_ikm, trace_ikm;

  Opening View() const {
    Opening o{.holder_x = holder_x, .holder_y = holder_y, .jti = jti, .salts = {},
              .pss_salt = pss_salt, .r = r, .escrow_ikm = escrow_ikm, .trace_ikm = trace_ikm};
    for (std::size_t i = 0; i < salts.size(); ++i) o.salts[i] = salts[i];
    return o;
  }
  // Every byte string of the opening, for "change one byte of each" loops.
  std::vector<std::pair<std::string, Bytes*>> Fields() {
    std::vector<std::pair<std::string, Bytes*>> f = {
        {"holder_x", &holder_x}, {"holder_y", &holder_y}, {"jti", &jti},
        {"pss_salt", &pss_salt}, {"r", &r}, {"escrow_ikm", &escrow_ikm},
        {"trace_ikm", &trace_ikm}};
    for (std::size_t i = 0; i < salts.size(); ++i) {
      f.emplace_back("salts[" + std::to_string(i) + "]", &salts[i]);
    }
    return f;
  }
};

struct Committed {
  Bytes blinded_msg;
  Bytes trace;
};

struct Transcript {
  json::Value jwks;
  json::Value offer;
  std::vector<Committed> commit;
  std::size_t challenge = 0;
  std::vector<std::pair<std::size_t, OwnedOpening>> openings;  // (index, opening)
  Bytes blind_signature;
};

json::Value Field(const json::Value& exchange, const char* member) {
  return json::Parse(exchange.at(member).as_string());
}
Bytes B64(const json::Value& v, std::string_view key) {
  return b64url::Decode(v.at(key).as_string());
}

const Transcript& LoadTranscript() {
  static const Transcript transcript = [] {
    const char* src = std::getenv("REALDID_SOURCE_DIR");
    if (src == nullptr) throw std::runtime_error("REALDID_SOURCE_DIR is not set");
    const std::filesystem::path path =
        std::filesystem::path(src) / "docs" / "examples" / "issuance-transcript.jsonl";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::vector<json::Value> lines;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(json::Parse(line));
    }
    if (lines.size() != 5) throw std::runtime_error("transcript must hold 5 exchanges");
    Transcript t;
    if (lines[0].at("path").as_string() != "/.well-known/jwks.json" ||
        lines[2].at("path").as_string() != "/v1/issuance/sessions" ||
        lines[3].at("path").as_string().ends_with("/commit") == false ||
        lines[4].at("path").as_string().ends_with("/reveal") == false) {
      throw std::runtime_error("transcript exchanges are not jwks, nonce, session, commit, reveal");
    }
    t.jwks = Field(lines[0], "response");
    t.offer = Field(lines[2], "response");
    const json::Value commit = Field(lines[3], "request");
    for (const json::Value& c : commit.at("candidates").as_array()) {
      t.commit.push_back({B64(c, "blinded_msg"), B64(c, "trace")});
    }
    t.challenge = static_cast<std::size_t>(Field(lines[3], "response").at("challenge").as_int());
    const json::Value reveal = Field(lines[4], "request");
    for (const json::Value& o : reveal.at("openings").as_array()) {
      OwnedOpening op;
      op.holder_x = B64(o.at("holder_jwk"), "x");
      op.holder_y = B64(o.at("holder_jwk"), "y");
      op.jti = B64(o, "jti");
      const json::Array& salts = o.at("salts").as_array();
      if (salts.size() != credential::kNumDisclosed) throw std::runtime_error("salts");
      for (std::size_t i = 0; i < salts.size(); ++i) {
        op.salts[i] = b64url::Decode(salts[i].as_string());
      }
      op.pss_salt = B64(o, "pss_salt");
      op.r = B64(o, "r");
      op.escrow_ikm = B64(o, "escrow_ikm");
      op.trace_ikm = B64(o, "trace_ikm");
      t.openings.emplace_back(static_cast<std::size_t>(o.at("index").as_int()), std::move(op));
    }
    t.blind_signature = B64(Field(lines[4], "response"), "blind_signature");
    return t;
  }();
  return transcript;
}

Context TranscriptContext() {
  const Transcript& t = LoadTranscript();
  const json::Value& key = t.jwks.at("keys").as_array().at(0);
  const json::Value& esc = t.jwks.at("escrow");
  const json::Value& o = t.offer;
  credential::SessionValues v;
  v.iss = o.at("iss").as_string();
  v.vct = o.at("vct").as_string();
  v.kid = o.at("kid").as_string();
  v.iat = o.at("iat").as_int();
  v.exp = o.at("exp").as_int();
  const json::Value& a = o.at("attested");
  v.attested.age_over_18 = a.at("age_over_18").as_bool();
  v.attested.age_over_60 = a.at("age_over_60").as_bool();
  v.attested.province = a.at("province").as_string();
  v.attested.nationality = a.at("nationality").as_string();
  v.attested.real_name_verified = a.at("real_name_verified").as_bool();
  v.escrow_kid = o.at("escrow_kid").as_string();
  return Context{v, B64(o, "issuance_id"),
                 hpke::DeserializePublicKey(Concat({Bytes{0x04}, B64(esc, "x"), B64(esc, "y")})),
                 blind_rsa::PublicKey::FromComponents(B64(key, "n"), B64(key, "e"))};
}

bool Matches(const Candidate& c, const Committed& committed) {
  return c.blinding.blinded_msg == committed.blinded_msg && c.TraceBytes() == committed.trace;
}

TEST(CandidateKnownAnswer, TranscriptIsConsistent) {
  const Transcript& t = LoadTranscript();
  const Context ctx = TranscriptContext();
  const json::Value& key = t.jwks.at("keys").as_array().at(0);
  // The session's key ids are the published keys' RFC 7638 thumbprints.
  EXPECT_EQ(jwk::Kid(jwk::RsaPublic(ctx.signing_key.n(), ctx.signing_key.e())), ctx.session.kid);
  EXPECT_EQ(key.at("kid").as_string(), ctx.session.kid);
  EXPECT_EQ(jwk::Kid(jwk::EcP256FromPoint(ctx.escrow_public_key.bytes())), ctx.session.escrow_kid);
  EXPECT_EQ(ctx.signing_key.modulus_bits(), 3072u);
  ASSERT_EQ(t.commit.size(), 32u);
  ASSERT_EQ(t.openings.size(), 31u);
  EXPECT_EQ(t.challenge, 11u);
  for (const Committed& c : t.commit) {
    EXPECT_EQ(c.blinded_msg.size(), ctx.signing_key.modulus_len());
    EXPECT_EQ(c.trace.size(), kTraceSize);
  }
}

TEST(CandidateKnownAnswer, AllOpenedCandidatesRebuildTheCommitByteForByte) {
  const Transcript& t = LoadTranscript();
  const Context ctx = TranscriptContext();
  std::set<std::size_t> opened;
  for (const auto& [index, opening] : t.openings) {
    SCOPED_TRACE("candidate " + std::to_string(index));
    ASSERT_LT(index, t.commit.size());
    ASSERT_NE(index, t.challenge);
    opened.insert(index);
    const Candidate c = Derive(ctx, opening.View());
    EXPECT_EQ(ToHex(c.blinding.blinded_msg), ToHex(t.commit[index].blinded_msg));
    EXPECT_EQ(ToHex(c.TraceBytes()), ToHex(t.commit[index].trace));
    // The parts are consistent with the credential bytes.
    EXPECT_EQ(c.cnf_thumbprint,
              jwk::ThumbprintSha256(jwk::EcP256Public(opening.holder_x, opening.holder_y)));
    EXPECT_NE(c.credential.payload_json.find(b64url::Encode(Concat({c.escrow.enc, c.escrow.ct}))),
              std::string::npos);
    EXPECT_EQ(c.blinding.r.reveal().size(), opening.r.size());
    EXPECT_TRUE(std::equal(opening.r.begin(), opening.r.end(), c.blinding.r.reveal().begin()));
  }
  EXPECT_EQ(opened.size(), 31u);
  EXPECT_EQ(opened.count(t.challenge), 0u);
  // The kept candidate j was never opened, yet the authority's blind signature is over its B.
  EXPECT_NO_THROW(blind_rsa::CheckBlindSignature(ctx.signing_key, t.commit[t.challenge].blinded_msg,
                                                 t.blind_signature));
}

// Rebuild (the authority's check) gives Derive's bytes without r^-1, and the product check of the
// committed blinded messages accepts the real commit and refuses a value sharing a factor with n.
TEST(CandidateKnownAnswer, RebuildEqualsDeriveAndCoprimalityIsCheckedOnTheProduct) {
  const Transcript& t = LoadTranscript();
  const Context ctx = TranscriptContext();
  std::vector<ByteView> opened_b;
  for (const auto& [index, opening] : t.openings) {
    SCOPED_TRACE("candidate " + std::to_string(index));
    const Candidate d = Derive(ctx, opening.View());
    const Candidate r = Rebuild(ctx, opening.View());
    EXPECT_EQ(ToHex(r.blinding.blinded_msg), ToHex(d.blinding.blinded_msg));
    EXPECT_EQ(ToHex(r.blinding.blinded_msg), ToHex(t.commit[index].blinded_msg));
    EXPECT_EQ(ToHex(r.TraceBytes()), ToHex(d.TraceBytes()));
    EXPECT_EQ(r.credential.signing_input, d.credential.signing_input);
    EXPECT_EQ(r.cnf_thumbprint, d.cnf_thumbprint);
    EXPECT_TRUE(r.blinding.inv.empty());
    EXPECT_FALSE(d.blinding.inv.empty());
    opened_b.push_back(t.commit[index].blinded_msg);
  }
  EXPECT_TRUE(blind_rsa::AllCoprimeWithModulus(ctx.signing_key, opened_b));
  const Bytes zero(ctx.signing_key.modulus_len(), 0);  // gcd(0, n) = n
  opened_b.push_back(zero);
  EXPECT_FALSE(blind_rsa::AllCoprimeWithModulus(ctx.signing_key, opened_b));
  opened_b.back() = ctx.signing_key.n();  // not below n: refused as input
  EXPECT_EQ(KindOf([&] { (void)blind_rsa::AllCoprimeWithModulus(ctx.signing_key, opened_b); }),
            ErrorKind::kInvalidInput);
}

TEST(CandidateKnownAnswer, OneChangedByteOfAnyOpeningBreaksTheMatch) {
  const Transcript& t = LoadTranscript();
  const Context ctx = TranscriptContext();
  const auto& [index, original] = t.openings.at(3);
  ASSERT_TRUE(Matches(Derive(ctx, original.View()), t.commit[index]));
  OwnedOpening copy = original;
  for (auto& [name, field] : copy.Fields()) {
    SCOPED_TRACE(name);
    const Bytes saved = *field;
    (*field)[field->size() / 2] ^= 0x01;
    try {
      EXPECT_FALSE(Matches(Derive(ctx, copy.View()), t.commit[index]));
    } catch (const Error& e) {
      // A changed holder coordinate is (almost surely) off the curve: no candidate at all.
      EXPECT_TRUE(e.kind() == ErrorKind::kInvalidInput || e.kind() == ErrorKind::kCryptoFailure);
    }
    *field = saved;
  }
  // Another candidate's opening does not rebuild this candidate's commit.
  const auto& [other_index, other] = t.openings.at(4);
  ASSERT_NE(other_index, index);
  EXPECT_FALSE(Matches(Derive(ctx, other.View()), t.commit[index]));
}

TEST(CandidateKnownAnswer, OneChangedSessionValueBreaksTheMatch) {
  const Transcript& t = LoadTranscript();
  const auto& [index, opening] = t.openings.at(0);
  const std::vector<std::pair<std::string, std::function<void(Context&)>>> changes = {
      {"iss", [](Context& c) { c.session.iss += "x"; }},
      {"iat", [](Context& c) { c.session.iat -= 86400; }},
      {"exp", [](Context& c) { c.session.exp += 1; }},
      {"age_over_18", [](Context& c) { c.session.attested.age_over_18 = true; }},
      {"province", [](Context& c) { c.session.attested.province = "11"; }},
      {"kid", [](Context& c) { c.session.kid = c.session.escrow_kid; }},
      {"escrow_kid", [](Context& c) { c.session.escrow_kid = c.session.kid; }},
      {"issuance_id", [](Context& c) { c.issuance_id[0] ^= 0x01; }},
      {"escrow key", [](Context& c) { c.escrow_public_key = hpke::GenerateKeyPair().public_key; }},
  };
  for (const auto& [name, change] : changes) {
    SCOPED_TRACE(name);
    Context ctx = TranscriptContext();
    change(ctx);
    EXPECT_FALSE(Matches(Derive(ctx, opening.View()), t.commit[index]));
  }
}

TEST(Candidate, DeterministicAndEachInputChangesItsOutputs) {
  const Transcript& t = LoadTranscript();
  const Context ctx = TranscriptContext();
  const OwnedOpening& base = t.openings.at(1).second;
  const Candidate a = Derive(ctx, base.View());
  const Candidate b = Derive(ctx, base.View());
  EXPECT_EQ(a.blinding.blinded_msg, b.blinding.blinded_msg);
  EXPECT_EQ(a.TraceBytes(), b.TraceBytes());
  EXPECT_EQ(a.escrow.enc, b.escrow.enc);
  EXPECT_EQ(a.escrow.ct, b.escrow.ct);
  EXPECT_EQ(a.credential.signing_input, b.credential.signing_input);
  EXPECT_EQ(a.credential.disclosures, b.credential.disclosures);
  EXPECT_TRUE(a.blinding.inv == b.blinding.inv);

  // Which outputs each opened value must change (it may change more).
  struct Effect {
    bool escrow, credential, blinded, trace;
  };
  // Another opened candidate of the same transcript supplies valid replacement values.
  const OwnedOpening& other = t.openings.at(2).second;
  const std::vector<std::pair<std::string, std::pair<std::function<void(OwnedOpening&)>, Effect>>>
      cases = {
          {"holder key", {[&](OwnedOpening& o) { o.holder_x = other.holder_x;
                                                  o.holder_y = other.holder_y; },
                          {true, true, true, true}}},
          {"jti", {[&](OwnedOpening& o) { o.jti = other.jti; }, {true, true, true, true}}},
          {"salt 0", {[&](OwnedOpening& o) { o.salts[0] = other.salts[0]; },
                      {false, true, true, false}}},
          {"salt 4", {[&](OwnedOpening& o) { o.salts[4] = other.salts[4]; },
                      {false, true, true, false}}},
          {"pss_salt", {[&](OwnedOpening& o) { o.pss_salt = other.pss_salt; },
                        {false, false, true, false}}},
          {"r", {[&](OwnedOpening& o) { o.r = other.r; }, {false, false, true, false}}},
          {"escrow_ikm", {[&](OwnedOpening& o) { o.escrow_ikm = other.escrow_ikm; },
                          {true, true, true, true}}},
          {"trace_ikm", {[&](OwnedOpening& o) { o.trace_ikm = other.trace_ikm; },
                         {false, false, false, true}}},
      };
  for (const auto& [name, c] : cases) {
    SCOPED_TRACE(name);
    OwnedOpening o = base;
    c.first(o);
    const Candidate d = Derive(ctx, o.View());
    const Effect& want = c.second;
    EXPECT_EQ(d.escrow.enc != a.escrow.enc || d.escrow.ct != a.escrow.ct, want.escrow);
    EXPECT_EQ(d.credential.signing_input != a.credential.signing_input ||
                  d.credential.disclosures != a.credential.disclosures,
              want.credential);
    EXPECT_EQ(d.blinding.blinded_msg != a.blinding.blinded_msg, want.blinded);
    EXPECT_EQ(d.TraceBytes() != a.TraceBytes(), want.trace);
  }
}

TEST(Candidate, RefusesMalformedOpenings) {
  const Transcript& t = LoadTranscript();
  const Context ctx = TranscriptContext();
  const OwnedOpening& base = t.openings.at(0).second;
  const std::vector<std::pair<std::string, std::function<void(OwnedOpening&)>>> cases = {
      {"short holder_x", [](OwnedOpening& o) { o.holder_x.pop_back(); }},
      {"holder off the curve", [](OwnedOpening& o) { o.holder_y = o.holder_x; }},
      {"short jti", [](OwnedOpening& o) { o.jti.pop_back(); }},
      {"long salt", [](OwnedOpening& o) { o.salts[2].push_back(0); }},
      {"short pss_salt", [](OwnedOpening& o) { o.pss_salt.pop_back(); }},
      {"short r", [](OwnedOpening& o) { o.r.pop_back(); }},
      {"r = 1", [](OwnedOpening& o) { o.r.assign(o.r.size(), 0); o.r.back() = 1; }},
      {"r = 0", [](OwnedOpening& o) { o.r.assign(o.r.size(), 0); }},
      {"r >= n", [](OwnedOpening& o) { o.r.assign(o.r.size(), 0xff); }},
      {"short escrow_ikm", [](OwnedOpening& o) { o.escrow_ikm.pop_back(); }},
      {"long trace_ikm", [](OwnedOpening& o) { o.trace_ikm.push_back(0); }},
  };
  for (const auto& [name, change] : cases) {
    SCOPED_TRACE(name);
    OwnedOpening o = base;
    change(o);
    EXPECT_EQ(KindOf([&] { (void)Derive(ctx, o.View()); }), ErrorKind::kInvalidInput);
  }
  // gcd(r, n) != 1 needs a factor of n; core_blind_rsa_test covers BlindWith's refusal of it.

  Context bad = TranscriptContext();
  bad.issuance_id.pop_back();
  EXPECT_EQ(KindOf([&] { (void)Derive(bad, base.View()); }), ErrorKind::kInvalidInput);
  Context negative = TranscriptContext();
  negative.session.iat = -86400;
  EXPECT_EQ(KindOf([&] { (void)Derive(negative, base.View()); }), ErrorKind::kInvalidInput);
}

}  // namespace
}  // namespace realdid::candidate
