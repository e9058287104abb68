// core/idnumber.h: GB 11643-1999 validation, derived attributes, the synthetic generator.
#include "core/idnumber.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"

namespace realdid::idnumber {
namespace {

const CivilDate kToday{2026, 1, 15};

// Expects a refusal whose message names `rule` and contains no part of the number.
void ExpectRefused(std::string_view id, std::string_view rule) {
  try {
    Validate(id, kToday);
    ADD_FAILURE() << "accepted: rule " << rule;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    const std::string msg = e.what();
    EXPECT_NE(msg.find(rule), std::string::npos) << msg;
    for (std::size_t i = 0; i + 4 <= id.size(); ++i) {
      EXPECT_EQ(msg.find(id.substr(i, 4)), std::string::npos) << "message leaks the number: " << msg;
    }
  }
}

TEST(IdNumber, StandardExample) {
  // GB 11643-1999's example number.
  EXPECT_EQ(CheckCharacter("11010519491231002"), 'X');
  const IdInfo info = Validate("11010519491231002X", kToday);
  EXPECT_EQ(info.province, "11");
  EXPECT_EQ(info.birth, (CivilDate{1949, 12, 31}));
}

TEST(IdNumber, CheckCharacterMapsAllRemainders) {
  // Walk the sequence digits until every check character 0-9, X has appeared and validates.
  std::set<char> seen;
  for (unsigned seq = 0; seq < 1000 && seen.size() < 11; ++seq) {
    const std::string id = Make("31", 1234, CivilDate{1990, 6, 15}, seq);
    seen.insert(id[17]);
    EXPECT_NO_THROW(Validate(id, kToday));
  }
  EXPECT_EQ(seen.size(), 11u);
}

TEST(IdNumber, RefusesEachRule) {
  ExpectRefused("110105491231002", "15-digit legacy form");
  ExpectRefused("11010519491231002", "18 characters");
  ExpectRefused("11010519491231002X1", "18 characters");
  ExpectRefused("11010519491231002x", "upper-case 'X'");
  ExpectRefused("11010519491231002Y", "digit or 'X'");
  ExpectRefused("1101051949123100AX", "17 characters must be digits");
  ExpectRefused(" 1010519491231002X", "17 characters must be digits");
  ExpectRefused("10010519491231002X", "province-level code");
  ExpectRefused("99010519491231002X", "province-level code");
  ExpectRefused("110105194902300020", "not a real date");  // 30 February
  ExpectRefused("110105190002290020", "not a real date");  // 1900 is not a leap year
  ExpectRefused("110105199913010020", "not a real date");  // month 13
  ExpectRefused("110105199900010020", "not a real date");  // month 0
  ExpectRefused("110105199901000020", "not a real date");  // day 0
  ExpectRefused("110105199904310020", "not a real date");  // 31 April
  ExpectRefused(Make("11", 105, CivilDate{1900, 1, 1}, 2).replace(6, 8, "18991231"), "before 1900");
  ExpectRefused(Make("11", 105, CivilDate{2026, 1, 16}, 2), "in the future");
  ExpectRefused("110105194912310021", "check character does not match");
  ExpectRefused("110105194912310020", "check character does not match");
}

TEST(IdNumber, AllProvinceCodes) {
  const char* codes[] = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                         "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                         "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"};
  int valid = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string two{static_cast<char>('0' + i / 10), static_cast<char>('0' + i % 10)};
    if (IsProvinceCode(two)) ++valid;
  }
  EXPECT_EQ(valid, 34);
  for (const char* c : codes) {
    EXPECT_TRUE(IsProvinceCode(c));
    EXPECT_NO_THROW(Validate(Make(c, 0, CivilDate{1980, 1, 1}, 0), kToday));
  }
}

TEST(IdNumber, DateEdges) {
  EXPECT_NO_THROW(Validate(Make("11", 1, CivilDate{1900, 1, 1}, 1), kToday));
  EXPECT_NO_THROW(Validate(Make("11", 1, CivilDate{2000, 2, 29}, 1), kToday));
  EXPECT_NO_THROW(Validate(Make("11", 1, CivilDate{2004, 2, 29}, 1), kToday));
  EXPECT_NO_THROW(Validate(Make("11", 1, kToday, 1), kToday));  // born today
  EXPECT_THROW(Make("11", 1, CivilDate{2001, 2, 29}, 1), Error);
  EXPECT_EQ(DaysFromCivil(CivilDate{1970, 1, 1}), 0);
  EXPECT_EQ(DaysFromCivil(CivilDate{2026, 1, 1}), 20454);
  EXPECT_EQ(CivilFromDays(20454), (CivilDate{2026, 1, 1}));
  EXPECT_EQ(CivilFromDays(-1), (CivilDate{1969, 12, 31}));
  EXPECT_EQ(CivilFromUnixSeconds(1767225600 + 86399), (CivilDate{2026, 1, 1}));
  EXPECT_EQ(CivilFromUnixSeconds(-1), (CivilDate{1969, 12, 31}));
  for (std::int64_t d = -800000; d < 800000; d += 997) EXPECT_EQ(DaysFromCivil(CivilFromDays(d)), d);
}

TEST(IdNumber, AgesAreBirthdayAccurate) {
  const IdInfo info{"44", CivilDate{2000, 3, 1}};
  EXPECT_FALSE(Derive(info, CivilDate{2018, 2, 28}).age_over_18);
  EXPECT_TRUE(Derive(info, CivilDate{2018, 3, 1}).age_over_18);
  // Born 29 February: 18 on 1 March in a non-leap year, on 29 February in a leap year.
  const CivilDate feb29{2000, 2, 29};
  EXPECT_FALSE(AgeAtLeast(feb29, CivilDate{2018, 2, 28}, 18));
  EXPECT_TRUE(AgeAtLeast(feb29, CivilDate{2018, 3, 1}, 18));
  EXPECT_FALSE(AgeAtLeast(feb29, CivilDate{2020, 2, 28}, 20));
  EXPECT_TRUE(AgeAtLeast(feb29, CivilDate{2020, 2, 29}, 20));
  const Attributes a = DeriveFromId("11010519491231002X", CivilDate{2009, 12, 30});
  EXPECT_TRUE(a.age_over_18);
  EXPECT_FALSE(a.age_over_60);
  EXPECT_EQ(a.province, "11");
  EXPECT_TRUE(DeriveFromId("11010519491231002X", CivilDate{2009, 12, 31}).age_over_60);
}

TEST(IdNumber, GeneratorIsDeterministicAndValid) {
  std::set<std::string> seen;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const std::string id = Generate(42, i, kToday);
    EXPECT_NO_THROW(Validate(id, kToday));
    EXPECT_EQ(id, Generate(42, i, kToday));
    seen.insert(id);
  }
  EXPECT_GT(seen.size(), 1990u);
  EXPECT_NE(Generate(1, 0, kToday), Generate(2, 0, kToday));
}

}  // namespace
}  // namespace realdid::idnumber
