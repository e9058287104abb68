// Byte strings and secrets.
//
// Bytes is a plain byte vector for public data. Secret holds key material, PINs, session secrets and
// identity data: it is wiped (OPENSSL_cleanse) when destroyed or reassigned, compares in constant
// time, has no stream operator and never prints. Its contents come out only through reveal(), a name
// that is easy to search for in review.
// Thread-safety: value types; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace realdid {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string ToString(ByteView b) { return std::string(b.begin(), b.end()); }

// Lower-case hex. FromHex throws Error(kInvalidInput) on odd length or a non-hex character.
std::string ToHex(ByteView b);
Bytes FromHex(std::string_view hex);

// Constant-time equality (length is not secret).
bool ConstantTimeEqual(ByteView a, ByteView b) noexcept;

// Concatenate byte strings.
Bytes Concat(std::initializer_list<ByteView> parts);

// Big-endian fixed-width integer encodings (I2OSP for small values).
Bytes U16BE(std::uint16_t v);
Bytes U32BE(std::uint32_t v);
Bytes U64BE(std::uint64_t v);

class Secret {
 public:
  Secret() = default;
  explicit Secret(Bytes b) noexcept : data_(std::move(b)) {}
  explicit Secret(ByteView b) : data_(b.begin(), b.end()) {}
  static Secret FromString(std::string_view s) { return Secret(AsBytes(s)); }
  // Fresh random secret of n bytes from the OpenSSL CSPRNG.
  static Secret Random(std::size_t n);

  Secret(const Secret& other) : data_(other.data_) {}
  Secret& operator=(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }
  // The only way to read the secret bytes. Do not copy the result into a non-wiping container.
  ByteView reveal() const noexcept { return data_; }
  std::string_view reveal_string() const noexcept {
    return {reinterpret_cast<const char*>(data_.data()), data_.size()};
  }
  void wipe() noexcept;

  friend bool operator==(const Secret& a, const Secret& b) noexcept {
    return ConstantTimeEqual(a.data_, b.data_);
  }

 private:
  Bytes data_;
};

// Fresh random bytes from the OpenSSL CSPRNG; throws Error(kInternal) if the RNG fails.
Bytes RandomBytes(std::size_t n);

}  // namespace realdid
