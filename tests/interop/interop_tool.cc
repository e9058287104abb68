// interop_tool: exposes realdid_core's RFC 9474, RFC 9180 and escrow functions to the Node interop
// scripts (blindrsa_*.mjs, hpke_*.mjs). TEST-ONLY: it handles private keys in the clear.
//
// Protocol: one JSON object on stdin, {"cmd": "...", ...}; one JSON object on stdout. Byte strings are
// lower-case hex. A realdid::Error is answered with {"error": "<kind>"} and exit status 0, so the
// scripts can assert expected refusals; malformed requests exit with status 2.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "core/blind_rsa.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/escrow.h"
#include "core/hpke.h"
#include "core/json.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace): a small test tool

Bytes H(const json::Value& req, std::string_view key) { return FromHex(req.at(key).as_string()); }

std::size_t SaltLen(const json::Value& req) {
  const json::Value* v = req.find("salt_len");
  return v == nullptr ? blind_rsa::kSaltLen : static_cast<std::size_t>(v->as_int());
}

blind_rsa::PublicKey RsaKey(const json::Value& req) {
  return blind_rsa::PublicKey::FromComponents(H(req, "n"), H(req, "e"));
}

escrow::CredentialFields Fields(const json::Value& req) {
  escrow::CredentialFields f;
  f.kid = req.at("kid").as_string();
  f.iat = static_cast<std::uint64_t>(req.at("iat").as_int());
  f.exp = static_cast<std::uint64_t>(req.at("exp").as_int());
  f.jti = H(req, "jti");
  f.cnf_thumbprint = H(req, "cnf_tp");
  return f;
}

hpke::EcdhFunction SoftwareEcdh(const Secret& sk) {
  return [&sk](const hpke::PublicKey& pk_e) { return hpke::Dh(sk, pk_e); };
}

