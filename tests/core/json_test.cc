// core/json.h: strict parsing and the canonical serialization.
#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace realdid::json {
namespace {

void ExpectRefused(std::string_view text) {
  EXPECT_THROW(Parse(text), Error) << text;
}

TEST(Json, CanonicalRoundTrip) {
  for (std::string_view t : {R"({"a":1,"b":[true,false,null],"c":{"d":"e"}})", R"([])", R"({})",
                             R"("x\"\\\n\t\u0001")", R"(-9223372036854775808)", R"(9223372036854775807)",
                             R"(["\u00f6","\ud83d\ude00","/"])", R"(0)", R"(-1)"}) {
    EXPECT_EQ(Serialize(Parse(t)), t) << t;
  }
}

TEST(Json, NonCanonicalAcceptedButNotCanonical) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({ "a" : 1 })", R"({"a":1})"},
      {"-0", "0"},
      {R"("\/")", R"("/")"},
      {R"("\u0041")", R"("A")"},
      {"\"M\xc3\xb6\"", R"("M\u00f6")"},
      {R"("\u00F6")", R"("\u00f6")"},
      {"\"\\u001F\"", R"("\u001f")"},
  };
  for (const auto& [in, canon] : cases) {
    const std::string out = Serialize(Parse(in));
    EXPECT_EQ(out, canon) << in;
    EXPECT_NE(out, in) << in;
  }
}

TEST(Json, RefusesNonIntegers) {
  ExpectRefused("1e9");
  ExpectRefused("1E9");
  ExpectRefused("1.0");
  ExpectRefused("0.5");
  ExpectRefused("01");
  ExpectRefused("+1");
  ExpectRefused("-");
  ExpectRefused("9223372036854775808");
  ExpectRefused("-9223372036854775809");
  ExpectRefused("[1e9]");
}

TEST(Json, RefusesDuplicateKeys) {
  ExpectRefused(R"({"a":1,"a":1})");
  ExpectRefused(R"({"a":1,"b":{"c":1,"c":2}})");
  // The same name written with an escape is still a duplicate.
  ExpectRefused(R"({"a":1,"\u0061":2})");
}

TEST(Json, EscapedNamesParseToTheSameKey) {
  Value v = Parse(R"({"\u0069ss":"x"})");
  EXPECT_EQ(v.at("iss").as_string(), "x");
  EXPECT_EQ(Serialize(v), R"({"iss":"x"})");
}

TEST(Json, RefusesBadUtf8AndControls) {
  ExpectRefused("\"\xff\"");
  ExpectRefused("\"\xc0\xaf\"");          // overlong
  ExpectRefused("\"\xed\xa0\x80\"");      // encoded surrogate
  ExpectRefused("\"\xf4\x90\x80\x80\"");  // above U+10FFFF
  ExpectRefused("\"\xe2\x82\"");          // truncated
  ExpectRefused("\"a\nb\"");              // raw control character
  ExpectRefused(R"("\ud800")");           // unpaired surrogate
  ExpectRefused(R"("\udc00")");
  ExpectRefused(R"("\ud800\u0041")");
  ExpectRefused(R"("\x")");
  ExpectRefused("\xef\xbb\xbf{}");        // byte-order mark
}

TEST(Json, RefusesStructuralErrors) {
  for (std::string_view t : {"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "tru", "nul",
                             "{} {}", "[1]x", "'a'", "\"abc"}) {
    ExpectRefused(t);
  }
}

TEST(Json, DepthLimit) {
  std::string ok(32, '[');
  ok += std::string(32, ']');
  EXPECT_NO_THROW(Parse(ok));
  std::string deep(33, '[');
  deep += std::string(33, ']');
  ExpectRefused(deep);
  std::string very_deep(100000, '[');
  ExpectRefused(very_deep);
}

TEST(Json, SizeLimit) {
  ParseLimits limits;
  limits.max_bytes = 4;
  EXPECT_NO_THROW(Parse("[12]", limits));
  try {
    Parse("[123]", limits);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTooLarge);
  }
}

TEST(Json, SerializeRefusesInvalidUtf8InMemory) {
  EXPECT_THROW(Serialize(Value(std::string("\xff"))), Error);
}

TEST(Json, TypedAccessors) {
  Value v = Parse(R"({"i":5,"s":"t","b":true,"n":null,"a":[1],"o":{}})");
  EXPECT_EQ(v.at("i").as_int(), 5);
  EXPECT_THROW(v.at("i").as_string(), Error);
  EXPECT_THROW(v.at("missing"), Error);
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_TRUE(v.at("n").is_null());
  v.set("i", 6);
  v.set("z", "new");
  EXPECT_EQ(Serialize(v), R"({"i":6,"s":"t","b":true,"n":null,"a":[1],"o":{},"z":"new"})");
  EXPECT_EQ(Quote("a\"b"), R"("a\"b")");
}

}  // namespace
}  // namespace realdid::json
