// libFuzzer: the strict compact JWS parser, ECDSA signature format conversions, and verification
// under fixed keys (PS384 and ES256). Invariants: only Error escapes; a parsed token re-serializes
// to exactly its input; DER <-> raw conversions round-trip.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/jws.h"
#include "tests/fuzz/fuzz_input.h"

using realdid::Error;
namespace jws = realdid::jws;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const jws::PrivateKey ec = jws::PrivateKey::GenerateEcP256();
  static const jws::PrivateKey rsa = jws::PrivateKey::GenerateRsa(2048);
  realdid::fuzz::Input in(data, size);
  const std::uint8_t op = in.Byte();
  const realdid::Bytes rest = in.Rest();
  const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
  try {
    switch (op % 4) {
      case 0: {
        jws::Compact c = jws::ParseCompact(text);
        if (c.header_b64 + "." + c.payload_b64 + "." + c.signature_b64 != text) std::abort();
        break;
      }
      case 1:
        (void)jws::Verify(text, ec.Public(), jws::Alg::kES256);
        std::abort();  // no input can carry a valid signature by a key made in this process
      case 2:
        (void)jws::Verify(text, rsa.Public(), jws::Alg::kPS384);
        std::abort();
      default: {
        realdid::Bytes raw = jws::EcdsaDerToRaw(rest);
        if (raw.size() != 64) std::abort();
        if (jws::EcdsaDerToRaw(jws::EcdsaRawToDer(raw)) != raw) std::abort();
        break;
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
