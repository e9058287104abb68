// issuance_bench: N concurrent wallets (threads) through full fair blind issuance against a running
// authority, plus the raw HSM signing rate measured in the same run as the baseline.
//
//   issuance_bench --authority URL --ca FILE --ctid URL --ctid-ca FILE
//                  [--concurrency N] [--count M] [--k K] [--resident-base INDEX]
//                  [--authority-pid PID] [--ctid-pid PID] [--postgres-pid POSTMASTER_PID]
//                  [--hsm-module SO --hsm-token LABEL --hsm-pin-file FILE
//                   (--hsm-key-label LABEL | --keys-manifest keys.json) [--hsm-signs S]]
//                  [--transcript FILE] [--json FILE]
//
// Prints issuances/s, p50/p99 latency, the authority process's CPU seconds per issuance
// (/proc/<pid>/stat utime+stime before/after) and the raw CKM_RSA_X_509 rate on the same token with
// the same concurrency, and their ratio. Each issuance uses a distinct resident (base + i): a person
// has at most one open session. --k is the K the benchmark expects (the authority chooses K; a
// different K is reported and counted as a failure). CPU per issuance is reported apart for the
// authority, ctid-sim, PostgreSQL (the postmaster and its backends) and the wallets (this process).
// The crypto floor is timed alone in the same run: the HSM's CPU per raw signature (SoftHSM2 runs in
// this process: its CPU over the signing loop / signatures) plus (K-1) x the floor of one opening
// (bench/transcript.h: one RSA public op and two HPKE seals' scalar multiplications, thread CPU
// time). efficiency = floor / authority CPU per issuance; cost of fairness = floor / HSM signature.
// --json appends one JSON object (one line) with every figure.
// Not a test: no assertions, run by hand against a stack started by scripts/ or the demo.
#include <sys/resource.h>
#include <unistd.h>

#include <dirent.h>

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
#include "bench/transcript.h"
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

