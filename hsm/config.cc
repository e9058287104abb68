#include "hsm/config.h"

#include <fstream>
#include <iterator>

#include <openssl/crypto.h>

#include "core/error.h"

namespace realdid::hsm {

Secret ReadPinFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("cannot read PIN file " + path.string());
  Bytes buf;
  buf.reserve(257);
  char c = 0;
  while (buf.size() <= 256 && in.get(c)) buf.push_back(static_cast<std::uint8_t>(c));
  Secret pin(std::move(buf));  // wiped from here on, whatever happens
  std::size_t n = pin.size();
  if (n > 256) InvalidInput("PIN file too large: " + path.string());
  if (n > 0 && pin.reveal()[n - 1] == '\n') --n;
  if (n > 0 && pin.reveal()[n - 1] == '\r') --n;
  if (n == 0) InvalidInput("PIN file is empty: " + path.string());
  return Secret(pin.reveal().first(n));
}

}  // namespace realdid::hsm
