// reveal_bench: the authority's reveal check (rebuild every opened candidate, compare with the commit)
// on the recorded real issuance docs/examples/issuance-transcript.jsonl (K = 32, RSA-3072), next to
// the cryptographic floor of one opening timed alone in the same run:
//   floor per opening = one RSA public operation (x^e mod n, key set up once, as `openssl speed`)
//                       + 2 x (one P-256 fixed-base multiplication + one ECDH) (two HPKE seals).
//
//   reveal_bench [--transcript FILE] [--iterations N] [--json]
//
// All times are CPU time of the benchmark thread. Deterministic enough to run under `valgrind --tool=callgrind` with --iterations 1 (the profile the
// optimisation in docs/performance.md started from). Not a test: no assertions.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/transcript.h"
#include "core/blind_rsa.h"
#include "core/candidate.h"
#include "core/hpke.h"

namespace {

using realdid::Bytes;

// CPU time of this thread, in ms (robust against other users of a shared machine).
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--json") {
      json = true;
      continue;
    }
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::cerr << "usage: reveal_bench [--transcript FILE] [--iterations N] [--json]\n";
      return 2;
    }
    a[k] = argv[++i];
  }
  const std::string path = a.count("--transcript") ? a["--transcript"]
                                                   : std::string(REALDID_SOURCE_DIR) +
                                                         "/docs/examples/issuance-transcript.jsonl";
  const long iterations = a.count("--iterations") ? std::stol(a["--iterations"]) : 20;
  try {
    const realdid::bench::Transcript t = realdid::bench::LoadTranscript(path);
    const std::size_t opened = t.openings.size();

    // 1. The reveal check as the authority runs it: one call for all openings.
    const double t0 = ThreadCpuMs();
    for (long it = 0; it < iterations; ++it) {
      if (!realdid::bench::CheckAllOpenings(t)) throw std::runtime_error("transcript mismatch");
    }
    const double reveal_ms = (ThreadCpuMs() - t0) / static_cast<double>(iterations);

    // 2. The floor, primitive by primitive, with keys set up once.
    const realdid::bench::FloorTimes f = realdid::bench::TimeFloor(t, iterations * 4);
    const double floor_per_opening = f.rsa_public_ms + 2.0 * (f.ec_base_mul_ms + f.ecdh_ms);
    const double floor_ms = floor_per_opening * static_cast<double>(opened);
    if (json) {
      std::printf(
          "{\"k\":%zu,\"opened\":%zu,\"reveal_check_ms\":%.4f,\"per_opening_ms\":%.4f,"
          "\"rsa_public_ms\":%.5f,\"ec_base_mul_ms\":%.5f,\"ecdh_ms\":%.5f,"
          "\"floor_per_opening_ms\":%.5f,\"floor_ms\":%.4f,\"reveal_efficiency\":%.3f}\n",
          opened + 1, opened, reveal_ms, reveal_ms / static_cast<double>(opened), f.rsa_public_ms,
          f.ec_base_mul_ms, f.ecdh_ms, floor_per_opening, floor_ms, floor_ms / reveal_ms);
    } else {
      std::printf("reveal check, K=%zu (%zu openings), RSA-3072: %.3f ms (%.3f ms per opening)\n",
                  opened + 1, opened, reveal_ms, reveal_ms / static_cast<double>(opened));
      std::printf("floor per opening: RSA public %.4f + 2 x (P-256 base mul %.4f + ECDH %.4f) = "
                  "%.4f ms; all openings %.3f ms\n",
                  f.rsa_public_ms, f.ec_base_mul_ms, f.ecdh_ms, floor_per_opening, floor_ms);
      std::printf("reveal efficiency (floor / reveal check): %.3f\n", floor_ms / reveal_ms);
    }
  } catch (const std::exception& e) {
    std::cerr << "reveal_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
