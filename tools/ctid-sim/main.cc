// ctid-sim: the CTID simulator (docs/protocol.md section 6; tools/ctid-sim/simulator.h).
//
//   ctid-sim --cert FILE --key FILE --client-ca FILE [--listen HOST:PORT] [--seed N]
//            [--population N] [--today YYYY-MM-DD] [--latency-ms N] [--latency-jitter-ms N]
//            [--failure-rate R] [--token-ttl-seconds N] [--log-level debug|info|warn|error]
//
// Prints "ctid-sim <url>" on stdout once it listens; JSON logs on stderr (no identity data);
// SIGTERM/SIGINT stop it gracefully (exit 0). Exit 1 on a startup error, 2 on bad usage.
#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "authority/log.h"
#include "authority/shutdown_signal.h"
#include "core/error.h"
#include "tools/ctid-sim/simulator.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace)

constexpr const char* kUsage =
    "usage: ctid-sim --cert FILE --key FILE --client-ca FILE [--listen HOST:PORT]\n"
    "                [--seed N] [--population N] [--today YYYY-MM-DD]\n"
    "                [--latency-ms N] [--latency-jitter-ms N] [--failure-rate 0.0..1.0]\n"
    "                [--token-ttl-seconds N] [--log-level debug|info|warn|error]\n"
    "defaults: --listen 127.0.0.1:8444 --seed 1 --population 1000000 --latency-ms 0\n"
    "          --latency-jitter-ms 0 --failure-rate 0 --token-ttl-seconds 300 --log-level info\n";

struct UsageError {
  std::string what;
};

std::uint64_t ParseU64(std::string_view flag, std::string_view v) {
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
    throw UsageError{std::string(flag) + ": expected a non-negative integer"};
  }
  return out;
}

double ParseRate(std::string_view flag, std::string_view v) {
  try {
    std::size_t used = 0;
    double d = std::stod(std::string(v), &used);
    if (used != v.size() || !(d >= 0.0 && d <= 1.0)) throw UsageError{""};
    return d;
  } catch (...) {
    throw UsageError{std::string(flag) + ": expected a number in 0.0..1.0"};
  }
}

idnumber::CivilDate ParseDate(std::string_view v) {
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') throw UsageError{"--today: expected YYYY-MM-DD"};
  idnumber::CivilDate d;
  d.year = static_cast<int>(ParseU64("--today", v.substr(0, 4)));
  d.month = static_cast<unsigned>(ParseU64("--today", v.substr(5, 2)));
  d.day = static_cast<unsigned>(ParseU64("--today", v.substr(8, 2)));
  if (!idnumber::IsValidDate(d)) throw UsageError{"--today: not a valid date"};
  return d;
}

authority::LogLevel ParseLevel(std::string_view v) {
  if (v == "debug") return authority::LogLevel::kDebug;
  if (v == "info") return authority::LogLevel::kInfo;
  if (v == "warn") return authority::LogLevel::kWarn;
  if (v == "error") return authority::LogLevel::kError;
  throw UsageError{"--log-level: expected debug, info, warn or error"};
}

void ParseListen(std::string_view v, ctidsim::SimConfig& c) {
  std::size_t colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw UsageError{"--listen: expected HOST:PORT"};
  std::string_view host = v.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::uint64_t port = ParseU64("--listen", v.substr(colon + 1));
  if (port > 65535) throw UsageError{"--listen: port out of range"};
  c.listen_address = std::string(host);
  c.port = static_cast<std::uint16_t>(port);
}

}  // namespace

int main(int argc, char** argv) {
  ctidsim::SimConfig config;
  authority::LogLevel level = authority::LogLevel::kInfo;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      }
      std::string_view value;
      std::size_t eq = arg.find('=');
      std::string_view flag = arg.substr(0, eq);
      if (eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        throw UsageError{std::string(flag) + ": missing value"};
      }
      if (flag == "--listen") {
        ParseListen(value, config);
      } else if (flag == "--cert") {
        config.cert_file = std::string(value);
      } else if (flag == "--key") {
        config.key_file = std::string(value);
      } else if (flag == "--client-ca") {
        config.client_ca_file = std::string(value);
      } else if (flag == "--seed") {
        config.seed = ParseU64(flag, value);
      } else if (flag == "--population") {
        config.population = ParseU64(flag, value);
      } else if (flag == "--today") {
        config.today = ParseDate(value);
      } else if (flag == "--latency-ms") {
        config.latency = std::chrono::milliseconds(ParseU64(flag, value));
      } else if (flag == "--latency-jitter-ms") {
        config.latency_jitter = std::chrono::milliseconds(ParseU64(flag, value));
      } else if (flag == "--failure-rate") {
        config.failure_rate = ParseRate(flag, value);
      } else if (flag == "--token-ttl-seconds") {
        config.token_ttl = std::chrono::seconds(ParseU64(flag, value));
      } else if (flag == "--log-level") {
        level = ParseLevel(value);
      } else {
        throw UsageError{std::string(flag) + ": unknown option"};
      }
    }
    if (config.cert_file.empty() || config.key_file.empty() || config.client_ca_file.empty()) {
      throw UsageError{"--cert, --key and --client-ca are required"};
    }
  } catch (const UsageError& e) {
    std::fprintf(stderr, "ctid-sim: %s\n%s", e.what.c_str(), kUsage);
    return 2;
  }

  try {
    authority::Logger::Global().SetLevel(level);
    authority::ShutdownSignal signals;  // before any thread starts
    ctidsim::CtidSimulator sim(config);
    sim.Start();
    std::cout << "ctid-sim " << sim.url() << std::endl;
    authority::LogInfo("ctid-sim started",
                       {{"url", sim.url()},
                        {"population", config.population},
                        {"seed", config.seed},
                        {"failure_ppm", static_cast<std::int64_t>(sim.stats().failure_ppm)},
                        {"latency_ms", static_cast<std::int64_t>(config.latency.count())}});
    int sig = signals.Wait();
    authority::LogInfo("ctid-sim shutdown requested", {{"signal", sig}});
    bool drained = sim.Stop();
    authority::LogInfo("ctid-sim stopped", {{"drained", drained}});
    return 0;
  } catch (const Error& e) {
    authority::LogError("ctid-sim startup failed",
                        {{"kind", ErrorKindName(e.kind())}, {"detail", e.detail()}});
    std::fprintf(stderr, "ctid-sim: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ctid-sim: %s\n", e.what());
    return 1;
  }
}
