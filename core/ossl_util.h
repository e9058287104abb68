// Internal helpers for core/*.cc: RAII owners for OpenSSL objects and BIGNUM <-> bytes conversions.
// Not part of the public API of realdid_core (no header outside core/ includes it).
// Thread-safety: the owners are ordinary move-only handles; the functions are pure.
#pragma once

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <limits>
#include <memory>
#include <string>

#include "core/bytes.h"
#include "core/error.h"

namespace realdid::ossl {

struct BnDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_clear_free(p); }
};
struct BnCtxDeleter {
  void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;
using BnCtx = std::unique_ptr<BN_CTX, BnCtxDeleter>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Throws Error(kInternal) and drops OpenSSL's error queue (whose text could mention key material).
[[noreturn]] inline void Internal(const std::string& what) {
  ERR_clear_error();
  Fail(ErrorKind::kInternal, what);
}

inline Bn NewBn() {
  Bn b(BN_new());
  if (!b) Internal("BN_new failed");
  return b;
}

inline BnCtx NewBnCtx() {
  BnCtx c(BN_CTX_new());
  if (!c) Internal("BN_CTX_new failed");
  return c;
}

// Unsigned big-endian bytes -> BIGNUM. Inputs above 64 KiB are refused as invalid input.
inline Bn BnFromBytes(ByteView b) {
  if (b.size() > 65536) InvalidInput("integer too long");
  static const std::uint8_t kZero = 0;
  Bn out(BN_bin2bn(b.empty() ? &kZero : b.data(), static_cast<int>(b.size()), nullptr));
  if (!out) Internal("BN_bin2bn failed");
  return out;
}

// BIGNUM -> exactly len bytes big-endian. Throws Error(kInternal) if it does not fit.
inline Bytes BnToBytes(const BIGNUM* bn, std::size_t len) {
  if (len > static_cast<std::size_t>(std::numeric_limits<int>::max())) Internal("length too large");
  Bytes out(len);
  if (BN_bn2binpad(bn, out.data(), static_cast<int>(len)) != static_cast<int>(len)) {
    Internal("integer does not fit its length");
  }
  return out;
}

inline Secret BnToSecret(const BIGNUM* bn, std::size_t len) { return Secret(BnToBytes(bn, len)); }

// Unsigned big-endian bytes without leading zero bytes (at least one byte).
inline Bytes BnToMinimalBytes(const BIGNUM* bn) {
  const int n = BN_num_bytes(bn);
  if (n <= 0) return Bytes{0};
  return BnToBytes(bn, static_cast<std::size_t>(n));
}

}  // namespace realdid::ossl
