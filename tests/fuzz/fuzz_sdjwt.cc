// libFuzzer target: core/sdjwt.h presentation parsing and verification (generic RFC 9901 path and the
// strict credential path) against a fixed issuer key. Every refusal must be a realdid::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/credential.h"
#include "core/error.h"
#include "core/jws.h"
#include "core/sdjwt.h"

namespace {
const realdid::jws::PublicKey& IssuerKey() {
  static const realdid::jws::PublicKey k = realdid::jws::PrivateKey::GenerateRsa(2048).Public();
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const realdid::sdjwt::Parts parts = realdid::sdjwt::Split(text);
    for (const auto& d : parts.disclosures) {
      try {
        (void)realdid::sdjwt::DecodeDisclosure(d, false);
      } catch (const realdid::Error&) {
      }
    }
  } catch (const realdid::Error&) {
  }
  realdid::sdjwt::VerifyOptions o;
  o.issuer_keys = [](std::string_view) -> std::optional<realdid::jws::PublicKey> { return IssuerKey(); };
  o.now = 1767300000;
  o.audience = "https://rp.example";
  o.nonce = "n";
  try {
    (void)realdid::sdjwt::Verify(text, o);
  } catch (const realdid::Error&) {
  }
  try {
    (void)realdid::credential::VerifyPresentation(text, o);
  } catch (const realdid::Error&) {
  }
  return 0;
}