// CPU seconds of a process and its direct children that are alive (PostgreSQL: the postmaster and
// its backends).
double TreeCpuSeconds(long root) {
  double total = ProcessCpuSeconds(root);
  if (total < 0) return -1;
  DIR* d = opendir("/proc");
  if (d == nullptr) return total;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in("/proc/" + name + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size()) continue;
    std::istringstream ss(text.substr(close + 2));
    std::string state;
    long ppid = 0;
    ss >> state >> ppid;
    if (ppid == root) {
      const double c = ProcessCpuSeconds(std::stol(name));
      if (c > 0) total += c;
    }
  }
  closedir(d);
  return total;
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
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
  const long ctid_pid = num("--ctid-pid", 0);
  const long pg_pid = num("--postgres-pid", 0);

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
  const double ctid_before = ctid_pid > 0 ? ProcessCpuSeconds(ctid_pid) : -1;
  const double pg_before = pg_pid > 0 ? TreeCpuSeconds(pg_pid) : -1;
  const double wallet_before = SelfCpuSeconds();
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
  const double ctid_after = ctid_pid > 0 ? ProcessCpuSeconds(ctid_pid) : -1;
  const double pg_after = pg_pid > 0 ? TreeCpuSeconds(pg_pid) : -1;
  const double wallet_cpu = SelfCpuSeconds() - wallet_before;

  const double ok = static_cast<double>(latencies.size());
  const double rate = ok / wall;
  auto per_issuance_ms = [&](double before, double after) {
    return (before >= 0 && after >= 0 && ok > 0) ? (after - before) * 1000.0 / ok : -1.0;
  };
  const double auth_ms = per_issuance_ms(cpu_before, cpu_after);
  const double ctid_ms = per_issuance_ms(ctid_before, ctid_after);
  const double pg_ms = per_issuance_ms(pg_before, pg_after);
  const double wallet_ms = ok > 0 ? wallet_cpu * 1000.0 / ok : -1.0;
  const double p50 = Percentile(latencies, 0.50);
  const double p99 = Percentile(latencies, 0.99);
  std::printf("issuance: K=%ld concurrency=%ld count=%ld ok=%.0f failed=%ld wall=%.2fs\n",
              expect_k, concurrency, count, ok, failures.load(), wall);
  if (!first_error.empty()) std::printf("  first failure: %s\n", first_error.c_str());
  std::printf("  issuances/s: %.2f\n  latency p50: %.1f ms  p99: %.1f ms\n", rate, p50, p99);
  std::printf("  CPU per issuance (ms): authority %.2f  postgres %.2f  ctid-sim %.2f  wallets %.2f\n",
              auth_ms, pg_ms, ctid_ms, wallet_ms);

  // Baseline 1: the raw HSM signature on the same token and key, at the same concurrency.
  double hrate = -1, hsm_cpu_ms = -1;
  std::size_t mod_bits = 0;
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
      mod_bits = pub.n.size() * 8;
      const long signs = num("--hsm-signs", 200);
      std::atomic<long> n{0};
      const double self0 = SelfCpuSeconds();
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
      hsm_cpu_ms = (SelfCpuSeconds() - self0) * 1000.0 / static_cast<double>(signs);
      hrate = static_cast<double>(signs) / hw;
      std::printf("hsm: raw CKM_RSA_X_509 (%zu-bit) signs/s: %.1f, CPU per signature %.3f ms "
                  "(concurrency %ld, %ld signs)\n",
                  mod_bits, hrate, hsm_cpu_ms, concurrency, signs);
      std::printf("  issuance rate / raw HSM rate: %.3f\n", rate / hrate);
    } catch (const std::exception& e) {
      std::printf("hsm: baseline failed: %s\n", e.what());
    }
  }

  // Baseline 2: the crypto floor of one opening, timed alone (RSA-3072 from the transcript).
  double opening_floor_ms = -1;
  if (a.count("--transcript") != 0) {
    try {
      const realdid::bench::Transcript t = realdid::bench::LoadTranscript(a["--transcript"]);
      const realdid::bench::FloorTimes f = realdid::bench::TimeFloor(t, 400);
      opening_floor_ms = f.rsa_public_ms + 2.0 * (f.ec_base_mul_ms + f.ecdh_ms);
    } catch (const std::exception& e) {
      std::printf("floor: failed: %s\n", e.what());
    }
  }
  double floor_ms = -1, efficiency = -1, fairness = -1;
  if (hsm_cpu_ms > 0 && opening_floor_ms > 0) {
    floor_ms = hsm_cpu_ms + static_cast<double>(expect_k - 1) * opening_floor_ms;
    fairness = floor_ms / hsm_cpu_ms;
    std::printf("floor: HSM signature %.3f ms + %ld x opening %.4f ms = %.3f ms; cost of fairness "
                "(floor / HSM signature) %.2f\n",
                hsm_cpu_ms, expect_k - 1, opening_floor_ms, floor_ms, fairness);
    if (auth_ms > 0) {
      efficiency = floor_ms / auth_ms;
      std::printf("  issuance efficiency (floor / authority CPU per issuance): %.3f\n", efficiency);
    }
  }
  if (a.count("--json") != 0) {
    std::ofstream out(a["--json"], std::ios::app);
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "{\"bench\":\"issuance\",\"k\":%ld,\"concurrency\":%ld,\"ok\":%.0f,"
                  "\"failed\":%ld,\"wall_s\":%.3f,\"issuances_per_s\":%.3f,\"p50_ms\":%.2f,"
                  "\"p99_ms\":%.2f,\"cpu_ms\":{\"authority\":%.3f,\"postgres\":%.3f,"
                  "\"ctid_sim\":%.3f,\"wallets\":%.3f},\"hsm\":{\"bits\":%zu,"
                  "\"signs_per_s\":%.2f,\"cpu_ms_per_sign\":%.4f},\"rate_vs_hsm\":%.4f,"
                  "\"opening_floor_ms\":%.5f,\"floor_ms\":%.4f,\"cost_of_fairness\":%.3f,"
                  "\"efficiency\":%.4f}\n",
                  expect_k, concurrency, ok, failures.load(), wall, rate, p50, p99, auth_ms, pg_ms,
                  ctid_ms, wallet_ms, mod_bits, hrate, hsm_cpu_ms, hrate > 0 ? rate / hrate : -1.0,
                  opening_floor_ms, floor_ms, fairness, efficiency);
    out << buf;
  }
  return failures.load() == 0 ? 0 : 1;
}
