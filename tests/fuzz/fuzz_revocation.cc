// libFuzzer target: core/revocation_list.h. The first byte selects the parser: the full-list and
// delta payload parsers, the signed-list verifier (fixed key), the holder proof parser and the
// holder revocation request parser. Any input is refused with realdid::Error or parses; a parsed
// payload re-serializes to exactly the input (the parsers accept only the canonical form).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/revocation_list.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace realdid;  // NOLINT(google-build-using-namespace)
  if (size < 1) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  static const jws::PrivateKey key =
      jws::PrivateKey::EcP256FromScalar(Concat({Bytes(31, 0), Bytes{7}}));
  static const std::string kid = jwk::Kid(key.Public().Jwk());
  try {
    switch (selector % 5) {
      case 0:
      case 1: {
        const bool delta = selector % 5 == 1;
        revocation::List l = revocation::ParsePayload(text, delta);
        if (revocation::PayloadJson(l) != text) std::abort();
        break;
      }
      case 2:
        (void)revocation::Verify(text, key.Public(), kid, (selector & 0x80) != 0);
        break;
      case 3: {
        revocation::HolderProof p = revocation::ParseHolderProof(text);
        if (p.nonce.size() != 16 || p.rid.size() != 32) std::abort();
        break;
      }
      default: {
        revocation::HolderRequest r = revocation::ParseHolderRequest(text);
        (void)r;
        break;
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
