// libFuzzer target: warrant/content.h, every request parser of the warrant listener and the two
// canonical document parsers. Any input is either refused with realdid::Error or accepted; an
// accepted warrant or roster change re-serializes to exactly the input bytes (canonical form).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"
#include "tests/fuzz/fuzz_input.h"
#include "warrant/content.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  realdid::fuzz::Input in(data, size);
  const std::uint8_t op = in.Byte();
  const realdid::Bytes rest = in.Rest();
  const std::string text(rest.begin(), rest.end());
  namespace w = realdid::warrant;
  try {
    switch (op % 7) {
      case 0:
        (void)w::ParseFileRequest(text);
        break;
      case 1:
        (void)w::ParseApprovalRequest(text);
        break;
      case 2:
        (void)w::ParseExecuteRequest(text);
        break;
      case 3:
        (void)w::ParseRosterChangeRequest(text);
        break;
      case 4:
        (void)w::ParseGenesisRoster(text);
        break;
      case 5: {
        w::WarrantContent c = w::ParseWarrant(text);
        if (w::SerializeWarrant(c) != text) std::abort();
        break;
      }
      default: {
        w::RosterChangeContent c = w::ParseRosterChange(text);
        if (w::SerializeRosterChange(c) != text) std::abort();
        break;
      }
    }
  } catch (const realdid::Error&) {
  }
  return 0;
}
