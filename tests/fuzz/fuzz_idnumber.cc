// libFuzzer target: core/idnumber.h. Refusals are realdid::Error and never echo the input; an
// accepted number has a consistent check character and derivable attributes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/idnumber.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view id(reinterpret_cast<const char*>(data), size);
  const realdid::idnumber::CivilDate today{2026, 1, 15};
  try {
    const auto info = realdid::idnumber::Validate(id, today);
    if (realdid::idnumber::CheckCharacter(id.substr(0, 17)) != id[17]) std::abort();
    const auto a = realdid::idnumber::Derive(info, today);
    if (a.age_over_60 && !a.age_over_18) std::abort();
  } catch (const realdid::Error& e) {
    // The leak check looks for the first six characters when they are digits (no message has six
    // consecutive digits of its own).
    if (size >= 6 && id.substr(0, 6).find_first_not_of("0123456789") == std::string_view::npos &&
        std::string(e.what()).find(id.substr(0, 6)) != std::string::npos) {
      std::abort();
    }
  }
  return 0;
}
