#include "core/idnumber.h"

#include <array>

#include "core/error.h"

namespace realdid::idnumber {

namespace {

constexpr std::array<std::string_view, 34> kProvinces = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"};
constexpr std::array<unsigned, 17> kWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr std::string_view kCheckMap = "10X98765432";

bool IsDigit(char c) noexcept { return c >= '0' && c <= '9'; }
unsigned DigitAt(std::string_view s, std::size_t i) noexcept { return static_cast<unsigned>(s[i] - '0'); }

[[noreturn]] void Bad(const char* rule) { InvalidInput(std::string("ID number: ") + rule); }

std::uint64_t SplitMix(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

bool IsLeapYear(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int year, unsigned month) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

bool IsValidDate(const CivilDate& d) noexcept {
  return d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= DaysInMonth(d.year, d.month);
}

// Howard Hinnant's days_from_civil / civil_from_days.
std::int64_t DaysFromCivil(const CivilDate& d) noexcept {
  const std::int64_t y = static_cast<std::int64_t>(d.year) - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t m = static_cast<std::int64_t>(d.month);
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + static_cast<std::int64_t>(d.day) - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate CivilFromDays(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  CivilDate out;
  out.year = static_cast<int>(y + (m <= 2 ? 1 : 0));
  out.month = static_cast<unsigned>(m);
  out.day = static_cast<unsigned>(d);
  return out;
}

bool IsProvinceCode(std::string_view two) noexcept {
  for (auto p : kProvinces) {
    if (p == two) return true;
  }
  return false;
}

char CheckCharacter(std::string_view first17) {
  if (first17.size() != 17) Bad("expected 17 digits before the check character");
  unsigned sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    if (!IsDigit(first17[i])) Bad("the first 17 characters must be digits");
    sum += DigitAt(first17, i) * kWeights[i];
  }
  return kCheckMap[sum % 11];
}

IdInfo Validate(std::string_view id, const CivilDate& today) {
  if (id.size() == 15) {
    bool all_digits = true;
    for (char c : id) all_digits = all_digits && IsDigit(c);
    if (all_digits) Bad("the 15-digit legacy form is not accepted; use the 18-character form");
  }
  if (id.size() != 18) Bad("must be 18 characters");
  for (std::size_t i = 0; i < 17; ++i) {
    if (!IsDigit(id[i])) Bad("the first 17 characters must be digits");
  }
  const char check = id[17];
  if (!IsDigit(check) && check != 'X') {
    Bad(check == 'x' ? "check character must be an upper-case 'X'"
                     : "check character must be a digit or 'X'");
  }
  if (!IsProvinceCode(id.substr(0, 2))) Bad("unknown province-level code");
  CivilDate birth;
  birth.year = static_cast<int>(DigitAt(id, 6) * 1000 + DigitAt(id, 7) * 100 + DigitAt(id, 8) * 10 +
                                DigitAt(id, 9));
  birth.month = DigitAt(id, 10) * 10 + DigitAt(id, 11);
  birth.day = DigitAt(id, 12) * 10 + DigitAt(id, 13);
  if (!IsValidDate(birth)) Bad("birth date is not a real date");
  if (birth.year < 1900) Bad("birth date before 1900");
  if (birth > today) Bad("birth date in the future");
  if (CheckCharacter(id.substr(0, 17)) != check) Bad("check character does not match (ISO 7064 MOD 11-2)");
  return IdInfo{std::string(id.substr(0, 2)), birth};
}

bool AgeAtLeast(const CivilDate& birth, const CivilDate& on, int years) noexcept {
  const CivilDate anniversary{birth.year + years, birth.month, birth.day};
  return on >= anniversary;
}

Attributes Derive(const IdInfo& info, const CivilDate& on) {
  Attributes a;
  a.age_over_18 = AgeAtLeast(info.birth, on, 18);
  a.age_over_60 = AgeAtLeast(info.birth, on, 60);
  a.province = info.province;
  return a;
}

Attributes DeriveFromId(std::string_view id, const CivilDate& on) { return Derive(Validate(id, on), on); }

std::string Make(std::string_view province, unsigned area, const CivilDate& birth, unsigned sequence) {
  if (!IsProvinceCode(province)) Bad("unknown province-level code");
  if (area > 9999 || sequence > 999) Bad("area or sequence out of range");
  if (!IsValidDate(birth) || birth.year < 1900 || birth.year > 9999) Bad("birth date is not a real date");
  std::string s(province);
  auto put = [&s](unsigned v, int width) {
    std::string digits(static_cast<std::size_t>(width), '0');
    for (int i = width - 1; i >= 0; --i) {
      digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    s += digits;
  };
  put(area, 4);
  put(static_cast<unsigned>(birth.year), 4);
  put(birth.month, 2);
  put(birth.day, 2);
  put(sequence, 3);
  s.push_back(CheckCharacter(s));
  return s;
}

std::string Generate(std::uint64_t seed, std::uint64_t index, const CivilDate& today) {
  std::uint64_t state = seed ^ (index * 0xd1b54a32d192ed03ULL);
  SplitMix(state);
  const auto province = kProvinces[SplitMix(state) % kProvinces.size()];
  const std::int64_t first = DaysFromCivil(CivilDate{1900, 1, 1});
  const std::int64_t last = DaysFromCivil(today);
  if (last < first) Bad("today is before 1900");
  const auto span = static_cast<std::uint64_t>(last - first + 1);
  const CivilDate birth = CivilFromDays(first + static_cast<std::int64_t>(SplitMix(state) % span));
  const auto area = static_cast<unsigned>(SplitMix(state) % 10000);
  const auto seq = static_cast<unsigned>(SplitMix(state) % 1000);
  return Make(province, area, birth, seq);
}

}  // namespace realdid::idnumber
