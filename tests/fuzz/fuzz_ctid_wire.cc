// libFuzzer: the CTID wire format (ctid/wire.h) as the authority parses CTID's answers and builds
// its requests. Invariants: only Error escapes; a parsed outcome re-encodes to a body that parses
// to the same outcome; an accepted request encodes to a JSON object with exactly its members.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/json.h"
#include "ctid/wire.h"
#include "tests/fuzz/fuzz_input.h"

using realdid::Error;
namespace ctid = realdid::ctid;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  realdid::fuzz::Input in(data, size);
  const std::uint8_t op = in.Byte();
  try {
    if (op % 2 == 0) {
      realdid::Bytes body = in.Rest();
      ctid::Outcome o = ctid::ParseVerifyResponse(std::string_view(
          reinterpret_cast<const char*>(body.data()), body.size()));
      if (ctid::ParseVerifyResponse(ctid::EncodeVerifyResponse(o)) != o) std::abort();
    } else {
      ctid::VerifyRequest r;
      realdid::Bytes token = in.Part(), nonce = in.Part(), name = in.Part(), id = in.Part();
      r.token.assign(token.begin(), token.end());
      r.nonce.assign(nonce.begin(), nonce.end());
      r.name = realdid::Secret(std::move(name));
      r.id_number = realdid::Secret(std::move(id));
      realdid::Secret wire = ctid::EncodeVerifyRequest(r);
      realdid::json::Value v = realdid::json::Parse(wire.reveal_string());
      if (!v.is_object()) std::abort();
    }
  } catch (const Error&) {
  }
  return 0;
}
