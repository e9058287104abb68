// Host-side hashes and MACs (OpenSSL): SHA-256, SHA-384, HMAC-SHA256, HKDF building blocks.
// Use the HSM's HMAC for keys that live in the HSM; these are for public data and for keys that
// exist on the host by design (HPKE key schedule, test vectors).
// Thread-safety: pure functions. Errors: Error(kInternal) if OpenSSL fails.
#pragma once

#include "core/bytes.h"

namespace realdid::hash {

Bytes Sha256(ByteView data);
Bytes Sha384(ByteView data);
inline Bytes Sha256(std::string_view s) { return Sha256(AsBytes(s)); }
inline Bytes Sha384(std::string_view s) { return Sha384(AsBytes(s)); }
Bytes HmacSha256(ByteView key, ByteView data);

}  // namespace realdid::hash
