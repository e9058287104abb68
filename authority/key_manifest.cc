#include "authority/key_manifest.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json.h"

namespace realdid::authority {

std::vector<ManifestKey> ParseKeyManifest(std::string_view text) {
  json::Value doc = json::Parse(text);
  if (doc.at("version").as_int() != 1) InvalidInput("key manifest: unsupported version");
  std::vector<ManifestKey> out;
  for (const json::Value& k : doc.at("keys").as_array()) {
    ManifestKey key;
    key.role = k.at("role").as_string();
    key.token = k.at("token").as_string();
    key.label = k.at("label").as_string();
    key.kid = k.at("kid").as_string();
    key.cka_id = FromHex(k.at("cka_id").as_string());
    key.alg = k.at("alg").as_string();
    if (const json::Value* jwk = k.find("jwk")) key.jwk = *jwk;
    if (const json::Value* nbf = k.find("nbf")) key.nbf = nbf->as_int();
    if (const json::Value* exp = k.find("exp")) key.exp = exp->as_int();
    if (key.nbf.has_value() != key.exp.has_value() || (key.nbf && *key.exp <= *key.nbf)) {
      InvalidInput("key manifest: nbf and exp must come together with exp > nbf");
    }
    if (key.label.empty() || key.token.empty() || key.cka_id.empty()) {
      InvalidInput("key manifest: empty token, label or cka_id");
    }
    out.push_back(std::move(key));
  }
  return out;
}

std::vector<ManifestKey> LoadKeyManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("[hsm] keys_manifest: cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return ParseKeyManifest(ss.str());
  } catch (const Error& e) {
    InvalidInput("[hsm] keys_manifest: '" + path + "': " + std::string(e.detail()));
  }
}

}  // namespace realdid::authority
