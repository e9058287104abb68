// Fault injection: the real SoftHSM2 function list, wrapped so that chosen calls fail on demand.
// Checks the recovery contract: a recoverable failure is retried exactly once after re-opening
// sessions and logging in again; a second failure surfaces as Error(kUnavailable); other failures
// are not retried.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "tests/hsm/hsm_fixture.h"

namespace realdid::hsm::testing {
namespace {

// State of the injector (C function pointers cannot capture).
const CK_FUNCTION_LIST* g_real = nullptr;
std::atomic<int> g_sign_failures{0};
std::atomic<CK_RV> g_sign_rv{CKR_DEVICE_ERROR};
std::atomic<int> g_sign_calls{0};
std::atomic<int> g_login_calls{0};
std::atomic<int> g_open_failures{0};

CK_RV FaultySign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
  g_sign_calls.fetch_add(1);
  if (g_sign_failures.load() > 0) {
    g_sign_failures.fetch_sub(1);
    return g_sign_rv.load();
  }
  return g_real->C_Sign(s, data, len, sig, sig_len);
}

CK_RV CountingLogin(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  g_login_calls.fetch_add(1);
  return g_real->C_Login(s, u, pin, len);
}

CK_RV FaultyOpen(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR s) {
  if (g_open_failures.load() > 0) {
    g_open_failures.fetch_sub(1);
    return CKR_DEVICE_REMOVED;
  }
  return g_real->C_OpenSession(slot, flags, app, notify, s);
}

class RecordingObserver : public OpObserver {
 public:
  void OnOp(std::string_view token, std::string_view op, bool ok, double seconds) noexcept override {
    std::lock_guard lock(mu);
    ops.push_back(std::string(token) + ":" + std::string(op) + ":" + (ok ? "ok" : "fail"));
    EXPECT_GE(seconds, 0.0);
  }
  void OnRecovery(std::string_view token) noexcept override {
    std::lock_guard lock(mu);
    recoveries.emplace_back(token);
  }
  std::mutex mu;
  std::vector<std::string> ops;
  std::vector<std::string> recoveries;
};

class FaultInjectionTest : public HsmTest {
 protected:
  void SetUp() override {
    HsmTest::SetUp();
    keys_ = RunCeremony();
    g_real = &module()->fn();
    wrapped_ = *g_real;
    wrapped_.C_Sign = &FaultySign;
    wrapped_.C_Login = &CountingLogin;
    wrapped_.C_OpenSession = &FaultyOpen;
    g_sign_failures = 0;
    g_sign_rv = CKR_DEVICE_ERROR;
    g_sign_calls = 0;
    g_login_calls = 0;
    g_open_failures = 0;
    faulty_ = Module::WrapForTesting(module(), &wrapped_);
    token_ = Token::Open(faulty_, Config(kIssuance, 2), &observer_);
    hmac_ = RefFor(keys_, "id-lookup-hmac");
    expected_ = token_->HmacSha256(hmac_, ToBytes("x"));
    g_login_calls = 0;
    g_sign_calls = 0;
    observer_.ops.clear();
  }
  void TearDown() override {
    token_.reset();
    faulty_.reset();
    g_real = nullptr;
    HsmTest::TearDown();
  }

