// libFuzzer target: core/json.h. Any input either is refused with realdid::Error or parses; a parsed
// document serializes to a canonical form that re-parses to the same value and is a fixed point.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  realdid::json::Value v;
  try {
    v = realdid::json::Parse(text);
  } catch (const realdid::Error&) {
    return 0;
  }
  const std::string canon = realdid::json::Serialize(v);
  const realdid::json::Value again = realdid::json::Parse(canon);
  if (!(again == v) || realdid::json::Serialize(again) != canon) std::abort();
  return 0;
}
