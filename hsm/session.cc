#include "hsm/session.h"

#include <array>
#include <utility>

namespace realdid::hsm {

Session Session::Open(std::shared_ptr<Module> module, CK_SLOT_ID slot, bool rw) {
  CK_FLAGS flags = CKF_SERIAL_SESSION;
  if (rw) flags |= CKF_RW_SESSION;
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  Check(module->fn().C_OpenSession(slot, flags, nullptr, nullptr, &h), "C_OpenSession");
  Session s;
  s.module_ = std::move(module);
  s.handle_ = h;
  return s;
}

Session::Session(Session&& other) noexcept
    : module_(std::move(other.module_)), handle_(std::exchange(other.handle_, CK_INVALID_HANDLE)) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    Close();
    module_ = std::move(other.module_);
    handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
  }
  return *this;
}

Session::~Session() { Close(); }

void Session::Close() noexcept {
  if (handle_ != CK_INVALID_HANDLE && module_) {
    (void)module_->fn().C_CloseSession(handle_);
  }
  handle_ = CK_INVALID_HANDLE;
}

void Session::Login(const Secret& pin) {
  ByteView p = pin.reveal();
  CK_RV rv = fn().C_Login(handle_, CKU_USER, const_cast<CK_UTF8CHAR_PTR>(p.data()), ToCkUlong(p.size()));
  if (rv == CKR_USER_ALREADY_LOGGED_IN) return;
  Check(rv, "C_Login");
}

std::vector<CK_OBJECT_HANDLE> Session::Find(std::vector<CK_ATTRIBUTE> templ) {
  Check(fn().C_FindObjectsInit(handle_, templ.data(), ToCkUlong(templ.size())), "C_FindObjectsInit");
  std::array<CK_OBJECT_HANDLE, 64> found{};
  CK_ULONG count = 0;
  CK_RV rv = fn().C_FindObjects(handle_, found.data(), ToCkUlong(found.size()), &count);
  CK_RV rv_final = fn().C_FindObjectsFinal(handle_);
  Check(rv, "C_FindObjects");
  Check(rv_final, "C_FindObjectsFinal");
  return {found.begin(), found.begin() + static_cast<std::ptrdiff_t>(FromCkUlong(count))};
}

Bytes Session::GetBytes(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  Check(fn().C_GetAttributeValue(handle_, obj, &a, 1), "C_GetAttributeValue");
  Bytes out(FromCkUlong(a.ulValueLen));
  a.pValue = out.data();
  Check(fn().C_GetAttributeValue(handle_, obj, &a, 1), "C_GetAttributeValue");
  out.resize(FromCkUlong(a.ulValueLen));
  return out;
}

bool Session::GetBool(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL v = CK_FALSE;
  CK_ATTRIBUTE a{type, &v, sizeof v};
  Check(fn().C_GetAttributeValue(handle_, obj, &a, 1), "C_GetAttributeValue");
  return v == CK_TRUE;
}

CK_ULONG Session::GetUlong(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG v = 0;
  CK_ATTRIBUTE a{type, &v, sizeof v};
  Check(fn().C_GetAttributeValue(handle_, obj, &a, 1), "C_GetAttributeValue");
  return v;
}

std::vector<CK_MECHANISM_TYPE> Session::GetMechanisms(CK_OBJECT_HANDLE obj) {
  CK_ATTRIBUTE a{CKA_ALLOWED_MECHANISMS, nullptr, 0};
  Check(fn().C_GetAttributeValue(handle_, obj, &a, 1), "C_GetAttributeValue");
  std::size_t bytes = FromCkUlong(a.ulValueLen);
  std::vector<CK_MECHANISM_TYPE> out(bytes / sizeof(CK_MECHANISM_TYPE));
  a.pValue = out.data();
  a.ulValueLen = ToCkUlong(out.size() * sizeof(CK_MECHANISM_TYPE));
  Check(fn().C_GetAttributeValue(handle_, obj, &a, 1), "C_GetAttributeValue");
  out.resize(FromCkUlong(a.ulValueLen) / sizeof(CK_MECHANISM_TYPE));
  return out;
}

void Session::Destroy(CK_OBJECT_HANDLE obj) { Check(fn().C_DestroyObject(handle_, obj), "C_DestroyObject"); }

CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, const void* value, std::size_t len) {
  // PKCS#11 templates take non-const pointers; the library only reads them for input templates.
  return CK_ATTRIBUTE{type, const_cast<void*>(value), ToCkUlong(len)};
}

namespace {
constexpr std::array<std::uint8_t, 10> kP256Oid = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                                   0xce, 0x3d, 0x03, 0x01, 0x07};
}  // namespace

ByteView P256EcParams() noexcept { return kP256Oid; }

Bytes DecodeEcPoint(ByteView p) {
  if (p.size() == 65 && p[0] == 0x04) return Bytes(p.begin(), p.end());
  if (p.size() == 67 && p[0] == 0x04 && p[1] == 0x41 && p[2] == 0x04) return Bytes(p.begin() + 2, p.end());
  Fail(ErrorKind::kInternal, "CKA_EC_POINT is not an uncompressed P-256 point");
}

}  // namespace realdid::hsm
