#include "hsm/module.h"

#include <dlfcn.h>

#include <condition_variable>
#include <cstring>
#include <map>

namespace realdid::hsm {

namespace {

// One Module per library path. An entry whose weak_ptr has expired is being finalised; Load waits
// until the destructor has removed it, so C_Initialize never races a pending C_Finalize.
struct Registry {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::weak_ptr<Module>> modules;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: outlives static destructors
  return *registry;
}

std::string TrimLabel(const unsigned char* label, std::size_t len) {
  std::string s(reinterpret_cast<const char*>(label), len);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

}  // namespace

std::shared_ptr<Module> Module::Load(const std::string& path) {
  Registry& reg = GetRegistry();
  std::unique_lock lock(reg.mu);
  reg.cv.wait(lock, [&] {
    auto it = reg.modules.find(path);
    return it == reg.modules.end() || !it->second.expired();
  });
  if (auto it = reg.modules.find(path); it != reg.modules.end()) {
    if (auto existing = it->second.lock()) return existing;
  }

  std::unique_ptr<Module> m(new Module());
  m->path_ = path;
  m->library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (m->library_ == nullptr) Fail(ErrorKind::kUnavailable, "cannot load PKCS#11 module " + path);
  void* sym = dlsym(m->library_, "C_GetFunctionList");
  if (sym == nullptr) {
    dlclose(m->library_);
    m->library_ = nullptr;
    Fail(ErrorKind::kUnavailable, "not a PKCS#11 module (no C_GetFunctionList): " + path);
  }
  CK_C_GetFunctionList get_list = nullptr;
  static_assert(sizeof get_list == sizeof sym);
  std::memcpy(&get_list, &sym, sizeof sym);  // object pointer -> function pointer without a cast
  CK_FUNCTION_LIST_PTR list = nullptr;
  CK_RV rv = get_list(&list);
  if (rv != CKR_OK || list == nullptr) {
    dlclose(m->library_);
    m->library_ = nullptr;
    Fail(ErrorKind::kUnavailable, "C_GetFunctionList failed for " + path + ": " + CkrName(rv));
  }
  m->functions_ = list;

  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  rv = list->C_Initialize(&args);
  if (rv != CKR_OK) {
    dlclose(m->library_);
    m->library_ = nullptr;
    Fail(ErrorKind::kUnavailable, "C_Initialize failed for " + path + ": " + CkrName(rv));
  }
  m->owns_initialization_ = true;

  std::shared_ptr<Module> shared(m.release(), &Module::Destroy);
  reg.modules[path] = shared;
  return shared;
}

std::shared_ptr<Module> Module::WrapForTesting(std::shared_ptr<Module> base,
                                               const CK_FUNCTION_LIST* functions) {
  if (!base || functions == nullptr) Fail(ErrorKind::kInternal, "WrapForTesting: null argument");
  std::shared_ptr<Module> m(new Module());
  m->path_ = base->path_ + " (test wrapper)";
  m->functions_ = functions;
  m->base_ = std::move(base);
  return m;
}

void Module::Destroy(Module* m) noexcept {
  if (m->owns_initialization_) {
    Registry& reg = GetRegistry();
    std::lock_guard lock(reg.mu);
    delete m;  // ~Module finalises and erases the registry entry under the lock
    reg.cv.notify_all();
    return;
  }
  delete m;
}

Module::~Module() {
  if (owns_initialization_ && functions_ != nullptr) functions_->C_Finalize(nullptr);
  if (library_ != nullptr) dlclose(library_);
  if (owns_initialization_) {
    // Called under the registry lock (see Destroy): drop our expired entry.
    Registry& reg = GetRegistry();
    auto it = reg.modules.find(path_);
    if (it != reg.modules.end() && it->second.expired()) reg.modules.erase(it);
  }
}

std::vector<CK_SLOT_ID> Module::SlotsWithTokenLabel(std::string_view label) const {
  CK_ULONG count = 0;
  Check(functions_->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList");
  std::vector<CK_SLOT_ID> slots(FromCkUlong(count));
  if (!slots.empty()) {
    Check(functions_->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList");
    slots.resize(FromCkUlong(count));
  }
  std::vector<CK_SLOT_ID> matches;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    CK_RV rv = functions_->C_GetTokenInfo(slot, &info);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED) continue;
    Check(rv, "C_GetTokenInfo");
    if (TrimLabel(info.label, sizeof info.label) == label) matches.push_back(slot);
  }
  return matches;
}

CK_SLOT_ID Module::FindSlotByTokenLabel(std::string_view label) const {
  std::vector<CK_SLOT_ID> matches = SlotsWithTokenLabel(label);
  if (matches.empty()) {
    Fail(ErrorKind::kUnavailable, "no PKCS#11 token labelled '" + std::string(label) + "'");
  }
  if (matches.size() > 1) {
    Fail(ErrorKind::kInternal, "several PKCS#11 tokens labelled '" + std::string(label) + "'");
  }
  return matches.front();
}

}  // namespace realdid::hsm
