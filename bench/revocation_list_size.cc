// revocation_list_size: bytes of a signed revocation list (docs/protocol.md 10) with N revocation
// ids, for N = 10^3 .. 10^6 (or the N given as arguments), and the time to build+sign and to
// verify+parse it on this host. The signature is made with a host P-256 key (the authority signs
// the same signing input in the HSM; size is identical). Output: one JSON line per N.
//   bench/revocation_list_size [N...]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/revocation_list.h"

int main(int argc, char** argv) {
  using namespace realdid;  // NOLINT(google-build-using-namespace)
  using Clock = std::chrono::steady_clock;
  std::vector<std::size_t> sizes = {1000, 10000, 100000, 1000000};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(static_cast<std::size_t>(std::stoull(argv[i])));
  }
  jws::PrivateKey key = jws::PrivateKey::GenerateEcP256();
  const std::string kid = jwk::Kid(key.Public().Jwk());
  for (std::size_t n : sizes) {
    revocation::List l;
    l.kid = std::string(43, 'A');
    l.version = 1;
    l.issued_at = 1700000000;
    l.next_update = l.issued_at + 86400;
    Bytes all = RandomBytes(n * 32);
    l.ids.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      l.ids.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i * 32),
                         all.begin() + static_cast<std::ptrdiff_t>(i * 32 + 32));
    }
    std::sort(l.ids.begin(), l.ids.end());
    l.ids.erase(std::unique(l.ids.begin(), l.ids.end()), l.ids.end());
    auto t0 = Clock::now();
    std::string jws = revocation::SignWithKey(l, key, kid);
    auto t1 = Clock::now();
    revocation::List back = revocation::Verify(jws, key.Public(), kid, false);
    auto t2 = Clock::now();
    const double sign_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double verify_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::printf(
        "{\"ids\":%zu,\"signed_bytes\":%zu,\"bytes_per_id\":%.2f,\"build_sign_ms\":%.1f,"
        "\"verify_parse_ms\":%.1f}\n",
        back.ids.size(), jws.size(), static_cast<double>(jws.size()) / static_cast<double>(n),
        sign_ms, verify_ms);
  }
  return 0;
}
