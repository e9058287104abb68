// core/base64url.h: RFC 4648 section 10 vectors and strict refusals.
#include "core/base64url.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace realdid::b64url {
namespace {

TEST(Base64url, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> v[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(Encode(plain), enc);
    EXPECT_EQ(ToString(Decode(enc)), plain);
  }
}

TEST(Base64url, UrlAlphabet) {
  const Bytes b = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(Encode(b), "-__-");
  EXPECT_EQ(Decode("-__-"), b);
}

TEST(Base64url, RefusesPaddingAndStandardAlphabet) {
  EXPECT_THROW(Decode("Zg=="), Error);
  EXPECT_THROW(Decode("Zm8="), Error);
  EXPECT_THROW(Decode("+/+/"), Error);
  EXPECT_THROW(Decode("Zm 9v"), Error);
  EXPECT_THROW(Decode("Zm9v\n"), Error);
}

TEST(Base64url, RefusesBadLength) {
  EXPECT_THROW(Decode("Z"), Error);
  EXPECT_THROW(Decode("Zm9vY"), Error);
}

TEST(Base64url, RefusesNonCanonicalTrailingBits) {
  EXPECT_NO_THROW(Decode("Zg"));
  EXPECT_THROW(Decode("Zh"), Error);   // 'f' with a non-zero unused bit
  EXPECT_THROW(Decode("Zm9"), Error);  // "fo" is Zm8
  EXPECT_NO_THROW(Decode("Zm8"));
}

TEST(Base64url, RoundTripAllLengths) {
  Bytes b;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(Decode(Encode(b)), b);
    b.push_back(static_cast<std::uint8_t>(i * 37 + 11));
  }
}

}  // namespace
}  // namespace realdid::b64url
