// libFuzzer target: HPKE public key parsing, Decap/Open with arbitrary enc/ct/info/aad (software and
// external ECDH), and escrow/trace opening, against a fixed recipient key (RFC 9180 A.3.1 skRm).
// Only realdid::Error may escape; a successful Open of a forged ciphertext would need a key.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/escrow.h"
#include "core/hpke.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace)

const Secret& Sk() {
  static const Secret sk(FromHex("f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2"));
  return sk;
}
const hpke::PublicKey& Pk() {
  static const hpke::PublicKey pk = hpke::PublicKeyFromPrivate(Sk());
  return pk;
}

Secret SoftEcdh(const hpke::PublicKey& pk_e) { return hpke::Dh(Sk(), pk_e); }

void Run(realdid::fuzz::Input& in) {
  const std::uint8_t op = in.Byte();
  (void)in.Byte();
  switch (op % 5) {
    case 0: {
      const Bytes b = in.Rest();
      const hpke::PublicKey pk = hpke::DeserializePublicKey(b);
      if (pk.bytes() != b || b.size() != hpke::kNpk) __builtin_trap();
      break;
    }
    case 1: {
      const Bytes enc = in.Part();
      const Bytes info = in.Part();
      const Bytes aad = in.Part();
      const Bytes ct = in.Rest();
      const Secret pt = hpke::Open(enc, ct, Sk(), info, aad);
      if (pt.size() + hpke::kNt != ct.size()) __builtin_trap();
      break;
    }
    case 2: {
      // A valid ephemeral key, so that Open runs through ECDH and the key schedule to the tag check.
      Bytes ikm = in.Part();
      ikm.resize(32, 0);
      const Bytes enc = hpke::DeriveKeyPair(ikm).public_key.bytes();
      const Bytes ct = in.Rest();
      (void)hpke::Open(enc, ct, Pk(), SoftEcdh, AsBytes("info"), AsBytes("aad"));
      break;
    }
    case 3: {
      hpke::Sealed e{in.Part(), in.Part()};
      escrow::CredentialFields f;
      f.kid = ToString(in.Part());
      f.iat = 1767225600;
      f.exp = 1769817600;
      f.jti = in.Part();
      f.cnf_thumbprint = in.Part();
      const std::string escrow_kid = ToString(in.Rest());
      const Secret id = escrow::OpenEscrow(e, Pk(), escrow_kid, f, SoftEcdh);
      if (id.size() != escrow::kIssuanceIdLen) __builtin_trap();
      break;
    }
    default: {
      hpke::Sealed t{in.Part(), in.Part()};
      const Bytes issuance_id = in.Part();
      const std::string kid = ToString(in.Part());
      const std::string escrow_kid = ToString(in.Rest());
      const escrow::TraceContent tc = escrow::OpenTrace(t, Pk(), escrow_kid, issuance_id, kid, SoftEcdh);
      if (tc.jti.size() != escrow::kJtiLen) __builtin_trap();
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  realdid::fuzz::Input in(data, size);
  try {
    Run(in);
  } catch (const realdid::Error&) {
    // Refusing bad input is the expected outcome.
  }
  return 0;
}
