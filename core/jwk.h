// Public JSON Web Keys (RFC 7517) for the two key types of the protocol, and RFC 7638 thumbprints.
//
// Key ids everywhere in RealDID are RFC 7638 SHA-256 thumbprints, base64url-encoded: the kid is
// derived from the public key, never chosen. RSA n and e are unsigned big-endian without leading
// zero bytes (leading zeros in the input are stripped); P-256 x and y are exactly 32 bytes each.
// Thread-safety: pure functions. Errors: Error(kInvalidInput) on malformed keys.
#pragma once

#include <string>

#include "core/bytes.h"
#include "core/json.h"

namespace realdid::jwk {

// {"kty":"RSA","n":...,"e":...}
json::Value RsaPublic(ByteView n, ByteView e);
// {"kty":"EC","crv":"P-256","x":...,"y":...}
json::Value EcP256Public(ByteView x, ByteView y);
// From an uncompressed SEC1 point (0x04 || x || y, 65 bytes).
json::Value EcP256FromPoint(ByteView uncompressed_point);

// RFC 7638: SHA-256 over the required members in lexicographic order, canonical JSON.
// Accepts an RSA or P-256 EC public JWK (other members are ignored; private members refused).
Bytes ThumbprintSha256(const json::Value& jwk);
std::string Kid(const json::Value& jwk);  // base64url(ThumbprintSha256(jwk))

}  // namespace realdid::jwk
