// Configuration of one PKCS#11 token as the service uses it. Plain struct: the authority's
// configuration loader fills it; nothing here parses configuration files.
//
// Security: the PIN is a realdid::Secret (wiped on destruction, never printed). ReadPinFile reads a
// PIN from a file (e.g. a systemd credential) and strips one trailing "\n" or "\r\n".
// Thread-safety: value types.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "core/bytes.h"

namespace realdid::hsm {

struct TokenConfig {
  std::string module_path;      // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;      // CK_TOKEN_INFO.label (exactly one token must carry it)
  Secret pin;                   // user PIN
  std::size_t pool_size = 4;    // sessions kept open for this token (>= 1)
};

// Reads a PIN file; refuses an empty PIN, a file over 256 bytes, or a missing file (kInvalidInput;
// the detail names the path, never the content).
Secret ReadPinFile(const std::filesystem::path& path);

}  // namespace realdid::hsm
