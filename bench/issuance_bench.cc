// issuance_bench: N concurrent wallets (threads) through full fair blind issuance against a running
// authority, plus the raw HSM signing rate measured in the same run as the baseline.
//
//   issuance_bench --authority URL --ca FILE --ctid URL --ctid-ca FILE
//                  [--concurrency N] [--count M] [--k K] [--resident-base INDEX]
//                  [--authority-pid PID]
//                  [--hsm-module SO --hsm-token LABEL --hsm-pin-file FILE
//                   (--hsm-key-label LABEL | --keys-manifest keys.json) [--hsm-signs S]]
//
// Prints issuances/s, p50/p99 latency, the authority process's CPU seconds per issuance
// (/proc/<pid>/stat utime+stime before/after) and the raw CKM_RSA_X_509 rate on the same token with
// the same concurrency, and their ratio. Each issuance uses a distinct resident (base + i): a person
// has at most one open session. --k is the K the benchmark expects (the authority chooses K; a
// different K is reported and counted as a failure).
// Not a test: no assertions, run by hand against a stack started by scripts/ or the demo.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base64url.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/json.h"
#include "hsm/config.h"
#include "hsm/token.h"
#include "wallet/client.h"

namespace {

using Clock = std::chrono::steady_clock;

int Usage(const std::string& m) {
  std::cerr << "issuance_bench: " << m
            << "\nusage: issuance_bench --authority URL --ca FILE --ctid URL --ctid-ca FILE "
               "[--concurrency N] [--count M] [--k K] [--resident-base I] [--authority-pid PID] "
               "[--hsm-module SO --hsm-token LABEL --hsm-pin-file FILE (--hsm-key-label L | "
               "--keys-manifest F) [--hsm-signs S]]\n";
  return 2;
}

// utime + stime of a process, in seconds.
double ProcessCpuSeconds(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream ss(text.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (ss >> tok) f.push_back(tok);
  // After "pid (comm) ": field 3 (state) is f[0]; utime is field 14 -> f[11], stime f[12].
  if (f.size() < 13) return -1;
  double ticks = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12]));
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(std::llround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(idx, v.size() - 1)];
}

