// Module: one loaded PKCS#11 library (dlopen + C_GetFunctionList + C_Initialize with
// CKF_OS_LOCKING_OK; C_Finalize + dlclose when the last user lets go).
//
// A library may be initialised only once per process, so Load() keeps one Module per path and
// hands out shared references; the issuance and escrow tokens of one library share it.
// Slot: FindSlotByTokenLabel picks the slot whose token label matches exactly; none or several is
// an Error (kUnavailable / kInternal).
// Thread-safety: all member functions are thread-safe (the module is initialised with OS locking).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "hsm/pkcs11.h"

namespace realdid::hsm {

class Module {
 public:
  // Loads (or returns the already loaded) module at `path`. Errors: kUnavailable if the library
  // cannot be loaded or initialised.
  static std::shared_ptr<Module> Load(const std::string& path);

  // Test hook: a module whose calls go through `functions` (e.g. a copy of the real function list
  // with some entries replaced by fault injectors). `base` keeps the real module initialised;
  // the returned module neither initialises nor finalises anything. `functions` must outlive it.
  static std::shared_ptr<Module> WrapForTesting(std::shared_ptr<Module> base,
                                                const CK_FUNCTION_LIST* functions);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();

  const CK_FUNCTION_LIST& fn() const noexcept { return *functions_; }
  const std::string& path() const noexcept { return path_; }

  // Slots with a token present whose CK_TOKEN_INFO.label (space padded) equals `label`.
  std::vector<CK_SLOT_ID> SlotsWithTokenLabel(std::string_view label) const;
  // Exactly one match or Error.
  CK_SLOT_ID FindSlotByTokenLabel(std::string_view label) const;

 private:
  Module() = default;
  static void Destroy(Module* m) noexcept;

  std::string path_;
  void* library_ = nullptr;                     // dlopen handle; null for test wrappers
  const CK_FUNCTION_LIST* functions_ = nullptr;
  bool owns_initialization_ = false;
  std::shared_ptr<Module> base_;                // test wrappers keep the real module alive
};

}  // namespace realdid::hsm
