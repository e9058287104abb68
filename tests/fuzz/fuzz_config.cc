// libFuzzer: the authority's configuration parser (authority/config.h: strict INI, typed and
// range-checked values), without environment and without touching files. Invariant: only Error
// escapes (a bad file is refused with a message naming the key, never a crash).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authority/config.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const realdid::authority::EnvLookup no_env = [](const std::string&) {
    return std::optional<std::string>();
  };
  try {
    (void)realdid::authority::ParseConfig(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.ini", no_env,
        /*check_files=*/false);
  } catch (const realdid::Error&) {
  }
  return 0;
}
