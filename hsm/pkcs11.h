// The PKCS#11 C interface as the rest of hsm/ sees it, and the mapping of CK_RV codes to
// realdid::Error.
//
// The header is p11-kit's <p11-kit/pkcs11.h> (Debian package libp11-kit-dev) in its standard
// "CK_" naming. Only hsm/ includes this file; nothing above hsm/ sees a PKCS#11 type.
// Error contract: details name the PKCS#11 function and the CKR_ code, never a PIN or key bytes.
// Mapping: bad input -> kInvalidInput, device trouble -> kUnavailable, anything else -> kInternal.
// Thread-safety: pure functions.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"

namespace realdid::hsm {

// "CKR_SESSION_HANDLE_INVALID", or "CKR_0x..." for codes the header does not name.
std::string CkrName(CK_RV rv);

// Codes after which the token re-opens its sessions, logs in again, finds its keys again and
// retries the operation once (session lost, login lost, device trouble, stale object handle).
bool IsRecoverable(CK_RV rv) noexcept;

// The ErrorKind a failed call maps to.
ErrorKind KindFor(CK_RV rv) noexcept;

// Internal exception for one failed PKCS#11 call: carries the raw code so the token can decide
// whether to recover. It is an Error already (kind from KindFor), so letting it escape is safe.
class Pkcs11Error : public Error {
 public:
  Pkcs11Error(std::string_view function, CK_RV rv, std::string_view context);
  CK_RV rv() const noexcept { return rv_; }

 private:
  CK_RV rv_;
};

// Throws Pkcs11Error unless rv == CKR_OK.
inline void Check(CK_RV rv, std::string_view function, std::string_view context = {}) {
  if (rv != CKR_OK) throw Pkcs11Error(function, rv, context);
}

// Narrowing into CK_ULONG and back, checked (CK_ULONG is unsigned long on every target we build).
CK_ULONG ToCkUlong(std::size_t n);
std::size_t FromCkUlong(CK_ULONG n);

}  // namespace realdid::hsm
