#include "tools/ceremony/rotate.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string_view>

#include "core/base64url.h"
#include "core/error.h"
#include "core/json.h"
#include "hsm/config.h"

namespace realdid::ceremony {
namespace {

constexpr std::int64_t kDay = 86400;

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) InvalidInput("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Day(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// "YYYY-MM-DD" (00:00 UTC) or Unix seconds.
std::int64_t ParseWhen(std::string_view v) {
  if (v.size() == 10 && v[4] == '-' && v[7] == '-') {
    std::tm tm{};
    std::istringstream in{std::string(v)};
    in >> std::get_time(&tm, "%Y-%m-%d");
    if (in.fail()) InvalidInput("--not-before: expected YYYY-MM-DD or Unix seconds");
    return static_cast<std::int64_t>(timegm(&tm));
  }
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string_view::npos) {
    InvalidInput("--not-before: expected YYYY-MM-DD or Unix seconds");
  }
  return std::stoll(std::string(v));
}

int ParseDays(std::string_view flag, std::string_view v, int min) {
  if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoi(std::string(v)) < min || std::stoi(std::string(v)) > 3650) {
    InvalidInput(std::string(flag) + " must be " + std::to_string(min) + "..3650");
  }
  return std::stoi(std::string(v));
}

}  // namespace

KeyRecord Rotate(const RotateOptions& o) {
  if (o.issuance_token.empty()) InvalidInput("--issuance-token is required");
  if (o.out_dir.empty()) InvalidInput("--out is required");
  if (o.valid_days < 1 || o.valid_days > 3650) InvalidInput("--valid-days must be 1..3650");
  if (o.min_overlap_days < 0 || o.min_overlap_days > 3650) {
    InvalidInput("--min-overlap-days must be 0..3650");
  }
  const std::int64_t now =
      o.now != 0 ? o.now
                 : std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::int64_t today = now - now % kDay;
  const std::filesystem::path manifest_path = o.out_dir / "keys.json";
  json::Value doc = json::Parse(ReadText(manifest_path));
  const json::Value* listed = doc.is_object() ? doc.find("keys") : nullptr;
  if (listed == nullptr || !listed->is_array()) {
    InvalidInput(manifest_path.string() + ": no keys array");
  }
  json::Array keys = listed->as_array();

  // The newest blind-signing key of this token (by nbf).
  const json::Value* newest = nullptr;
  for (const json::Value& k : keys) {
    const json::Value* role = k.find("role");
    const json::Value* token = k.find("token");
    if (role == nullptr || token == nullptr || !role->is_string() || !token->is_string()) continue;
    if (role->as_string() != "blind-signing" || token->as_string() != o.issuance_token) continue;
    if (newest == nullptr || k.at("nbf").as_int() > newest->at("nbf").as_int()) newest = &k;
  }
  if (newest == nullptr) {
    InvalidInput("keys.json has no blind-signing key on token '" + o.issuance_token +
                 "': run the ceremony first");
  }
  const std::int64_t cur_nbf = newest->at("nbf").as_int();
  const std::int64_t cur_exp = newest->at("exp").as_int();
  const std::size_t n_len = b64url::Decode(newest->at("jwk").at("n").as_string()).size();
  const int bits = static_cast<int>(n_len * 8);

  const std::int64_t nbf = o.not_before != 0 ? o.not_before : today + kDay;
  if (nbf % kDay != 0) InvalidInput("--not-before must be 00:00 UTC of a day");
  if (nbf < today) InvalidInput("--not-before lies before today (" + Day(today) + ")");
  if (nbf <= cur_nbf) {
    InvalidInput("--not-before " + Day(nbf) + " must be later than the current key's start " +
                 Day(cur_nbf) + " (a tie leaves no single active key)");
  }
  if (cur_exp < nbf + std::int64_t{o.min_overlap_days} * kDay) {
    InvalidInput("the current key expires " + Day(cur_exp) + ", less than " +
                 std::to_string(o.min_overlap_days) + " days after " + Day(nbf) +
                 ": credentials it signs would stop verifying before they expire; rotate earlier");
  }
  const std::int64_t exp = nbf + std::int64_t{o.valid_days} * kDay;

  KeyRecord created = CreateBlindSigningKey(
      o.module_path, o.issuance_token, o.issuance_pin, bits, [&](const KeyRecord& r) {
        KeyRecord rec = r;
        rec.nbf = nbf;
        rec.exp = exp;
        json::Value entry = Manifest({rec}).at("keys").as_array().front();
        keys.push_back(std::move(entry));
        doc.set("keys", keys);
        const std::filesystem::path tmp = o.out_dir / "keys.json.tmp";
        {
          std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
          out << json::Serialize(doc) << "\n";
          if (!out) Fail(ErrorKind::kInternal, "cannot write " + tmp.string());
        }
        std::filesystem::rename(tmp, manifest_path);
      });
  created.nbf = nbf;
  created.exp = exp;
  return created;
}

int RotateMain(int argc, char** argv) {
  static constexpr const char* kUsage =
      "usage: realdid-ceremony rotate --issuance-token LABEL --issuance-pin-file FILE --out DIR\n"
      "                               [--module PATH] [--not-before YYYY-MM-DD|UNIX]\n"
      "                               [--valid-days N] [--min-overlap-days N]\n"
      "Adds a new blind-signing key (same label, new CKA_ID) whose window opens at --not-before\n"
      "(default: the next 00:00 UTC) and appends it to DIR/keys.json. The current key must stay\n"
      "valid --min-overlap-days (default 30, the credential lifetime) after that.\n";
  RotateOptions o;
  std::string pin_file;
  try {
    for (int i = 2; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (i + 1 >= argc) {
        std::cerr << "realdid-ceremony: " << arg << " needs a value\n" << kUsage;
        return 2;
      }
      const std::string v = argv[++i];
      if (arg == "--module") {
        o.module_path = v;
      } else if (arg == "--issuance-token") {
        o.issuance_token = v;
      } else if (arg == "--issuance-pin-file") {
        pin_file = v;
      } else if (arg == "--out") {
        o.out_dir = v;
      } else if (arg == "--not-before") {
        o.not_before = ParseWhen(v);
      } else if (arg == "--valid-days") {
        o.valid_days = ParseDays(arg, v, 1);
      } else if (arg == "--min-overlap-days") {
        o.min_overlap_days = ParseDays(arg, v, 0);
      } else if (arg == "--now") {  // testing: pretend the rotation runs at this time
        o.now = ParseWhen(v);
      } else {
        std::cerr << "realdid-ceremony: unknown argument: " << arg << "\n" << kUsage;
        return 2;
      }
    }
    if (o.issuance_token.empty() || pin_file.empty() || o.out_dir.empty()) {
      std::cerr << "realdid-ceremony: missing required arguments\n" << kUsage;
      return 2;
    }
    o.issuance_pin = hsm::ReadPinFile(pin_file);
    KeyRecord k = Rotate(o);
    std::cout << k.role << "\t" << k.token << "\t" << k.label << "\t" << k.kid << "\tnbf "
              << Day(k.nbf) << "\texp " << Day(k.exp) << "\n"
              << "appended to " << (o.out_dir / "keys.json").string() << "\n";
    return 0;
  } catch (const Error& e) {
    std::cerr << "realdid-ceremony: " << ErrorKindName(e.kind()) << ": " << e.detail() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "realdid-ceremony: failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace realdid::ceremony
