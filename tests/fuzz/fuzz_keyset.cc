// libFuzzer: the wallet's key-set parser (wallet/key_set.h): what every wallet and relying party
// reads from /.well-known/jwks.json. Invariant: only Error escapes.
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "wallet/key_set.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)realdid::wallet::ParseKeySet(
        std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const realdid::Error&) {
  }
  return 0;
}
