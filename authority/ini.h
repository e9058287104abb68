// The strict INI reader and value parsers shared by the service configurations
// (authority/config.cc, warrant/config.cc).
//
// Format: "[section]" headers and "key = value" lines; '#' or ';' starts a comment line; only
// known sections and keys, no duplicates, no key outside a section. Every known key may be
// overridden by the environment variable REALDID_<SECTION>_<KEY> (upper case), which takes
// precedence over the file. Values holding control characters are refused.
// Errors: Error(kInvalidInput) whose text starts "config: " and names the line or the key
// ("[server] port: ..."), never a value.
// Thread-safety: pure functions; ApplyIni only touches the config it is given.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace realdid::authority::ini {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// `s` without leading and trailing spaces, tabs and CRs.
std::string Trim(std::string_view s);

// Throws "config: [SECTION] KEY: WHY".
[[noreturn]] void Bad(std::string_view section, std::string_view key, const std::string& why);

// A decimal integer in [min, max].
std::uint64_t ParseUnsigned(std::string_view section, std::string_view key, std::string_view v,
                            std::uint64_t min, std::uint64_t max);

// "<n><unit>" for one of `units` -> n * scale (no range check; the caller checks its range);
// otherwise Bad(expected). n must be at most max_n.
struct Unit {
  std::string_view suffix;
  std::int64_t scale;
};
std::int64_t ParseWithUnit(std::string_view section, std::string_view key, std::string_view v,
                           std::initializer_list<Unit> units, std::uint64_t max_n,
                           const std::string& expected);

// Refuses bytes below 0x20 and 0x7f.
void RequireNoControl(std::string_view section, std::string_view key, std::string_view v);

// The whole file, or "config: cannot open 'PATH'".
std::string ReadConfigFile(const std::string& path);

struct KeyName {
  const char* section;
  const char* key;
};

// Parses `ini_text` (named `source_name` in errors) against the known keys and overlays the
// environment: "section.key" -> value for every key that is set.
std::map<std::string, std::string> ReadValues(std::string_view ini_text,
                                              std::string_view source_name,
                                              const std::vector<KeyName>& keys,
                                              const EnvLookup& env);

// One known key and how it sets a Config field (throwing Bad on a bad value).
template <class Config>
struct KeySpec {
  const char* section;
  const char* key;
  std::function<void(Config&, std::string_view value)> set;
};

// ReadValues, then every set key's setter in `keys` order (after its control-character check).
template <class Config>
void ApplyIni(std::string_view ini_text, std::string_view source_name,
              const std::vector<KeySpec<Config>>& keys, const EnvLookup& env, Config& config) {
  std::vector<KeyName> names;
  names.reserve(keys.size());
  for (const KeySpec<Config>& k : keys) names.push_back(KeyName{k.section, k.key});
  const std::map<std::string, std::string> values = ReadValues(ini_text, source_name, names, env);
  for (const KeySpec<Config>& k : keys) {
    auto it = values.find(std::string(k.section) + "." + k.key);
    if (it == values.end()) continue;
    RequireNoControl(k.section, k.key, it->second);
    k.set(config, it->second);
  }
}

}  // namespace realdid::authority::ini
