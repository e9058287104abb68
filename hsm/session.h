// Session: a move-only owner of one PKCS#11 session handle (C_CloseSession on destruction; a move
// empties the source). Used directly by the key ceremony; the service's Token pools them.
//
// Closing the last session of a token logs the application out of it (PKCS#11 semantics).
// Thread-safety: a Session is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "hsm/module.h"

namespace realdid::hsm {

class Session {
 public:
  Session() = default;
  // Opens a session on `slot` (read-write if `rw`). Throws Pkcs11Error.
  static Session Open(std::shared_ptr<Module> module, CK_SLOT_ID slot, bool rw);

  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  bool valid() const noexcept { return handle_ != CK_INVALID_HANDLE; }
  CK_SESSION_HANDLE handle() const noexcept { return handle_; }
  const CK_FUNCTION_LIST& fn() const noexcept { return module_->fn(); }
  const std::shared_ptr<Module>& module() const noexcept { return module_; }

  // C_Login as CKU_USER; CKR_USER_ALREADY_LOGGED_IN counts as success.
  void Login(const Secret& pin);
  // Closes now (errors ignored); the session becomes empty.
  void Close() noexcept;

  // Object search: all objects matching the template (up to 64).
  std::vector<CK_OBJECT_HANDLE> Find(std::vector<CK_ATTRIBUTE> templ);
  // Attribute readers. GetBytes throws for CK_UNAVAILABLE_INFORMATION (e.g. sensitive values).
  Bytes GetBytes(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);
  bool GetBool(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);
  CK_ULONG GetUlong(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);
  std::vector<CK_MECHANISM_TYPE> GetMechanisms(CK_OBJECT_HANDLE obj);
  void Destroy(CK_OBJECT_HANDLE obj);

 private:
  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
};

// Attribute template helpers (the attribute points into `value`, which must outlive the call).
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, const void* value, std::size_t len);
template <typename T>
CK_ATTRIBUTE AttrOf(CK_ATTRIBUTE_TYPE type, const T& value) {
  return Attr(type, &value, sizeof(T));
}
inline CK_ATTRIBUTE AttrBytes(CK_ATTRIBUTE_TYPE type, ByteView b) { return Attr(type, b.data(), b.size()); }
inline CK_ATTRIBUTE AttrString(CK_ATTRIBUTE_TYPE type, std::string_view s) {
  return Attr(type, s.data(), s.size());
}

// DER of the P-256 named curve OID (CKA_EC_PARAMS) and CKA_EC_POINT decoding: accepts the DER
// OCTET STRING form (04 41 04...) and the raw 65-byte point; returns the raw uncompressed point.
ByteView P256EcParams() noexcept;
Bytes DecodeEcPoint(ByteView ec_point);

}  // namespace realdid::hsm
