// hsm_sign_bench: the raw HSM signing baseline — C_SignInit + C_Sign (CKM_RSA_X_509) alone, no
// host-side check — on one key of a token, from T threads with a session each. SoftHSM2 runs in
// this process, so the process CPU over the loop divided by the signatures is the HSM's CPU per
// signature: the denominator-free baseline for the token endpoint's efficiency
// (docs/performance.md: SoftHSM2 C_Sign CPU per RSA-2048 signature / authority CPU per token).
//
//   hsm_sign_bench --module SO --token LABEL --pin-file FILE
//                  (--key-label LABEL | --keys-manifest keys.json --role ROLE)
//                  [--threads T] [--signs N] [--json FILE]
//
// Prints signatures/s and CPU per signature; --json appends one JSON line. Not a test.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "core/json.h"
#include "hsm/config.h"
#include "hsm/module.h"
#include "hsm/pkcs11.h"
#include "hsm/session.h"

namespace {

using realdid::Bytes;
namespace hsm = realdid::hsm;

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

std::string LabelFromManifest(const std::string& path, const std::string& role) {
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const realdid::json::Value doc = realdid::json::Parse(text);
  for (const auto& k : doc.at("keys").as_array()) {
    if (k.at("role").as_string() == role) return k.at("label").as_string();
  }
  realdid::InvalidInput("no key with role " + role + " in " + path);
}

CK_OBJECT_HANDLE FindKey(hsm::Session& s, CK_OBJECT_CLASS cls, const std::string& label) {
  std::vector<CK_OBJECT_HANDLE> found =
      s.Find({hsm::AttrOf(CKA_CLASS, cls), hsm::AttrString(CKA_LABEL, label)});
  if (found.empty()) realdid::InvalidInput("no key labelled " + label);
  return found.front();
}

int Usage(const std::string& m) {
  std::cerr << "hsm_sign_bench: " << m
            << "\nusage: hsm_sign_bench --module SO --token LABEL --pin-file FILE (--key-label L | "
               "--keys-manifest F --role R) [--threads T] [--signs N] [--json FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) return Usage("bad argument " + k);
    a[k] = argv[++i];
  }
  for (const char* req : {"--module", "--token", "--pin-file"}) {
    if (a.count(req) == 0) return Usage(std::string("missing ") + req);
  }
  try {
    const std::string label = a.count("--key-label") != 0
                                  ? a["--key-label"]
                                  : LabelFromManifest(a.at("--keys-manifest"), a.at("--role"));
    const int threads = a.count("--threads") != 0 ? std::stoi(a["--threads"]) : 2;
    const long signs = a.count("--signs") != 0 ? std::stol(a["--signs"]) : 2000;
    if (threads < 1 || threads > 64 || signs < 1) return Usage("bad --threads or --signs");
    auto module = hsm::Module::Load(a["--module"]);
    const CK_SLOT_ID slot = module->FindSlotByTokenLabel(a["--token"]);
    const realdid::Secret pin = hsm::ReadPinFile(a["--pin-file"]);
    std::vector<hsm::Session> sessions;
    std::vector<CK_OBJECT_HANDLE> keys;
    std::size_t k = 0;
    for (int t = 0; t < threads; ++t) {
      sessions.push_back(hsm::Session::Open(module, slot, false));
      if (t == 0) sessions.front().Login(pin);
      keys.push_back(FindKey(sessions.back(), CKO_PRIVATE_KEY, label));
      if (t == 0) {
        k = sessions.front()
                .GetBytes(FindKey(sessions.front(), CKO_PUBLIC_KEY, label), CKA_MODULUS)
                .size();
        while (k > 0 && k % 8 != 0) --k;  // a leading zero byte, if any
      }
    }
    // Warm up (first use of each session), then time.
    std::atomic<long> next{-threads};
    std::atomic<bool> failed{false};
    double cpu0 = 0;
    std::chrono::steady_clock::time_point w0;
    std::atomic<int> warm{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        hsm::Session& s = sessions[static_cast<std::size_t>(t)];
        Bytes m = realdid::RandomBytes(k);
        m[0] = 0;  // < n
        Bytes sig(k);
        CK_MECHANISM mech{CKM_RSA_X_509, nullptr, 0};
        auto one = [&] {
          CK_ULONG len = static_cast<CK_ULONG>(sig.size());
          if (s.fn().C_SignInit(s.handle(), &mech, keys[static_cast<std::size_t>(t)]) != CKR_OK ||
              s.fn().C_Sign(s.handle(), m.data(), static_cast<CK_ULONG>(m.size()), sig.data(),
                            &len) != CKR_OK) {
            failed = true;
          }
        };
        one();
        if (warm.fetch_add(1) + 1 == threads) {
          cpu0 = SelfCpuSeconds();
          w0 = std::chrono::steady_clock::now();
          next = 0;
        }
        while (next.load() < 0) std::this_thread::yield();
        while (next.fetch_add(1) < signs) one();
      });
    }
    for (auto& th : ts) th.join();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    const double cpu_ms = (SelfCpuSeconds() - cpu0) * 1000.0 / static_cast<double>(signs);
    const double rate = static_cast<double>(signs) / wall;
    if (failed) {
      std::printf("hsm_sign_bench: a C_Sign failed\n");
      return 1;
    }
    std::printf("hsm: raw C_Sign CKM_RSA_X_509 (%zu-bit, key %s) %d thread(s): %.1f signs/s, "
                "CPU per signature %.3f ms (%ld signs)\n",
                k * 8, label.c_str(), threads, rate, cpu_ms, signs);
    if (a.count("--json") != 0) {
      std::ofstream out(a["--json"], std::ios::app);
      out << "{\"bench\":\"hsm_sign\",\"bits\":" << k * 8 << ",\"threads\":" << threads
          << ",\"signs\":" << signs << ",\"signs_per_s\":" << rate
          << ",\"cpu_ms_per_sign\":" << cpu_ms << "}\n";
    }
  } catch (const std::exception& e) {
    std::printf("hsm_sign_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
