// sdjwt_tool: exposes realdid_core's JWS, SD-JWT and canonical-credential functions to the Node interop
// scripts (jose_interop.mjs, sdjwt_interop.mjs). TEST-ONLY: it hands a holder private scalar to the
// caller so that the scripts can sign key-binding JWTs.
//
// Protocol: one JSON object on stdin, {"cmd": "...", ...}; one JSON object on stdout. Byte strings are
// base64url. A realdid::Error is answered with {"error": "<kind>: <detail>"} and exit status 0, so the
// scripts can assert (and print) expected refusals; malformed requests exit with status 2.
#include <iostream>
#include <iterator>
#include <string>

#include "core/base64url.h"
#include "core/bytes.h"
#include "core/credential.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/sdjwt.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace): a small test tool

std::int64_t Int(const json::Value& req, std::string_view key) { return req.at(key).as_int(); }
const std::string& Str(const json::Value& req, std::string_view key) { return req.at(key).as_string(); }

Bytes FreshScalar() {
  for (;;) {
    Bytes d = RandomBytes(32);
    try {
      (void)jws::PrivateKey::EcP256FromScalar(d);
      return d;
    } catch (const Error&) {
    }
  }
}

Bytes Coord(const json::Value& jwk, std::string_view k) { return b64url::Decode(jwk.at(k).as_string()); }

sdjwt::KeyLookup Pinned(const json::Value& issuer_jwk) {
  const std::string kid = jwk::Kid(issuer_jwk);
  const jws::PublicKey key = jws::PublicKey::FromJwk(issuer_jwk);
  return [kid, key](std::string_view k) -> std::optional<jws::PublicKey> {
    if (k == kid) return key;
    return std::nullopt;
  };
}

json::Value Handle(const json::Value& req) {
  const std::string& cmd = Str(req, "cmd");
  json::Object out;
  if (cmd == "issue") {
    const jws::PrivateKey issuer = jws::PrivateKey::GenerateRsa(static_cast<int>(Int(req, "bits")));
    const Bytes d = FreshScalar();
    const json::Value holder = jws::PrivateKey::EcP256FromScalar(d).Public().Jwk();
    const json::Value enc = jws::PrivateKey::GenerateEcP256().Public().Jwk();
    credential::SessionValues s;
    s.iss = "https://realdid.example";
    s.kid = jwk::Kid(issuer.Public().Jwk());
    s.iat = Int(req, "now") / 86400 * 86400;
    s.exp = s.iat + 30 * 86400;
    s.attested = credential::Attested{true, false, "44", "CN", true};
    credential::CandidateOpening o;
    o.holder_x = Coord(holder, "x");
    o.holder_y = Coord(holder, "y");
    o.jti = RandomBytes(16);
    for (auto& salt : o.salts) salt = RandomBytes(16);
    o.escrow = Concat({Bytes{0x04}, Coord(enc, "x"), Coord(enc, "y"), RandomBytes(32)});
    const credential::Built b = credential::Build(s, o);
    out.emplace_back("issued", b.Issued(jws::SignRaw(issuer, jws::Alg::kPS384, b.signing_input)));
    out.emplace_back("issuer_jwk", issuer.Public().Jwk());
    out.emplace_back("kid", s.kid);
    out.emplace_back("holder_d", b64url::Encode(d));
    out.emplace_back("holder_jwk", holder);
  } else if (cmd == "present") {
    std::vector<std::string> names;
    for (const auto& n : req.at("names").as_array()) names.push_back(n.as_string());
    const jws::PrivateKey holder = jws::PrivateKey::EcP256FromScalar(b64url::Decode(Str(req, "holder_d")));
    out.emplace_back("presentation", sdjwt::Present(Str(req, "issued"), names, holder, Str(req, "aud"),
                                                    Str(req, "nonce"), Int(req, "iat")));
  } else if (cmd == "verify") {
    sdjwt::VerifyOptions o;
    o.issuer_keys = Pinned(req.at("issuer_jwk"));
    o.now = Int(req, "now");
    o.audience = Str(req, "aud");
    o.nonce = Str(req, "nonce");
    const json::Value* typ = req.find("typ");
    if (typ != nullptr) o.expected_typ = typ->as_string();
    if (req.at("strict").as_bool()) {
      out.emplace_back("claims", credential::VerifyPresentation(Str(req, "presentation"), o).verified.claims);
    } else {
      out.emplace_back("claims", sdjwt::Verify(Str(req, "presentation"), o).claims);
    }
  } else if (cmd == "jws-verify") {
    const jws::Alg alg = Str(req, "alg") == "PS384" ? jws::Alg::kPS384 : jws::Alg::kES256;
    const jws::Compact c = jws::Verify(Str(req, "jws"), jws::PublicKey::FromJwk(req.at("jwk")), alg);
    out.emplace_back("payload", ToString(c.payload));
  } else if (cmd == "jws-sign") {
    const jws::PrivateKey k = jws::PrivateKey::EcP256FromScalar(b64url::Decode(Str(req, "d")));
    out.emplace_back("jws", jws::Sign(k, jws::Alg::kES256, json::Object{{"alg", "ES256"}},
                                      AsBytes(Str(req, "payload"))));
  } else if (cmd == "parse-strict") {
    const bool issued = Str(req, "form") == "issued";
    (void)credential::ParseStrict(Str(req, "text"),
                                  issued ? credential::Form::kIssued : credential::Form::kPresentation);
    out.emplace_back("ok", true);
  } else {
    throw std::invalid_argument("unknown cmd");
  }
  return json::Value(std::move(out));
}

}  // namespace

int main() {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json::Value req;
  try {
    req = json::Parse(input);
  } catch (const std::exception& e) {
    std::cerr << "bad request: " << e.what() << "\n";
    return 2;
  }
  try {
    std::cout << json::Serialize(Handle(req)) << "\n";
  } catch (const realdid::Error& e) {
    std::cout << json::Serialize(json::Object{
                     {"error", std::string(ErrorKindName(e.kind())) + ": " + e.what()}})
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bad request: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
