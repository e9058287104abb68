// Splitting a fuzzer input into parts: [op byte][flags byte] then parts, each a 2-byte big-endian
// length and that many bytes; the last part is whatever remains. Shared by the fuzz targets.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/bytes.h"

namespace realdid::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t Byte() {
    if (pos_ >= size_) return 0;
    return data_[pos_++];
  }
  // A length-prefixed part (truncated at the end of the input).
  Bytes Part() {
    const std::size_t hi = Byte();
    const std::size_t lo = Byte();
    std::size_t len = (hi << 8) | lo;
    if (len > size_ - pos_) len = size_ - pos_;
    Bytes out(data_ + pos_, data_ + pos_ + len);
    pos_ += len;
    return out;
  }
  Bytes Rest() {
    Bytes out(data_ + pos_, data_ + size_);
    pos_ = size_;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace realdid::fuzz
