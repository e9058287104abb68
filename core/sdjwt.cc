#include "core/sdjwt.h"

#include <set>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"

namespace realdid::sdjwt {

namespace {

[[noreturn]] void Bad(const std::string& what) { InvalidInput("SD-JWT: " + what); }

// Processing state for RFC 9901 section 7.1 step 3.
struct Processor {
  std::vector<Disclosure>& disclosures;
  std::vector<bool> used;
  std::set<std::string> seen_digests;

  const Disclosure* Take(const std::string& digest) {
    if (!seen_digests.insert(digest).second) Bad("a digest appears more than once");
    for (std::size_t i = 0; i < disclosures.size(); ++i) {
      if (disclosures[i].digest == digest) {
        used[i] = true;
        return &disclosures[i];
      }
    }
    return nullptr;  // a decoy or an undisclosed claim
  }

  json::Value Process(const json::Value& v, bool top) {
    if (v.is_array()) {
      json::Array out;
      for (const auto& e : v.as_array()) {
        if (e.is_object() && e.as_object().size() == 1 && e.as_object()[0].first == "...") {
          const json::Value& d = e.as_object()[0].second;
          if (!d.is_string()) Bad("array digest is not a string");
          const Disclosure* disc = Take(d.as_string());
          if (disc == nullptr) continue;
          if (disc->name) Bad("an object-property disclosure is referenced from an array");
          out.push_back(Process(disc->value, false));
        } else {
          out.push_back(Process(e, false));
        }
      }
      return json::Value(std::move(out));
    }
    if (!v.is_object()) return v;
    json::Object out;
    const json::Value* sd = v.find("_sd");
    for (const auto& [k, e] : v.as_object()) {
      if (k == "_sd") continue;
      if (k == "_sd_alg") {
        if (!top) Bad("_sd_alg below the top level");
        continue;
      }
      if (k == "...") Bad("'...' member outside an array element");
      out.emplace_back(k, Process(e, false));
    }
    if (sd != nullptr) {
      if (!sd->is_array()) Bad("_sd is not an array");
      for (const auto& d : sd->as_array()) {
        if (!d.is_string()) Bad("_sd entry is not a string");
        const Disclosure* disc = Take(d.as_string());
        if (disc == nullptr) continue;
        if (!disc->name) Bad("an array-element disclosure is referenced from _sd");
        const std::string& name = *disc->name;
        for (const auto& m : out) {
          if (m.first == name) Bad("disclosed claim name clashes with an existing claim");
        }
        out.emplace_back(name, Process(disc->value, false));
      }
    }
    return json::Value(std::move(out));
  }
};

}  // namespace

std::string EncodeDisclosure(std::string_view salt, std::string_view name, const json::Value& value) {
  return b64url::Encode(json::Serialize(json::Array{json::Value(salt), json::Value(name), value}));
}

std::string Digest(std::string_view encoded_disclosure) {
  return b64url::Encode(hash::Sha256(encoded_disclosure));
}

Disclosure DecodeDisclosure(std::string_view encoded, bool require_canonical) {
  if (encoded.empty()) Bad("empty disclosure");
  const std::string text = ToString(b64url::Decode(encoded));
  json::Value v = json::Parse(text);
  if (require_canonical && json::Serialize(v) != text) Bad("disclosure is not canonical JSON");
  if (!v.is_array()) Bad("disclosure is not a JSON array");
  const auto& a = v.as_array();
  Disclosure d;
  d.encoded = std::string(encoded);
  d.digest = Digest(encoded);
  if (a.size() == 3) {
    if (!a[0].is_string() || !a[1].is_string()) Bad("disclosure salt and name must be strings");
    d.salt = a[0].as_string();
    d.name = a[1].as_string();
    if (*d.name == "_sd" || *d.name == "..." || *d.name == "_sd_alg") Bad("reserved claim name");
    d.value = a[2];
  } else if (a.size() == 2) {
    if (!a[0].is_string()) Bad("disclosure salt must be a string");
    d.salt = a[0].as_string();
    d.value = a[1];
  } else {
    Bad("disclosure must have 2 or 3 elements");
  }
  return d;
}

Parts Split(std::string_view s) {
  const std::size_t last = s.rfind('~');
  if (last == std::string_view::npos) Bad("no '~' separator");
  Parts p;
  p.prefix = std::string(s.substr(0, last + 1));
  if (last + 1 < s.size()) p.kb_jwt = std::string(s.substr(last + 1));
  std::string_view body = s.substr(0, last);  // issuer-jwt~d1~...~dN
  std::size_t pos = body.find('~');
  p.issuer_jwt = std::string(body.substr(0, pos));
  if (p.issuer_jwt.empty()) Bad("empty issuer JWT");
  while (pos != std::string_view::npos) {
    const std::size_t next = body.find('~', pos + 1);
    std::string_view d = body.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
    if (d.empty()) Bad("empty disclosure");
    p.disclosures.emplace_back(d);
    pos = next;
  }
  return p;
}

std::string Join(std::string_view issuer_jwt, const std::vector<std::string>& disclosures) {
  std::string out(issuer_jwt);
  out.push_back('~');
  for (const auto& d : disclosures) {
    out += d;
    out.push_back('~');
  }
  return out;
}

std::string SdHash(std::string_view prefix) { return b64url::Encode(hash::Sha256(prefix)); }

std::string MakeKbJwt(const jws::PrivateKey& holder, std::string_view prefix, std::string_view aud,
                      std::string_view nonce, std::int64_t iat) {
  if (prefix.empty() || prefix.back() != '~') Bad("key binding input must end with '~'");
  const json::Value header = json::Object{{"alg", "ES256"}, {"typ", std::string(kKbTyp)}};
  const json::Value claims = json::Object{{"iat", iat},
                                          {"aud", std::string(aud)},
                                          {"nonce", std::string(nonce)},
                                          {"sd_hash", SdHash(prefix)}};
  return jws::Sign(holder, jws::Alg::kES256, header, AsBytes(json::Serialize(claims)));
}

std::string Present(std::string_view issued, const std::vector<std::string>& names,
                    const jws::PrivateKey& holder, std::string_view aud, std::string_view nonce,
                    std::int64_t iat) {
  Parts p = Split(issued);
  if (p.kb_jwt) Bad("input already carries a key binding JWT");
  std::vector<std::string> keep;
  for (const auto& enc : p.disclosures) {
    Disclosure d = DecodeDisclosure(enc, false);
    if (!d.name) continue;
    for (const auto& n : names) {
      if (n == *d.name) {
        keep.push_back(enc);
        break;
      }
    }
  }
  const std::string prefix = Join(p.issuer_jwt, keep);
  return prefix + MakeKbJwt(holder, prefix, aud, nonce, iat);
}

Verified Verify(std::string_view serialization, const VerifyOptions& o) {
  Parts p = Split(serialization);
  jws::Compact issuer = jws::ParseCompact(p.issuer_jwt);
  const json::Value* kid_value = issuer.header.find("kid");
  if (kid_value == nullptr || !kid_value->is_string()) Bad("issuer JWT has no kid");
  const std::string kid = kid_value->as_string();
  if (!o.issuer_keys) Bad("no issuer key set");
  std::optional<jws::PublicKey> key = o.issuer_keys(kid);
  if (!key) Bad("unknown issuer key id");
  jws::VerifyOptions vo;
  vo.expected_typ = o.expected_typ;
  jws::VerifyParsed(issuer, *key, jws::Alg::kPS384, vo);  // parsed above: not parsed again

  json::Value payload = json::Parse(ToString(issuer.payload));
  if (!payload.is_object()) Bad("issuer payload is not an object");
  const json::Value* alg = payload.find("_sd_alg");
  if (alg != nullptr && (!alg->is_string() || alg->as_string() != kSdAlg)) Bad("unsupported _sd_alg");
  if (alg == nullptr && !p.disclosures.empty()) Bad("missing _sd_alg");

  Verified out;
  out.kid = kid;
  out.header = issuer.header;
  std::set<std::string> seen;
  for (const auto& enc : p.disclosures) {
    if (!seen.insert(enc).second) Bad("duplicate disclosure");
    out.disclosures.push_back(DecodeDisclosure(enc, o.require_canonical_disclosures));
  }
  Processor proc{out.disclosures, std::vector<bool>(out.disclosures.size(), false), {}};
  out.claims = proc.Process(payload, true);
  for (bool u : proc.used) {
    if (!u) Bad("a disclosure is not referenced by any digest");
  }

  const json::Value* exp = out.claims.find("exp");
  if (exp != nullptr && (!exp->is_int() || exp->as_int() <= o.now)) Bad("credential expired");
  const json::Value* nbf = out.claims.find("nbf");
  if (nbf != nullptr && (!nbf->is_int() || nbf->as_int() > o.now)) Bad("credential not yet valid");

  const json::Value* cnf = out.claims.find("cnf");
  if (cnf != nullptr && cnf->is_object() && cnf->find("jwk") != nullptr) out.holder_jwk = cnf->at("jwk");

  if (!o.require_key_binding) {
    if (p.kb_jwt) Bad("unexpected key binding JWT");
    return out;
  }
  if (!p.kb_jwt) Bad("missing key binding JWT");
  if (out.holder_jwk.is_null()) Bad("credential has no cnf.jwk");
  const jws::PublicKey holder = jws::PublicKey::FromJwk(out.holder_jwk);
  jws::VerifyOptions kbo;
  kbo.expected_typ = std::string(kKbTyp);
  jws::Compact kb = jws::Verify(*p.kb_jwt, holder, jws::Alg::kES256, kbo);
  json::Value kc = json::Parse(ToString(kb.payload));
  if (!kc.is_object()) Bad("KB-JWT payload is not an object");
  const json::Value* aud = kc.find("aud");
  if (aud == nullptr || !aud->is_string() || aud->as_string() != o.audience) Bad("KB-JWT aud mismatch");
  const json::Value* nonce = kc.find("nonce");
  if (nonce == nullptr || !nonce->is_string() || nonce->as_string() != o.nonce) {
    Bad("KB-JWT nonce mismatch");
  }
  const json::Value* sdh = kc.find("sd_hash");
  if (sdh == nullptr || !sdh->is_string() || sdh->as_string() != SdHash(p.prefix)) {
    Bad("KB-JWT sd_hash mismatch");
  }
  const json::Value* iat = kc.find("iat");
  if (iat == nullptr || !iat->is_int()) Bad("KB-JWT has no integer iat");
  if (iat->as_int() < o.now - o.kb_max_age || iat->as_int() > o.now + o.kb_max_skew) {
    Bad("KB-JWT iat outside the freshness window");
  }
  out.kb_claims = std::move(kc);
  return out;
}

}  // namespace realdid::sdjwt
