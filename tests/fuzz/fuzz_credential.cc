// libFuzzer target: core/credential.h ParseStrict, the one strict parser. Refusals are realdid::Error;
// an accepted issued credential rebuilds to exactly the input bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/base64url.h"
#include "core/credential.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using realdid::credential::Form;
  try {
    const auto p = realdid::credential::ParseStrict(text, Form::kIssued);
    const auto b = realdid::credential::Build(p.Session(), p.Opening());
    if (b.Issued(p.signature) != text) std::abort();
    (void)realdid::credential::RevocationId(p);
  } catch (const realdid::Error&) {
  }
  try {
    (void)realdid::credential::ParseStrict(text, Form::kPresentation);
  } catch (const realdid::Error&) {
  }
  return 0;
}
