#include "authority/ini.h"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace realdid::authority::ini {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string Trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

void Bad(std::string_view section, std::string_view key, const std::string& why) {
  InvalidInput("config: [" + std::string(section) + "] " + std::string(key) + ": " + why);
}

std::uint64_t ParseUnsigned(std::string_view section, std::string_view key, std::string_view v,
                            std::uint64_t min, std::uint64_t max) {
  std::uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
    Bad(section, key, "expected a non-negative integer");
  }
  if (out < min || out > max) {
    Bad(section, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return out;
}

std::int64_t ParseWithUnit(std::string_view section, std::string_view key, std::string_view v,
                           std::initializer_list<Unit> units, std::uint64_t max_n,
                           const std::string& expected) {
  std::size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  const std::string_view suffix = v.substr(digits);
  std::int64_t scale = 0;
  for (const Unit& u : units) {
    if (suffix == u.suffix) scale = u.scale;
  }
  if (scale == 0) Bad(section, key, expected);
  const auto n =
      static_cast<std::int64_t>(ParseUnsigned(section, key, v.substr(0, digits), 0, max_n));
  return n * scale;
}

void RequireNoControl(std::string_view section, std::string_view key, std::string_view v) {
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) Bad(section, key, "control character");
  }
}

std::string ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("config: cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> ReadValues(std::string_view ini_text,
                                              std::string_view source_name,
                                              const std::vector<KeyName>& keys,
                                              const EnvLookup& env) {
  auto known_section = [&](std::string_view section) {
    for (const KeyName& k : keys) {
      if (section == k.section) return true;
    }
    return false;
  };
  auto known_key = [&](std::string_view section, std::string_view key) {
    for (const KeyName& k : keys) {
      if (section == k.section && key == k.key) return true;
    }
    return false;
  };
  std::map<std::string, std::string> seen;  // "section.key" -> value
  std::string section;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  auto where = [&] { return std::string(source_name) + ":" + std::to_string(line_no) + ": "; };
  while (pos <= ini_text.size()) {
    std::size_t nl = ini_text.find('\n', pos);
    std::string_view raw =
        ini_text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? ini_text.size() + 1 : nl + 1;
    ++line_no;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') InvalidInput("config: " + where() + "malformed section header");
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      if (!known_section(section)) {
        InvalidInput("config: " + where() + "unknown section [" + section + "]");
      }
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string::npos) InvalidInput("config: " + where() + "expected key = value");
    std::string key = Trim(std::string_view(line).substr(0, eq));
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    if (section.empty()) InvalidInput("config: " + where() + "key '" + key + "' outside a section");
    if (!known_key(section, key)) {
      InvalidInput("config: " + where() + "unknown key '" + key + "' in [" + section + "]");
    }
    if (!seen.emplace(section + "." + key, value).second) {
      InvalidInput("config: " + where() + "duplicate key '" + key + "' in [" + section + "]");
    }
  }
  // Environment overrides take precedence over the file.
  for (const KeyName& k : keys) {
    std::string var = "REALDID_" + Upper(k.section) + "_" + Upper(k.key);
    if (auto v = env(var)) seen[std::string(k.section) + "." + k.key] = Trim(*v);
  }
  return seen;
}

}  // namespace realdid::authority::ini
