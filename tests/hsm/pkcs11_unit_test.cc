// Unit tests without a token: CKR names and error mapping, PIN files, EC point decoding.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hsm/config.h"
#include "hsm/pkcs11.h"
#include "hsm/session.h"

namespace realdid::hsm {
namespace {

TEST(Pkcs11Errors, NamesCodes) {
  EXPECT_EQ(CkrName(CKR_OK), "CKR_OK");
  EXPECT_EQ(CkrName(CKR_SESSION_HANDLE_INVALID), "CKR_SESSION_HANDLE_INVALID");
  EXPECT_EQ(CkrName(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_EQ(CkrName(0x8000abcdUL), "CKR_0x8000abcd");
}

TEST(Pkcs11Errors, ClassifiesRecoverableAndKinds) {
  for (CK_RV rv : {CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED,
                   CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN, CKR_OBJECT_HANDLE_INVALID,
                   CKR_KEY_HANDLE_INVALID}) {
    EXPECT_TRUE(IsRecoverable(rv)) << CkrName(rv);
    EXPECT_EQ(KindFor(rv), ErrorKind::kUnavailable) << CkrName(rv);
  }
  for (CK_RV rv : {CKR_OK, CKR_FUNCTION_FAILED, CKR_GENERAL_ERROR, CKR_MECHANISM_INVALID, CKR_DATA_INVALID}) {
    EXPECT_FALSE(IsRecoverable(rv)) << CkrName(rv);
  }
  EXPECT_EQ(KindFor(CKR_DATA_LEN_RANGE), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindFor(CKR_ENCRYPTED_DATA_INVALID), ErrorKind::kInvalidInput);
  EXPECT_EQ(KindFor(CKR_PIN_INCORRECT), ErrorKind::kUnavailable);
  EXPECT_EQ(KindFor(CKR_MECHANISM_INVALID), ErrorKind::kInternal);
  EXPECT_EQ(KindFor(CKR_GENERAL_ERROR), ErrorKind::kInternal);
  Pkcs11Error e("C_Sign", CKR_DEVICE_ERROR, "rsa_raw");
  EXPECT_EQ(e.rv(), CKR_DEVICE_ERROR);
  EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(std::string(e.detail()), "PKCS#11 C_Sign failed: CKR_DEVICE_ERROR (rsa_raw)");
  EXPECT_THROW(Check(CKR_ARGUMENTS_BAD, "C_Foo"), Pkcs11Error);
  EXPECT_NO_THROW(Check(CKR_OK, "C_Foo"));
}

class PinFileTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& content) {
    std::ofstream(path_, std::ios::binary) << content;
    return path_;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_ =
      std::filesystem::temp_directory_path() / ("realdid-pin-test-" + std::to_string(::getpid()));
};

TEST_F(PinFileTest, StripsOneTrailingNewline) {
  EXPECT_EQ(ReadPinFile(Write("1234\n")).reveal_string(), "1234");
  EXPECT_EQ(ReadPinFile(Write("1234\r\n")).reveal_string(), "1234");
  EXPECT_EQ(ReadPinFile(Write("1234")).reveal_string(), "1234");
  EXPECT_EQ(ReadPinFile(Write("12 34\n\n")).reveal_string(), "12 34\n");
}

TEST_F(PinFileTest, RefusesEmptyHugeOrMissingWithoutLeaking) {
  EXPECT_THROW(ReadPinFile(Write("")), Error);
  EXPECT_THROW(ReadPinFile(Write("\n")), Error);
  EXPECT_THROW(ReadPinFile(Write(std::string(300, 'x'))), Error);
  try {
    ReadPinFile("/nonexistent/pin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  }
}

TEST(EcPoint, DecodesDerAndRaw) {
  Bytes raw(65, 0x11);
  raw[0] = 0x04;
  Bytes der = Concat({FromHex("0441"), raw});
  EXPECT_EQ(DecodeEcPoint(raw), raw);
  EXPECT_EQ(DecodeEcPoint(der), raw);
  EXPECT_THROW(DecodeEcPoint(Bytes(33, 0x02)), Error);
  EXPECT_THROW(DecodeEcPoint(FromHex("0440")), Error);
  EXPECT_EQ(ToHex(P256EcParams()), "06082a8648ce3d030107");
}

}  // namespace
}  // namespace realdid::hsm
