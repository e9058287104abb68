// libFuzzer target: core/base64url.h. Decode accepts only canonical text (Encode(Decode(s)) == s), and
// Encode of arbitrary bytes always decodes back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/base64url.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const realdid::Bytes b = realdid::b64url::Decode(text);
    if (realdid::b64url::Encode(b) != text) std::abort();
  } catch (const realdid::Error&) {
  }
  const realdid::ByteView raw(data, size);
  if (realdid::b64url::Decode(realdid::b64url::Encode(raw)) != realdid::Bytes(raw.begin(), raw.end())) {
    std::abort();
  }
  return 0;
}
