// base64url (RFC 4648 section 5) without padding, strict.
//
// Decode refuses anything that is not the one canonical encoding of some byte string: characters
// outside A-Z a-z 0-9 '-' '_', any '=', a length of 1 mod 4, and non-zero unused trailing bits.
// So Encode(Decode(s)) == s for every accepted s. Errors are Error(kInvalidInput).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/bytes.h"

namespace realdid::b64url {

std::string Encode(ByteView data);
inline std::string Encode(std::string_view s) { return Encode(AsBytes(s)); }
Bytes Decode(std::string_view text);

}  // namespace realdid::b64url
