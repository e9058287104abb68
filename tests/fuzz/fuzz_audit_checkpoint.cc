// libFuzzer target: the audit checkpoint and witness parsers and the log verifier
// (core/audit_checkpoint.h). Any input is refused with realdid::Error or parses; a parsed checkpoint
// re-serializes to a document that parses to the same signed body, and the verifier never crashes
// on it (it must refuse its signature: the fuzzer holds no key).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string_view>

#include "core/audit_checkpoint.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jws.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace realdid;  // NOLINT(google-build-using-namespace)
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)audit::ParseWitness(text);
  } catch (const Error&) {
  }
  audit::Checkpoint c;
  try {
    c = audit::CheckpointFromJson(json::Parse(text));
  } catch (const Error&) {
    return 0;
  }
  const Bytes body = audit::EncodeCheckpoint(c);
  const audit::Checkpoint again =
      audit::CheckpointFromJson(json::Parse(json::Serialize(audit::CheckpointToJson(c))));
  if (audit::EncodeCheckpoint(again) != body || again.signature != c.signature) std::abort();
  static const jws::PrivateKey key = jws::PrivateKey::GenerateEcP256();
  audit::LogVerifier v({{c.kid, key.Public()}});
  if (v.AddCheckpoint(c)) std::abort();  // no valid signature without the key
  (void)v.Finish();
  return 0;
}
