// Key rotation through the ceremony: `realdid-ceremony rotate` adds one new blind-signing key to the
// issuance token and appends it to keys.json, with its own validity window [nbf, exp) that starts
// after every existing blind-signing key's and overlaps the newest one (docs/operations.md,
// "Rotating the blind-signing key"). The authority signs with the active key (core/key_window.h:
// the valid key whose window started last), so the new key takes over at nbf; the old key stays in
// the key set until its exp, so credentials it signed verify until they expire.
// Rules: nbf is a 00:00 UTC (credentials carry iat = a UTC midnight), not before today's; nbf is
// later than every existing blind key's nbf (a tie would leave no single active key); the newest
// existing key stays valid at least min_overlap_days after nbf (>= the credential lifetime L, so
// credentials issued on its last day still verify until their exp). Same label as the current key
// (realdid-blind-rsa<bits>, same modulus size), new CKA_ID = the new key's thumbprint.
// All-or-nothing: if writing keys.json fails, the new key is destroyed again; keys.json is replaced
// atomically (write + rename).
// Thread-safety: single-threaded tool code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/bytes.h"
#include "tools/ceremony/ceremony.h"

namespace realdid::ceremony {

struct RotateOptions {
  std::string module_path = "/usr/lib/softhsm/libsofthsm2.so";
  std::string issuance_token;
  Secret issuance_pin;
  std::filesystem::path out_dir;  // holds keys.json
  std::int64_t not_before = 0;    // Unix seconds, a UTC midnight; 0 = the next one after now
  int valid_days = 365;           // 1..3650
  int min_overlap_days = 30;      // 0..3650
  std::int64_t now = 0;           // 0 = the system clock
};

// Throws Error(kInvalidInput) when a rule above is broken (nothing is created then).
KeyRecord Rotate(const RotateOptions& options);

// `realdid-ceremony rotate ...` (argv[1] == "rotate"); returns the exit code.
int RotateMain(int argc, char** argv);

}  // namespace realdid::ceremony
