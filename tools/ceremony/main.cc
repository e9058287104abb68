// realdid-ceremony: creates the authority's HSM keys and writes keys.json (public parts only).
//
// Exit codes: 0 done, 1 failure, 2 usage error, 3 refused because the keys already exist.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "core/error.h"
#include "hsm/config.h"
#include "tools/ceremony/ceremony.h"
#include "tools/ceremony/rotate.h"

namespace {

constexpr const char* kUsage =
    "usage: realdid-ceremony --issuance-token LABEL --issuance-pin-file FILE\n"
    "                        --escrow-token LABEL --escrow-pin-file FILE --out DIR\n"
    "                        [--module PATH] [--rsa-bits 2048|3072|4096] [--valid-days N] [--force]\n"
    "Creates the issuance keys (blind RSA, HMAC, audit P-256, data AES-256) and the escrow P-256 key\n"
    "inside the tokens and writes DIR/keys.json with their public parts. Existing keys with the same\n"
    "labels are never overwritten unless --force (which destroys and recreates them).\n"
    "       realdid-ceremony rotate ...   adds a new blind-signing key (rotate --help)\n";

int Usage(const std::string& message) {
  std::cerr << "realdid-ceremony: " << message << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "rotate") return realdid::ceremony::RotateMain(argc, argv);
  realdid::ceremony::Options o;
  std::string issuance_pin_file;
  std::string escrow_pin_file;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--force") {
      o.force = true;
    } else if (arg == "--module") {
      if (!value(o.module_path)) return Usage("--module needs a value");
    } else if (arg == "--issuance-token") {
      if (!value(o.issuance_token)) return Usage("--issuance-token needs a value");
    } else if (arg == "--escrow-token") {
      if (!value(o.escrow_token)) return Usage("--escrow-token needs a value");
    } else if (arg == "--issuance-pin-file") {
      if (!value(issuance_pin_file)) return Usage("--issuance-pin-file needs a value");
    } else if (arg == "--escrow-pin-file") {
      if (!value(escrow_pin_file)) return Usage("--escrow-pin-file needs a value");
    } else if (arg == "--out") {
      if (!value(v)) return Usage("--out needs a value");
      o.out_dir = v;
    } else if (arg == "--rsa-bits") {
      if (!value(v)) return Usage("--rsa-bits needs a value");
      if (v == "2048" || v == "3072" || v == "4096") {
        o.rsa_bits = std::stoi(v);
      } else {
        return Usage("--rsa-bits must be 2048, 3072 or 4096");
      }
    } else if (arg == "--valid-days") {
      if (!value(v)) return Usage("--valid-days needs a value");
      if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(v) < 1 || std::stoi(v) > 3650) {
        return Usage("--valid-days must be 1..3650");
      }
      o.valid_days = std::stoi(v);
    } else if (arg == "--now") {  // testing: pretend the ceremony runs at this Unix time
      if (!value(v)) return Usage("--now needs a value");
      if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) {
        return Usage("--now must be Unix seconds");
      }
      o.now = std::stoll(v);
    } else {
      return Usage("unknown argument: " + std::string(arg));
    }
  }
  if (o.issuance_token.empty() || o.escrow_token.empty() || issuance_pin_file.empty() ||
      escrow_pin_file.empty() || o.out_dir.empty()) {
    return Usage("missing required arguments");
  }
  try {
    o.issuance_pin = realdid::hsm::ReadPinFile(issuance_pin_file);
    o.escrow_pin = realdid::hsm::ReadPinFile(escrow_pin_file);
    std::vector<realdid::ceremony::KeyRecord> keys = realdid::ceremony::Run(o);
    for (const auto& k : keys) {
      std::cout << k.role << "\t" << k.token << "\t" << k.label << "\t" << k.kid << "\n";
    }
    std::cout << "wrote " << (o.out_dir / "keys.json").string() << "\n";
    return 0;
  } catch (const realdid::Error& e) {
    std::cerr << "realdid-ceremony: " << realdid::ErrorKindName(e.kind()) << ": " << e.detail() << "\n";
    return e.kind() == realdid::ErrorKind::kConflict ? 3 : 1;
  } catch (const std::exception& e) {
    std::cerr << "realdid-ceremony: failed: " << e.what() << "\n";
    return 1;
  }
}
