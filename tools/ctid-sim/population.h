// Population: the synthetic residents of the CTID simulator, computed on demand from (seed, index).
//
// Resident i has id_number = idnumber::Generate(seed, i, today) and a deterministic pinyin-like
// name ("Surname Given") drawn from the same seed and index, so At(i) is O(1) and needs no table.
// The reverse lookup (ID number -> index), which /v1/authenticate needs, uses one sorted array of
// (first 17 digits, index) pairs built at construction: 16 bytes per resident (16 MB for the default
// million), O(log n) per lookup. `today` is fixed at construction so the population does not change
// while the simulator runs.
// Synthetic data only: these are not real people, but the simulator still treats names and ID
// numbers as identity data (never logged).
// Thread-safety: immutable after construction; every method is safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/idnumber.h"

namespace realdid::ctidsim {

struct Resident {
  std::string name;
  std::string id_number;
};

class Population {
 public:
  static constexpr std::uint64_t kMaxSize = 50'000'000;

  // Throws Error(kInvalidInput) if size is 0 or over kMaxSize.
  Population(std::uint64_t seed, std::uint64_t size, const idnumber::CivilDate& today);

  std::uint64_t size() const noexcept { return size_; }
  const idnumber::CivilDate& today() const noexcept { return today_; }

  // Throws Error(kNotFound) if index >= size().
  Resident At(std::uint64_t index) const;
  std::string NameAt(std::uint64_t index) const;
  std::string IdNumberAt(std::uint64_t index) const;

  // The index of a resident with exactly this ID number, or nullopt. (Two indices may share an ID
  // number by chance; the smallest such index is returned.)
  std::optional<std::uint64_t> FindIdNumber(std::string_view id_number) const;

 private:
  std::uint64_t seed_;
  std::uint64_t size_;
  idnumber::CivilDate today_;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> by_id_;  // sorted by key
};

// A deterministic synthetic name for (seed, index), e.g. "Zhang Xiuying".
std::string SyntheticName(std::uint64_t seed, std::uint64_t index);

}  // namespace realdid::ctidsim
