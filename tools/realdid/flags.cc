#include "tools/realdid/flags.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "wallet/client.h"

namespace realdid::cli {
namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  for (const std::string& n : names) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace

bool ParseFlags(int argc, char** argv, int first, const std::vector<std::string>& allowed,
                Flags& out, std::string& error, const std::vector<std::string>& switches) {
  for (int i = first; i < argc; ++i) {
    const std::string flag = argv[i];
    if (Contains(switches, flag)) {
      out[flag] = "1";
      continue;
    }
    if (!Contains(allowed, flag)) {
      error = "unknown argument: " + flag;
      return false;
    }
    if (i + 1 >= argc) {
      error = flag + " needs a value";
      return false;
    }
    if (!out.emplace(flag, argv[++i]).second) {
      error = flag + " given twice";
      return false;
    }
  }
  return true;
}

bool Require(const Flags& f, const std::vector<std::string>& names, std::string& error) {
  for (const std::string& n : names) {
    if (f.count(n) == 0) {
      error = "missing " + n;
      return false;
    }
  }
  return true;
}

int UsageError(const char* usage, const std::string& message) {
  std::cerr << "realdid: " << message << "\n" << usage;
  return 2;
}

std::int64_t NowFlag(const Flags& f) {
  auto it = f.find("--now");
  if (it == f.end()) return wallet::SystemNow();
  const std::string& v = it->second;
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
    InvalidInput("--now must be a non-negative integer");
  }
  return std::stoll(v);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimEnd(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) InvalidInput("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) InvalidInput("cannot write " + path);
}

wallet::HttpsOptions CaOnly(const std::string& ca) {
  wallet::HttpsOptions o;
  o.ca_file = ca;
  return o;
}

}  // namespace realdid::cli
