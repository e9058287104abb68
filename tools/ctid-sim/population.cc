#include "tools/ctid-sim/population.h"

#include <algorithm>
#include <array>
#include <thread>

#include "core/error.h"

namespace realdid::ctidsim {
namespace {

constexpr std::array<const char*, 64> kSurnames = {
    "Wang", "Li",   "Zhang", "Liu",  "Chen", "Yang", "Huang", "Zhao", "Wu",   "Zhou", "Xu",
    "Sun",  "Ma",   "Zhu",   "Hu",   "Guo",  "He",   "Gao",   "Lin",  "Luo",  "Zheng", "Liang",
    "Xie",  "Song", "Tang",  "Han",  "Feng", "Deng", "Cao",   "Peng", "Zeng", "Xiao", "Tian",
    "Dong", "Yuan", "Pan",   "Cai",  "Jiang", "Yu",  "Du",    "Ye",   "Cheng", "Wei", "Su",
    "Lu",   "Ding", "Ren",   "Shen", "Yao",  "Jin",  "Fu",    "Zhong", "Cui", "Tan",  "Lv",
    "Fan",  "Wan",  "Qiu",   "Qin",  "Shi",  "Gu",   "Hou",   "Meng", "Bai"};

constexpr std::array<const char*, 64> kSyllables = {
    "wei",  "fang", "na",   "min",  "jing", "li",   "qiang", "lei",  "jun",  "yang", "yong",
    "yan",  "jie",  "tao",  "ming", "chao", "xiu",  "ying",  "hua",  "hong", "xia",  "ping",
    "gang", "gui",  "lan",  "dan",  "hui",  "bo",   "yu",    "feng", "xin",  "jian", "zhi",
    "hai",  "rong", "mei",  "qing", "hao",  "kai",  "peng",  "lin",  "xue",  "ning", "chen",
    "bin",  "yun",  "long", "fei",  "rui",  "shan", "tian",  "wen",  "xiao", "yi",   "zhen",
    "an",   "bao",  "cheng", "dong", "guo", "han",  "jia",   "kang", "le"};

std::uint64_t SplitMix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string Capitalized(const char* s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

// The first 17 digits as an integer, or nullopt if the text is not 17 digits + [0-9X].
std::optional<std::uint64_t> Key(std::string_view id) {
  if (id.size() != 18) return std::nullopt;
  std::uint64_t k = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    char c = id[i];
    if (c < '0' || c > '9') return std::nullopt;
    k = k * 10 + static_cast<std::uint64_t>(c - '0');
  }
  char last = id[17];
  if (!((last >= '0' && last <= '9') || last == 'X')) return std::nullopt;
  return k;
}

}  // namespace

std::string SyntheticName(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t state = (seed * 0x2545f4914f6cdd1dULL) ^ (index * 0x9e3779b97f4a7c15ULL) ^
                        0x6e616d6573ULL;  // "names"
  SplitMix(state);
  std::string name = kSurnames[SplitMix(state) % kSurnames.size()];
  name.push_back(' ');
  name += Capitalized(kSyllables[SplitMix(state) % kSyllables.size()]);
  if (SplitMix(state) % 3 != 0) name += kSyllables[SplitMix(state) % kSyllables.size()];
  return name;
}

Population::Population(std::uint64_t seed, std::uint64_t size, const idnumber::CivilDate& today)
    : seed_(seed), size_(size), today_(today) {
  if (size == 0 || size > kMaxSize) {
    InvalidInput("population size must be in 1.." + std::to_string(kMaxSize));
  }
  if (!idnumber::IsValidDate(today)) InvalidInput("population date is not a valid date");
  by_id_.resize(static_cast<std::size_t>(size));
  // Two workers: generating a million numbers takes about a second on one core.
  auto fill = [this](std::uint64_t begin, std::uint64_t end) {
    for (std::uint64_t i = begin; i < end; ++i) {
      std::string id = idnumber::Generate(seed_, i, today_);
      by_id_[static_cast<std::size_t>(i)] = {*Key(id), static_cast<std::uint32_t>(i)};
    }
  };
  const std::uint64_t half = size / 2;
  std::thread worker(fill, half, size);
  fill(0, half);
  worker.join();
  std::sort(by_id_.begin(), by_id_.end());
}

std::string Population::NameAt(std::uint64_t index) const {
  if (index >= size_) Fail(ErrorKind::kNotFound, "no resident with this index");
  return SyntheticName(seed_, index);
}

std::string Population::IdNumberAt(std::uint64_t index) const {
  if (index >= size_) Fail(ErrorKind::kNotFound, "no resident with this index");
  return idnumber::Generate(seed_, index, today_);
}

Resident Population::At(std::uint64_t index) const {
  return Resident{NameAt(index), IdNumberAt(index)};
}

std::optional<std::uint64_t> Population::FindIdNumber(std::string_view id_number) const {
  std::optional<std::uint64_t> key = Key(id_number);
  if (!key) return std::nullopt;
  auto it = std::lower_bound(by_id_.begin(), by_id_.end(),
                             std::pair<std::uint64_t, std::uint32_t>{*key, 0});
  for (; it != by_id_.end() && it->first == *key; ++it) {
    // The 17 digits match; the check character must match too (it is implied, but the caller's
    // text may carry a wrong one).
    if (IdNumberAt(it->second) == id_number) return it->second;
  }
  return std::nullopt;
}

}  // namespace realdid::ctidsim
