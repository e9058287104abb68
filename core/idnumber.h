// Chinese resident identity numbers, GB 11643-1999 (18-character form), and the attributes RealDID
// derives from them.
//
// Validate() accepts exactly: 17 ASCII digits + a check character (0-9 or upper-case 'X'); the first
// two digits one of the 34 province-level codes; digits 7-14 a real Gregorian date YYYYMMDD, not
// before 1900-01-01 and not after the `today` the caller passes; the ISO 7064 MOD 11-2 check
// character (weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2; remainder 0..10 -> "10X98765432").
// The 15-digit legacy form is refused with its own message.
// Security contract: an ID number is identity data. No error text ever contains the number or any
// part of it; errors name only the rule that failed.
// Age: a person is N years old from the N-th anniversary of their birth date compared as (year,
// month, day); someone born on 29 February therefore turns N on 1 March in a non-leap year.
// Thread-safety: pure functions. No clock reads: "today" always comes from the caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace realdid::idnumber {

struct CivilDate {
  int year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31
  friend auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

bool IsLeapYear(int year) noexcept;
unsigned DaysInMonth(int year, unsigned month) noexcept;  // 0 for an invalid month
bool IsValidDate(const CivilDate& d) noexcept;
// Days since 1970-01-01 (proleptic Gregorian) and back.
std::int64_t DaysFromCivil(const CivilDate& d) noexcept;
CivilDate CivilFromDays(std::int64_t days) noexcept;
inline CivilDate CivilFromUnixSeconds(std::int64_t s) noexcept {
  return CivilFromDays(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
}

// True for the 34 province-level codes (11 ... 82).
bool IsProvinceCode(std::string_view two_digits) noexcept;
// ISO 7064 MOD 11-2 check character for 17 digits; throws Error(kInvalidInput) if not 17 digits.
char CheckCharacter(std::string_view first17);

struct IdInfo {
  std::string province;  // 2 digits
  CivilDate birth;
};

// Validates the ID number against every rule above; throws Error(kInvalidInput) naming the rule.
IdInfo Validate(std::string_view id, const CivilDate& today);

// Attributes attested in a credential, computed on date `on`.
struct Attributes {
  bool age_over_18 = false;
  bool age_over_60 = false;
  std::string province;
};
bool AgeAtLeast(const CivilDate& birth, const CivilDate& on, int years) noexcept;
Attributes Derive(const IdInfo& info, const CivilDate& on);
// Validate(id, on) then Derive(info, on).
Attributes DeriveFromId(std::string_view id, const CivilDate& on);

// Builds a valid number from its parts: province code (2 digits, one of the 34), 4 more area digits
// (0..9999), birth date, 3-digit sequence (0..999). Throws Error(kInvalidInput) on bad parts.
std::string Make(std::string_view province, unsigned area, const CivilDate& birth, unsigned sequence);
// A valid synthetic number, deterministic in (seed, index): province from the 34 codes, birth date
// uniform in [1900-01-01, today], random area and sequence. For the CTID simulator and tests.
std::string Generate(std::uint64_t seed, std::uint64_t index, const CivilDate& today);

}  // namespace realdid::idnumber