  std::vector<ceremony::KeyRecord> keys_;
  CK_FUNCTION_LIST wrapped_{};
  std::shared_ptr<Module> faulty_;
  RecordingObserver observer_;
  std::unique_ptr<Token> token_;
  KeyRef hmac_;
  Bytes expected_;
};

TEST_F(FaultInjectionTest, OneDeviceErrorIsRecoveredAndRetriedOnce) {
  g_sign_failures = 1;
  EXPECT_EQ(token_->HmacSha256(hmac_, ToBytes("x")), expected_);
  EXPECT_EQ(g_sign_calls.load(), 2);
  EXPECT_EQ(token_->recoveries(), 1u);
  EXPECT_EQ(g_login_calls.load(), 1);  // logged in again on the fresh session
  ASSERT_EQ(observer_.recoveries.size(), 1u);
  EXPECT_EQ(observer_.recoveries[0], kIssuance);
  ASSERT_EQ(observer_.ops.size(), 1u);
  EXPECT_EQ(observer_.ops[0], std::string(kIssuance) + ":hmac_sha256:ok");
  EXPECT_LE(token_->OpenSessionsForTesting(), 2u);
}

TEST_F(FaultInjectionTest, TwoDeviceErrorsSurfaceAsUnavailable) {
  g_sign_failures = 2;
  std::string d = ExpectError(ErrorKind::kUnavailable, [&] { token_->HmacSha256(hmac_, ToBytes("x")); });
  EXPECT_NE(d.find("CKR_DEVICE_ERROR"), std::string::npos) << d;
  EXPECT_EQ(d.find(SoftHsmHarness::kUserPin), std::string::npos) << d;
  EXPECT_EQ(g_sign_calls.load(), 2);  // retried once, not more
  EXPECT_EQ(token_->recoveries(), 1u);
  ASSERT_EQ(observer_.ops.size(), 1u);
  EXPECT_EQ(observer_.ops[0], std::string(kIssuance) + ":hmac_sha256:fail");
  // The device is back: the same Token works again without being recreated.
  EXPECT_EQ(token_->HmacSha256(hmac_, ToBytes("x")), expected_);
}

TEST_F(FaultInjectionTest, NonRecoverableErrorsAreNotRetried) {
  g_sign_failures = 1;
  g_sign_rv = CKR_FUNCTION_FAILED;
  std::string d = ExpectError(ErrorKind::kInternal, [&] { token_->HmacSha256(hmac_, ToBytes("x")); });
  EXPECT_NE(d.find("CKR_FUNCTION_FAILED"), std::string::npos) << d;
  EXPECT_EQ(g_sign_calls.load(), 1);
  EXPECT_EQ(token_->recoveries(), 0u);
  EXPECT_EQ(token_->HmacSha256(hmac_, ToBytes("x")), expected_);
}

TEST_F(FaultInjectionTest, RsaResultIsVerifiedBeforeRelease) {
  // A sign call that "succeeds" with a wrong value must never reach the caller.
  KeyRef rsa = RefFor(keys_, "blind-signing");
  RsaPublicKey pub = token_->RsaPublic(rsa);
  static CK_FUNCTION_LIST corrupting;
  corrupting = *g_real;
  corrupting.C_Sign = [](CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                         CK_ULONG_PTR sig_len) -> CK_RV {
    CK_RV rv = g_real->C_Sign(s, data, len, sig, sig_len);
    if (rv == CKR_OK && sig != nullptr && *sig_len > 0) sig[*sig_len - 1] ^= 0x01;
    return rv;
  };
  auto bad = Token::Open(Module::WrapForTesting(module(), &corrupting), Config(kIssuance, 1));
  Bytes m(pub.n.size(), 0x33);
  ExpectError(ErrorKind::kCryptoFailure, [&] { bad->RsaRawPrivate(rsa, m); });
  EXPECT_EQ(HostRsaPublic(pub, token_->RsaRawPrivate(rsa, m)), m);
}

TEST_F(FaultInjectionTest, RecoveryThatCannotReopenIsUnavailable) {
  g_sign_failures = 1;
  g_open_failures = 1;  // the recovery's C_OpenSession fails
  std::string d = ExpectError(ErrorKind::kUnavailable, [&] { token_->HmacSha256(hmac_, ToBytes("x")); });
  EXPECT_NE(d.find("recovery failed"), std::string::npos) << d;
  EXPECT_EQ(token_->HmacSha256(hmac_, ToBytes("x")), expected_);
}

}  // namespace
}  // namespace realdid::hsm::testing
