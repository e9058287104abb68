#include "core/credential.h"

#include <algorithm>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/hpke.h"
#include "core/idnumber.h"
#include "core/jwk.h"
#include "core/jws.h"

namespace realdid::credential {

namespace {

[[noreturn]] void Bad(const std::string& what) { InvalidInput("credential: " + what); }

void CheckKid(std::string_view kid) {
  Bytes raw;
  try {
    raw = b64url::Decode(kid);
  } catch (const Error&) {
    Bad("kid is not canonical base64url");
  }
  if (raw.size() != 32) Bad("kid must be a base64url SHA-256 thumbprint");
}

void CheckAttested(const Attested& a) {
  if (!idnumber::IsProvinceCode(a.province)) Bad("province is not a province-level code");
  if (a.nationality != "CN") Bad("nationality must be CN");
  if (!a.real_name_verified) Bad("real_name_verified must be true");
  if (a.age_over_60 && !a.age_over_18) Bad("age_over_60 without age_over_18");
}

void CheckEscrow(ByteView escrow) {
  if (escrow.size() != kEscrowSize) Bad("escrow must be " + std::to_string(kEscrowSize) + " bytes");
  if (escrow[0] != 0x04) Bad("escrow enc is not an uncompressed P-256 point");
  try {
    (void)hpke::DeserializePublicKey(escrow.subspan(0, hpke::kNpk));  // validates the point
  } catch (const Error&) {
    Bad("escrow enc is not a valid P-256 point");
  }
}

void CheckSession(const SessionValues& s) {
  if (s.iss.empty()) Bad("empty iss");
  if (s.vct != kVct) Bad("wrong vct");
  CheckKid(s.kid);
  if (s.iat < 0 || s.iat % 86400 != 0) Bad("iat must be a UTC midnight");
  if (s.exp <= s.iat) Bad("exp must be after iat");
  CheckAttested(s.attested);
}

void CheckOpening(const CandidateOpening& o) {
  if (o.jti.size() != kJtiSize) Bad("jti must be 16 bytes");
  for (const auto& salt : o.salts) {
    if (salt.size() != kSaltSize) Bad("disclosure salts must be 16 bytes");
  }
  if (o.holder_x.size() != 32 || o.holder_y.size() != 32) Bad("holder key coordinates must be 32 bytes");
  try {
    // The same validation as the JWS layer's (coordinates < p, on the curve, not infinity), on the
    // shared P-256 group instead of a fresh EVP_PKEY per call.
    (void)hpke::DeserializePublicKey(Concat({Bytes{0x04}, o.holder_x, o.holder_y}));
  } catch (const Error&) {
    Bad("holder key is not a valid P-256 point");
  }
  CheckEscrow(o.escrow);
}

std::string HeaderJson(std::string_view kid) {
  return json::Serialize(json::Object{{"alg", "PS384"}, {"kid", std::string(kid)}, {"typ", std::string(kTyp)}});
}

json::Value CnfJwk(ByteView x, ByteView y) { return jwk::EcP256Public(x, y); }

std::string PayloadJson(const SessionValues& s, ByteView jti, ByteView x, ByteView y, ByteView escrow,
                        const std::vector<std::string>& sorted_sd) {
  json::Array sd;
  for (const auto& d : sorted_sd) sd.emplace_back(d);
  return json::Serialize(json::Object{
      {"iss", s.iss},
      {"vct", std::string(kVct)},
      {"iat", s.iat},
      {"exp", s.exp},
      {"jti", b64url::Encode(jti)},
      {"cnf", json::Object{{"jwk", CnfJwk(x, y)}}},
      {"escrow", b64url::Encode(escrow)},
      {"_sd", std::move(sd)},
      {"_sd_alg", std::string(sdjwt::kSdAlg)},
  });
}

// Exact member list check: names and order.
void ExpectMembers(const json::Value& v, std::initializer_list<std::string_view> names, const char* what) {
  if (!v.is_object()) Bad(std::string(what) + " is not an object");
  const auto& obj = v.as_object();
  for (const auto& [k, _] : obj) {
    if (std::find(names.begin(), names.end(), k) == names.end()) {
      Bad(std::string("unknown member in ") + what);
    }
  }
  for (auto n : names) {
    if (v.find(n) == nullptr) Bad(std::string("missing member in ") + what + ": " + std::string(n));
  }
  std::size_t i = 0;
  for (auto n : names) {
    if (obj[i++].first != n) Bad(std::string("members out of canonical order in ") + what);
  }
}

// Decodes JSON text and requires it to be canonical.
json::Value ParseCanonical(std::string_view text, const char* what) {
  json::Value v = json::Parse(text);
  if (json::Serialize(v) != text) Bad(std::string(what) + " is not canonical JSON");
  return v;
}

Bytes DecodeFixed(const json::Value& v, std::size_t size, const char* what) {
  if (!v.is_string()) Bad(std::string(what) + " must be a string");
  Bytes b;
  try {
    b = b64url::Decode(v.as_string());
  } catch (const Error&) {
    Bad(std::string(what) + " is not canonical base64url");
  }
  if (b.size() != size) Bad(std::string(what) + " has the wrong length");
  return b;
}

void CheckClaimValue(std::size_t i, const json::Value& v) {
  switch (i) {
    case 0:
    case 1:
      if (!v.is_bool()) Bad(std::string(kDisclosedClaims[i]) + " must be a boolean");
      break;
    case 2:
      if (!v.is_string() || !idnumber::IsProvinceCode(v.as_string())) {
        Bad("province is not a province-level code");
      }
      break;
    case 3:
      if (!v.is_string() || v.as_string() != "CN") Bad("nationality must be \"CN\"");
      break;
    default:
      if (!v.is_bool() || !v.as_bool()) Bad("real_name_verified must be true");
  }
}

}  // namespace

json::Value ClaimValue(const Attested& a, std::size_t i) {
  switch (i) {
    case 0: return json::Value(a.age_over_18);
    case 1: return json::Value(a.age_over_60);
    case 2: return json::Value(a.province);
    case 3: return json::Value(a.nationality);
    case 4: return json::Value(a.real_name_verified);
    default: Fail(ErrorKind::kInternal, "credential: claim index out of range");
  }
}

std::string Built::Issued(ByteView signature) const {
  if (signature.empty()) Bad("empty signature");
  return sdjwt::Join(signing_input + "." + b64url::Encode(signature), disclosures);
}

Built Build(const SessionValues& session, const CandidateOpening& opening) {
  CheckSession(session);
  CheckOpening(opening);
  Built b;
  std::vector<std::string> digests;
  for (std::size_t i = 0; i < kNumDisclosed; ++i) {
    b.disclosures.push_back(sdjwt::EncodeDisclosure(b64url::Encode(opening.salts[i]),
                                                    kDisclosedClaims[i], ClaimValue(session.attested, i)));
    digests.push_back(sdjwt::Digest(b.disclosures.back()));
  }
  std::sort(digests.begin(), digests.end());
  if (std::adjacent_find(digests.begin(), digests.end()) != digests.end()) {
    Bad("repeated disclosure digest");
  }
  b.header_json = HeaderJson(session.kid);
  b.payload_json = PayloadJson(session, opening.jti, opening.holder_x, opening.holder_y, opening.escrow,
                               digests);
  b.signing_input = jws::SigningInput(b.header_json, AsBytes(b.payload_json));
  return b;
}

bool Parsed::Complete() const {
  return std::all_of(claims.begin(), claims.end(), [](const auto& c) { return c.has_value(); });
}

std::optional<bool> Parsed::BoolClaim(std::string_view name) const {
  for (std::size_t i = 0; i < kNumDisclosed; ++i) {
    if (kDisclosedClaims[i] == name && claims[i] && claims[i]->is_bool()) return claims[i]->as_bool();
  }
  return std::nullopt;
}

std::optional<std::string> Parsed::StringClaim(std::string_view name) const {
  for (std::size_t i = 0; i < kNumDisclosed; ++i) {
    if (kDisclosedClaims[i] == name && claims[i] && claims[i]->is_string()) return claims[i]->as_string();
  }
  return std::nullopt;
}

SessionValues Parsed::Session() const {
  if (!Complete()) Bad("not every claim is disclosed");
  SessionValues s;
  s.iss = iss;
  s.kid = kid;
  s.iat = iat;
  s.exp = exp;
  s.attested.age_over_18 = claims[0]->as_bool();
  s.attested.age_over_60 = claims[1]->as_bool();
  s.attested.province = claims[2]->as_string();
  s.attested.nationality = claims[3]->as_string();
  s.attested.real_name_verified = claims[4]->as_bool();
  return s;
}

CandidateOpening Parsed::Opening() const {
  if (!Complete()) Bad("not every claim is disclosed");
  CandidateOpening o;
  o.holder_x = holder_x;
  o.holder_y = holder_y;
  o.jti = jti;
  for (std::size_t i = 0; i < kNumDisclosed; ++i) o.salts[i] = *salts[i];
  o.escrow = escrow;
  return o;
}

Parsed ParseStrict(std::string_view text, Form form) {
  if (text.size() > std::size_t{65536}) Bad("too large");
  sdjwt::Parts parts = sdjwt::Split(text);
  Parsed p;
  p.issuer_jwt = parts.issuer_jwt;
  p.disclosures = parts.disclosures;
  p.kb_jwt = parts.kb_jwt;
  p.prefix = parts.prefix;
  if (form == Form::kIssued) {
    if (p.kb_jwt) Bad("an issued credential carries no key binding JWT");
    if (p.disclosures.size() != kNumDisclosed) Bad("an issued credential has exactly 5 disclosures");
  } else {
    if (!p.kb_jwt) Bad("a presentation needs a key binding JWT");
    if (p.disclosures.size() > kNumDisclosed) Bad("too many disclosures");
  }

  // Issuer JWT: header, payload, signature; all canonical.
  jws::Compact c = jws::ParseCompact(p.issuer_jwt);
  p.header_json = c.header_json;
  p.payload_json = ToString(c.payload);
  p.signature = c.signature;
  p.signing_input = c.signing_input();
  if (p.signature.empty()) Bad("empty signature");
  json::Value header = ParseCanonical(p.header_json, "header");
  ExpectMembers(header, {"alg", "kid", "typ"}, "header");
  if (!header.at("alg").is_string() || header.at("alg").as_string() != "PS384") Bad("alg must be PS384");
  if (!header.at("typ").is_string() || header.at("typ").as_string() != kTyp) Bad("typ must be dc+sd-jwt");
  if (!header.at("kid").is_string()) Bad("kid must be a string");
  p.kid = header.at("kid").as_string();
  CheckKid(p.kid);

  json::Value payload = ParseCanonical(p.payload_json, "payload");
  ExpectMembers(payload, {"iss", "vct", "iat", "exp", "jti", "cnf", "escrow", "_sd", "_sd_alg"}, "payload");
  if (!payload.at("iss").is_string()) Bad("iss must be a string");
  p.iss = payload.at("iss").as_string();
  if (!payload.at("vct").is_string() || payload.at("vct").as_string() != kVct) Bad("wrong vct");
  if (!payload.at("iat").is_int() || !payload.at("exp").is_int()) Bad("iat and exp must be integers");
  p.iat = payload.at("iat").as_int();
  p.exp = payload.at("exp").as_int();
  p.jti = DecodeFixed(payload.at("jti"), kJtiSize, "jti");
  const json::Value& cnf = payload.at("cnf");
  ExpectMembers(cnf, {"jwk"}, "cnf");
  p.cnf_jwk = cnf.at("jwk");
  ExpectMembers(p.cnf_jwk, {"kty", "crv", "x", "y"}, "cnf.jwk");
  if (!p.cnf_jwk.at("kty").is_string() || p.cnf_jwk.at("kty").as_string() != "EC" ||
      !p.cnf_jwk.at("crv").is_string() || p.cnf_jwk.at("crv").as_string() != "P-256") {
    Bad("cnf.jwk must be an EC P-256 key");
  }
  p.holder_x = DecodeFixed(p.cnf_jwk.at("x"), 32, "cnf.jwk.x");
  p.holder_y = DecodeFixed(p.cnf_jwk.at("y"), 32, "cnf.jwk.y");
  p.escrow = DecodeFixed(payload.at("escrow"), kEscrowSize, "escrow");
  if (!payload.at("_sd_alg").is_string() || payload.at("_sd_alg").as_string() != sdjwt::kSdAlg) {
    Bad("_sd_alg must be sha-256");
  }
  const json::Value& sd = payload.at("_sd");
  if (!sd.is_array() || sd.as_array().size() != kNumDisclosed) Bad("_sd must hold exactly 5 digests");
  for (const auto& d : sd.as_array()) {
    (void)DecodeFixed(d, 32, "_sd digest");
    if (!p.sd.empty() && !(p.sd.back() < d.as_string())) Bad("_sd is not sorted (or has duplicates)");
    p.sd.push_back(d.as_string());
  }

  // Disclosures: canonical, known names, strictly in the fixed order, each digest in _sd.
  std::size_t next = 0;
  for (const auto& enc : p.disclosures) {
    sdjwt::Disclosure d = sdjwt::DecodeDisclosure(enc, true);
    if (!d.name) Bad("array-element disclosures are not used");
    std::size_t idx = kNumDisclosed;
    for (std::size_t i = 0; i < kNumDisclosed; ++i) {
      if (kDisclosedClaims[i] == *d.name) idx = i;
    }
    if (idx == kNumDisclosed) Bad("disclosure for an unknown claim");
    if (idx < next) Bad("disclosures repeated or out of order");
    next = idx + 1;
    Bytes salt;
    try {
      salt = b64url::Decode(d.salt);
    } catch (const Error&) {
      Bad("disclosure salt is not canonical base64url");
    }
    if (salt.size() != kSaltSize) Bad("disclosure salt must be 16 bytes");
    CheckClaimValue(idx, d.value);
    if (!std::binary_search(p.sd.begin(), p.sd.end(), d.digest)) Bad("disclosure digest not in _sd");
    // Rebuild the disclosure bytes from the parsed values.
    if (sdjwt::EncodeDisclosure(d.salt, *d.name, d.value) != enc) Bad("disclosure is not canonical");
    p.claims[idx] = d.value;
    p.salts[idx] = std::move(salt);
  }
  if (p.claims[0] && p.claims[1] && p.claims[1]->as_bool() && !p.claims[0]->as_bool()) {
    Bad("age_over_60 without age_over_18");
  }

  // Field rules shared with Build, then rebuild and compare bytes.
  SessionValues s;
  s.iss = p.iss;
  s.kid = p.kid;
  s.iat = p.iat;
  s.exp = p.exp;
  if (s.iss.empty()) Bad("empty iss");
  if (s.iat < 0 || s.iat % 86400 != 0) Bad("iat must be a UTC midnight");
  if (s.exp <= s.iat) Bad("exp must be after iat");
  try {
    // Same rule as an EVP_PKEY import (coordinates < p, on the curve, not infinity), on the
    // process-wide P-256 group: sdjwt::Verify imports the key once more for the KB-JWT anyway.
    (void)hpke::DeserializePublicKey(Concat({Bytes{0x04}, p.holder_x, p.holder_y}));
  } catch (const Error&) {
    Bad("holder key is not a valid P-256 point");
  }
  CheckEscrow(p.escrow);
  if (p.Complete()) {
    const Built b = Build(p.Session(), p.Opening());
    if (b.header_json != p.header_json || b.payload_json != p.payload_json ||
        b.signing_input != p.signing_input || b.disclosures != p.disclosures) {
      Bad("rebuilt bytes differ from the input");
    }
  } else {
    if (HeaderJson(p.kid) != p.header_json ||
        PayloadJson(s, p.jti, p.holder_x, p.holder_y, p.escrow, p.sd) != p.payload_json ||
        jws::SigningInput(p.header_json, AsBytes(p.payload_json)) != p.signing_input) {
      Bad("rebuilt bytes differ from the input");
    }
  }

  // Key binding JWT: strict JSON, exact member sets (member order is the holder's choice).
  if (p.kb_jwt) {
    jws::Compact kb = jws::ParseCompact(*p.kb_jwt);
    const auto& h = kb.header.as_object();
    if (h.size() != 2 || kb.header.find("alg") == nullptr || kb.header.find("typ") == nullptr) {
      Bad("KB-JWT header must hold exactly alg and typ");
    }
    json::Value kc = json::Parse(ToString(kb.payload));
    if (!kc.is_object() || kc.as_object().size() != 4 || kc.find("iat") == nullptr ||
        kc.find("aud") == nullptr || kc.find("nonce") == nullptr || kc.find("sd_hash") == nullptr) {
      Bad("KB-JWT payload must hold exactly iat, aud, nonce and sd_hash");
    }
  }
  return p;
}

Bytes RevocationId(ByteView jti, const json::Value& cnf_jwk) {
  if (jti.size() != kJtiSize) Bad("jti must be 16 bytes");
  return hash::Sha256(Concat({jti, jwk::ThumbprintSha256(cnf_jwk)}));
}

Parsed VerifyIssued(std::string_view issued, const sdjwt::KeyLookup& issuer_keys, std::int64_t now) {
  Parsed p = ParseStrict(issued, Form::kIssued);
  sdjwt::VerifyOptions o;
  o.issuer_keys = issuer_keys;
  o.now = now;
  o.require_key_binding = false;
  o.require_canonical_disclosures = true;
  (void)sdjwt::Verify(issued, o);
  return p;
}

VerifiedPresentation VerifyPresentation(std::string_view presentation, sdjwt::VerifyOptions options) {
  VerifiedPresentation out;
  out.parsed = ParseStrict(presentation, Form::kPresentation);
  options.require_key_binding = true;
  options.require_canonical_disclosures = true;
  options.expected_typ = std::string(kTyp);
  out.verified = sdjwt::Verify(presentation, options);
  return out;
}

}  // namespace realdid::credential