json::Value Handle(const json::Value& req) {
  const std::string& cmd = req.at("cmd").as_string();
  json::Object out;
  if (cmd == "rsa-blind") {
    const auto pk = RsaKey(req);
    const Bytes input = H(req, "input_msg");
    const auto variant = SaltLen(req) == 0 ? blind_rsa::Variant::kPssZeroDeterministic
                                           : blind_rsa::Variant::kPssDeterministic;
    const blind_rsa::Blinding b = blind_rsa::Blind(pk, input, variant);
    out.emplace_back("blinded_msg", ToHex(b.blinded_msg));
    out.emplace_back("inv", ToHex(b.inv.reveal()));
    out.emplace_back("salt", ToHex(b.salt.reveal()));
    out.emplace_back("r", ToHex(b.r.reveal()));
  } else if (cmd == "rsa-blind-with") {
    const blind_rsa::Blinding b =
        blind_rsa::BlindWith(RsaKey(req), H(req, "input_msg"), H(req, "salt"), H(req, "r"));
    out.emplace_back("blinded_msg", ToHex(b.blinded_msg));
    out.emplace_back("inv", ToHex(b.inv.reveal()));
  } else if (cmd == "rsa-blind-sign") {
    const auto sk =
        blind_rsa::PrivateKeyForTesting::FromComponents(H(req, "n"), H(req, "e"), H(req, "d"));
    out.emplace_back("blind_sig",
                     ToHex(blind_rsa::BlindSignSoftwareForTesting(sk, H(req, "blinded_msg"))));
  } else if (cmd == "rsa-finalize") {
    const Bytes sig = blind_rsa::Finalize(RsaKey(req), H(req, "input_msg"), H(req, "blind_sig"),
                                          Secret(H(req, "inv")), SaltLen(req));
    out.emplace_back("sig", ToHex(sig));
  } else if (cmd == "rsa-verify") {
    out.emplace_back("valid",
                     blind_rsa::Verify(RsaKey(req), H(req, "input_msg"), H(req, "sig"), SaltLen(req)));
  } else if (cmd == "hpke-derive") {
    const hpke::KeyPair kp = hpke::DeriveKeyPair(H(req, "ikm"));
    out.emplace_back("sk", ToHex(kp.private_key.reveal()));
    out.emplace_back("pk", ToHex(kp.public_key.bytes()));
  } else if (cmd == "hpke-seal") {
    const hpke::PublicKey pk = hpke::DeserializePublicKey(H(req, "pk"));
    const hpke::Sealed s =
        req.find("ikm_e") != nullptr
            ? hpke::Seal(pk, H(req, "info"), H(req, "aad"), H(req, "pt"), H(req, "ikm_e"))
            : hpke::Seal(pk, H(req, "info"), H(req, "aad"), H(req, "pt"));
    out.emplace_back("enc", ToHex(s.enc));
    out.emplace_back("ct", ToHex(s.ct));
  } else if (cmd == "hpke-open") {
    const Secret sk(H(req, "sk"));
    const Secret pt = hpke::Open(H(req, "enc"), H(req, "ct"), sk, H(req, "info"), H(req, "aad"));
    out.emplace_back("pt", ToHex(pt.reveal()));
  } else if (cmd == "escrow-seal") {
    const hpke::PublicKey pk = hpke::DeserializePublicKey(H(req, "escrow_pk"));
    const std::string& escrow_kid = req.at("escrow_kid").as_string();
    const escrow::CredentialFields f = Fields(req);
    const Bytes id = H(req, "issuance_id");
    const hpke::Sealed e = escrow::SealEscrow(pk, escrow_kid, f, id, H(req, "ikm_e"));
    const hpke::Sealed t = escrow::SealTrace(pk, escrow_kid, f, id, e, H(req, "trace_ikm_e"));
    out.emplace_back("escrow_enc", ToHex(e.enc));
    out.emplace_back("escrow_ct", ToHex(e.ct));
    out.emplace_back("trace_enc", ToHex(t.enc));
    out.emplace_back("trace_ct", ToHex(t.ct));
  } else if (cmd == "escrow-open") {
    const Secret sk(H(req, "escrow_sk"));
    const hpke::PublicKey pk = hpke::PublicKeyFromPrivate(sk);
    const hpke::Sealed e{H(req, "escrow_enc"), H(req, "escrow_ct")};
    const Secret id =
        escrow::OpenEscrow(e, pk, req.at("escrow_kid").as_string(), Fields(req), SoftwareEcdh(sk));
    out.emplace_back("issuance_id", ToHex(id.reveal()));
  } else if (cmd == "trace-open") {
    const Secret sk(H(req, "escrow_sk"));
    const hpke::PublicKey pk = hpke::PublicKeyFromPrivate(sk);
    const hpke::Sealed t{H(req, "trace_enc"), H(req, "trace_ct")};
    const escrow::TraceContent tc =
        escrow::OpenTrace(t, pk, req.at("escrow_kid").as_string(), H(req, "issuance_id"),
                          req.at("kid").as_string(), SoftwareEcdh(sk));
    out.emplace_back("jti", ToHex(tc.jti));
    out.emplace_back("cnf_tp", ToHex(tc.cnf_thumbprint));
    out.emplace_back("escrow_hash", ToHex(tc.escrow_hash));
  } else {
    std::cerr << "unknown cmd\n";
    std::exit(2);
  }
  return json::Value(std::move(out));
}

}  // namespace

int main() {
  const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json::Value req;
  try {
    req = json::Parse(input);
  } catch (const realdid::Error& e) {
    std::cerr << "bad request: " << e.what() << "\n";
    return 2;
  }
  json::Value response;
  try {
    response = Handle(req);
  } catch (const realdid::Error& e) {
    json::Object err;
    err.emplace_back("error", std::string(realdid::ErrorKindName(e.kind())));
    response = json::Value(std::move(err));
  }
  std::cout << json::Serialize(response) << "\n";
  return 0;
}
