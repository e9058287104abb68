#include "core/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits>

#include "core/error.h"

namespace realdid::hash {

namespace {
Bytes Digest(const EVP_MD* md, ByteView data) {
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 ||
      len != out.size()) {
    Fail(ErrorKind::kInternal, "digest failed");
  }
  return out;
}
}  // namespace

Bytes Sha256(ByteView data) { return Digest(EVP_sha256(), data); }
Bytes Sha384(ByteView data) { return Digest(EVP_sha384(), data); }

Bytes HmacSha256(ByteView key, ByteView data) {
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    InvalidInput("HMAC key too long");
  }
  Bytes out(32);
  unsigned int len = 0;
  static const std::uint8_t kEmpty = 0;
  if (HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
           data.data(), data.size(), out.data(), &len) == nullptr ||
      len != 32) {
    Fail(ErrorKind::kInternal, "HMAC failed");
  }
  return out;
}

}  // namespace realdid::hash
