#include "core/base64url.h"

#include "core/error.h"

namespace realdid::b64url {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

std::string Encode(ByteView data) {
  // Exact size up front and indexed stores: no per-character push_back (a hot path of presentation
  // verification, which re-encodes disclosures, digests and the signing input).
  const std::size_t full = data.size() / 3;
  const std::size_t rest = data.size() % 3;
  std::string out(full * 4 + (rest == 0 ? 0 : rest + 1), '\0');
  std::size_t o = 0;
  std::size_t i = 0;
  for (std::size_t k = 0; k < full; ++k, i += 3) {
    const std::uint32_t v = (static_cast<std::uint32_t>(data[i]) << 16) |
                            (static_cast<std::uint32_t>(data[i + 1]) << 8) | data[i + 2];
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
    out[o++] = kAlphabet[v & 63];
  }
  if (rest == 1) {
    const std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t v =
        (static_cast<std::uint32_t>(data[i]) << 16) | (static_cast<std::uint32_t>(data[i + 1]) << 8);
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Bytes Decode(std::string_view text) {
  if (text.size() % 4 == 1) InvalidInput("base64url: invalid length");
  // Every 4 characters give 3 bytes; a final 2 or 3 give 1 or 2 (the length check above).
  Bytes out(text.size() / 4 * 3 + (text.size() % 4 == 0 ? 0 : text.size() % 4 - 1));
  std::size_t o = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Value(c);
    if (v < 0) InvalidInput("base64url: invalid character (padding and '+/' are not accepted)");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<std::uint8_t>(acc >> bits);
      acc &= (1u << bits) - 1u;
    }
  }
  if (acc != 0) InvalidInput("base64url: non-canonical trailing bits");
  return out;
}

}  // namespace realdid::b64url