realdid::hsm::KeyRef BlindKeyFromManifest(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  realdid::json::Value doc = realdid::json::Parse(text);
  for (const auto& k : doc.at("keys").as_array()) {
    if (k.at("role").as_string() == "blind-signing") {
      return {k.at("label").as_string(), realdid::FromHex(k.at("cka_id").as_string())};
    }
  }
  realdid::InvalidInput("no blind-signing key in " + path);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) return Usage("bad argument " + k);
    a[k] = argv[++i];
  }
  for (const char* req : {"--authority", "--ca", "--ctid", "--ctid-ca"}) {
    if (a.count(req) == 0) return Usage(std::string("missing ") + req);
  }
  auto num = [&](const char* k, long def) { return a.count(k) ? std::stol(a[k]) : def; };
  const long concurrency = std::max(1L, num("--concurrency", 1));
  const long count = std::max(1L, num("--count", 20));
  const long expect_k = num("--k", 32);
  const long base = num("--resident-base", 1000);
  const long pid = num("--authority-pid", 0);

  using namespace realdid::wallet;
  HttpsOptions auth_tls;
  auth_tls.ca_file = a["--ca"];
  HttpsOptions ctid_tls;
  ctid_tls.ca_file = a["--ctid-ca"];

  std::atomic<long> next{0};
  std::atomic<long> failures{0};
  std::mutex mu;
  std::vector<double> latencies;  // GUARDED_BY(mu)
  std::string first_error;        // GUARDED_BY(mu)

  double cpu_before = pid > 0 ? ProcessCpuSeconds(pid) : -1;
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (long t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      std::unique_ptr<AuthorityClient> authority_ptr;
      std::unique_ptr<CtidAppClient> ctid_ptr;
      try {
        authority_ptr = std::make_unique<AuthorityClient>(a["--authority"], auth_tls);
        ctid_ptr = std::make_unique<CtidAppClient>(a["--ctid"], ctid_tls);
      } catch (const std::exception& e) {
        failures.fetch_add(1);
        std::lock_guard<std::mutex> l(mu);
        if (first_error.empty()) first_error = e.what();
        return;
      }
      AuthorityClient& authority = *authority_ptr;
      CtidAppClient& ctid = *ctid_ptr;
      for (;;) {
        long i = next.fetch_add(1);
        if (i >= count) return;
        try {
          Resident who = ctid.GetResident(static_cast<std::uint64_t>(base + i));
          TamperForTesting check_k;  // no tampering: only observes K
          long seen_k = 0;
          check_k.session = [&](SessionOffer& o) { seen_k = static_cast<long>(o.k); };
          IssueOptions opts;
          opts.tamper = &check_k;
          auto s = Clock::now();
          IssuedCredential cred = Issue(authority, ctid, who, opts);
          double ms = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
          if (seen_k != expect_k) throw realdid::Error(realdid::ErrorKind::kInternal,
                                                        "authority K " + std::to_string(seen_k) +
                                                            " != --k " + std::to_string(expect_k));
          std::lock_guard<std::mutex> l(mu);
          latencies.push_back(ms);
        } catch (const std::exception& e) {
          failures.fetch_add(1);
          std::lock_guard<std::mutex> l(mu);
          if (first_error.empty()) first_error = e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu_after = pid > 0 ? ProcessCpuSeconds(pid) : -1;

  const double ok = static_cast<double>(latencies.size());
  const double rate = ok / wall;
  std::printf("issuance: K=%ld concurrency=%ld count=%ld ok=%.0f failed=%ld wall=%.2fs\n",
              expect_k, concurrency, count, ok, failures.load(), wall);
  if (!first_error.empty()) std::printf("  first failure: %s\n", first_error.c_str());
  std::printf("  issuances/s: %.2f\n  latency p50: %.1f ms  p99: %.1f ms\n", rate,
              Percentile(latencies, 0.50), Percentile(latencies, 0.99));
  if (pid > 0 && cpu_before >= 0 && cpu_after >= 0 && ok > 0) {
    std::printf("  authority CPU per issuance: %.1f ms (pid %ld, %.2f s total)\n",
                (cpu_after - cpu_before) * 1000.0 / ok, pid, cpu_after - cpu_before);
  }

  if (a.count("--hsm-module") != 0) {
    try {
      realdid::hsm::TokenConfig cfg;
      cfg.module_path = a["--hsm-module"];
      cfg.token_label = a["--hsm-token"];
      cfg.pin = realdid::hsm::ReadPinFile(a["--hsm-pin-file"]);
      cfg.pool_size = static_cast<std::size_t>(concurrency);
      realdid::hsm::KeyRef key;
      if (a.count("--keys-manifest") != 0) {
        key = BlindKeyFromManifest(a["--keys-manifest"]);
      } else {
        key.label = a["--hsm-key-label"];
      }
      auto token = realdid::hsm::Token::Open(cfg);
      realdid::hsm::RsaPublicKey pub = token->RsaPublic(key);
      const long signs = num("--hsm-signs", 200);
      std::atomic<long> n{0};
      auto h0 = Clock::now();
      std::vector<std::thread> hs;
      for (long t = 0; t < concurrency; ++t) {
        hs.emplace_back([&] {
          realdid::Bytes m = realdid::RandomBytes(pub.n.size());
          m[0] = 0;  // < n
          while (n.fetch_add(1) < signs) (void)token->RsaRawPrivate(key, m);
        });
      }
      for (auto& th : hs) th.join();
      double hw = std::chrono::duration<double>(Clock::now() - h0).count();
      double hrate = static_cast<double>(signs) / hw;
      std::printf("hsm: raw CKM_RSA_X_509 (%zu-bit) signs/s: %.1f (concurrency %ld, %ld signs)\n",
                  pub.n.size() * 8, hrate, concurrency, signs);
      std::printf("  issuance rate / raw HSM rate: %.3f\n", rate / hrate);
    } catch (const std::exception& e) {
      std::printf("hsm: baseline failed: %s\n", e.what());
    }
  }
  return failures.load() == 0 ? 0 : 1;
}
