// libFuzzer: the connection layer's HTTP/1.1 framing check (authority/http_framing.h), which sees
// every plaintext byte a client sends. Invariants: it never crashes or throws; the verdict does
// not depend on how the stream is split into reads (the input's first byte picks the split).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "authority/http_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = (data[0] % 17) + 1;
  const char* p = reinterpret_cast<const char*>(data + 1);
  const std::size_t n = size - 1;
  realdid::authority::FramingValidator whole, pieces;
  whole.Feed(p, n);
  for (std::size_t i = 0; i < n; i += step) pieces.Feed(p + i, std::min(step, n - i));
  const char* a = whole.error();
  const char* b = pieces.error();
  if ((a == nullptr) != (b == nullptr)) std::abort();
  if (a != nullptr && std::strcmp(a, b) != 0) std::abort();
  return 0;
}
