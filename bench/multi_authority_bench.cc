// multi_authority_bench: full issuance through one, then two realdid-authority processes that
// share one PostgreSQL database and one SoftHSM2 token (issue 9: the service is stateless), with
// client-side round robin (tests/e2e/round_robin.h: every protocol step goes to the next process).
// Starts its own stack (tests/e2e/stack.h: PostgreSQL, SoftHSM2 + ceremony, ctid-sim, authority).
//
//   multi_authority_bench [--concurrency C (4)] [--count N (40)] [--k K (32)] [--rsa-bits B (3072)]
//                         [--json FILE]
//
// Prints, per phase: issuances/s, p50/p99 latency, CPU seconds per issuance of the authority
// processes (summed over both; /proc/<pid>/stat), and the two-process rate as a ratio of the
// one-process rate measured in the same run. Every phase uses fresh residents. Not a test.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/round_robin.h"
#include "tests/e2e/stack.h"
#include "wallet/client.h"

namespace {

using Clock = std::chrono::steady_clock;

// (ppid, comm, utime+stime seconds) of a process.
struct Stat {
  long ppid = 0;
  std::string comm;
  double cpu = 0;
};
bool ReadStat(long pid, Stat* out) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return false;
  out->comm = text.substr(open + 1, close - open - 1);
  std::istringstream ss(text.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (ss >> tok) f.push_back(tok);
  if (f.size() < 13) return false;
  out->ppid = std::stol(f[1]);
  out->cpu = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
             static_cast<double>(::sysconf(_SC_CLK_TCK));
  return true;
}

// CPU seconds of every realdid-authority child of this process.
double AuthorityCpu(int* processes) {
  double total = 0;
  *processes = 0;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return -1;
  const long self = static_cast<long>(::getpid());
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    Stat s;
    if (ReadStat(pid, &s) && s.ppid == self && s.comm.rfind("realdid-authori", 0) == 0) {
      total += s.cpu;
      ++*processes;
    }
  }
  ::closedir(d);
  return total;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(std::llround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(idx, v.size() - 1)];
}

struct Phase {
  std::string name;
  double rate = 0;
  double p50 = 0;
  double p99 = 0;
  double cpu_ms = 0;
  long failed = 0;
};

Phase Run(const std::string& name, const realdid::testing::E2eStack& stack,
          const std::vector<std::string>& urls, long concurrency, long count, long base) {
  std::atomic<long> next{0};
  std::atomic<long> failed{0};
  std::mutex mu;
  std::vector<double> ms;  // GUARDED_BY(mu)
  std::string first_error;  // GUARDED_BY(mu)
  int procs = 0;
  const double cpu0 = AuthorityCpu(&procs);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (long t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      try {
        realdid::testing::RoundRobinWallet rr(urls, stack.AuthorityTls(),
                                              static_cast<std::size_t>(t));
        realdid::wallet::CtidAppClient ctid(stack.ctid_url(), stack.CtidTls());
        for (;;) {
          long i = next.fetch_add(1);
          if (i >= count) return;
          try {
            auto who = ctid.GetResident(static_cast<std::uint64_t>(base + i));
            auto s = Clock::now();
            (void)rr.Issue(ctid, who, stack.authority_url());
            double d = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
            std::lock_guard<std::mutex> l(mu);
            ms.push_back(d);
          } catch (const std::exception& e) {
            failed.fetch_add(1);
            std::lock_guard<std::mutex> l(mu);
            if (first_error.empty()) first_error = e.what();
          }
        }
      } catch (const std::exception& e) {
        failed.fetch_add(1);
        std::lock_guard<std::mutex> l(mu);
        if (first_error.empty()) first_error = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu1 = AuthorityCpu(&procs);
  Phase p;
  p.name = name;
  p.rate = static_cast<double>(ms.size()) / wall;
  p.p50 = Percentile(ms, 0.5);
  p.p99 = Percentile(ms, 0.99);
  p.cpu_ms = ms.empty() ? 0 : (cpu1 - cpu0) * 1000.0 / static_cast<double>(ms.size());
  p.failed = failed.load();
  std::printf("%-34s %2d process(es) c=%ld n=%ld: %6.2f issuances/s  p50 %7.1f ms  p99 %7.1f ms"
              "  authority CPU %6.1f ms/issuance  failed %ld\n",
              name.c_str(), static_cast<int>(urls.size()), concurrency, count, p.rate, p.p50,
              p.p99, p.cpu_ms, p.failed);
  if (!first_error.empty()) std::printf("  first failure: %s\n", first_error.c_str());
  std::fflush(stdout);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::cerr << "usage: multi_authority_bench [--concurrency C] [--count N] [--k K] "
                   "[--rsa-bits B] [--json FILE]\n";
      return 2;
    }
    a[k] = argv[++i];
  }
  auto num = [&](const char* k, long def) { return a.count(k) ? std::stol(a[k]) : def; };
  const long concurrency = std::max(1L, num("--concurrency", 4));
  const long count = std::max(1L, num("--count", 40));
  // The stack finds the binaries under REALDID_BINARY_DIR (default: this build tree).
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) ::setenv("REALDID_BINARY_DIR", exe.parent_path().parent_path().c_str(), 0);
  try {
    realdid::testing::StackOptions options;
    options.k = static_cast<int>(num("--k", 32));
    options.min_k = std::min(options.k, 16);
    options.rsa_bits = static_cast<int>(num("--rsa-bits", 3072));
    realdid::testing::E2eStack stack(options);
    const std::string first = stack.authority_url();
    std::printf("multi_authority_bench: K=%d RSA-%d, %u hardware threads on this machine\n",
                options.k, options.rsa_bits, std::thread::hardware_concurrency());
    // Warm-up (connections, caches), not reported.
    (void)Run("warm-up", stack, {first}, 1, 2, 90000);
    Phase one = Run("one authority", stack, {first}, concurrency, count, 1000);
    const std::string second = stack.StartExtraAuthority();
    (void)Run("warm-up", stack, {second}, 1, 2, 90010);
    Phase two = Run("two authorities, round robin", stack, {first, second}, concurrency, count,
                    1000 + count);
    const double ratio = one.rate > 0 ? two.rate / one.rate : 0;
    std::printf("two-process rate / one-process rate: %.2f (CPU per issuance %.2f of one)\n",
                ratio, one.cpu_ms > 0 ? two.cpu_ms / one.cpu_ms : 0);
    if (a.count("--json") != 0) {
      std::ofstream j(a["--json"], std::ios::trunc);
      j << "{\"benchmark\":\"multi_authority\",\"k\":" << options.k
        << ",\"rsa_bits\":" << options.rsa_bits << ",\"concurrency\":" << concurrency
        << ",\"count\":" << count << ",\"phases\":[";
      bool firstp = true;
      for (const Phase* p : {&one, &two}) {
        j << (firstp ? "" : ",") << "{\"name\":\"" << p->name << "\",\"issuances_per_s\":"
          << p->rate << ",\"p50_ms\":" << p->p50 << ",\"p99_ms\":" << p->p99
          << ",\"authority_cpu_ms\":" << p->cpu_ms << ",\"failed\":" << p->failed << "}";
        firstp = false;
      }
      j << "],\"ratio\":" << ratio << "}\n";
    }
    return one.failed + two.failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "multi_authority_bench: %s\n", e.what());
    return 1;
  }
}
