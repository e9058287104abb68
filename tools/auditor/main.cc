// realdid-auditor: the auditor's command line for the warrant component (mutual TLS with the
// auditor's own certificate; approvals signed by the auditor's own PKCS#11 token).
//
//   realdid-auditor keygen  TOKEN-OPTS                       -> public JWK (for the roster)
//   realdid-auditor pubkey  TOKEN-OPTS                       -> public JWK of the existing key
//   realdid-auditor cert-sha256 CERT.pem                     -> b64url SHA-256 of the DER
//   realdid-auditor file    CONN --legal-basis S --case S (--credential-file F | --person ID)
//                                [--action resolve|revoke] --expires-in SECONDS
//   realdid-auditor show    CONN ID
//   realdid-auditor approve CONN TOKEN-OPTS ID               fetch, recompute the hash, sign, send
//   realdid-auditor execute CONN ID [--credential-file F]
//   realdid-auditor withdraw CONN ID
//   realdid-auditor roster  CONN
//   realdid-auditor roster-propose CONN (add --label L --cert CERT.pem --jwk-file F |
//                                        remove --auditor ID) --expires-in SECONDS
//   realdid-auditor roster-approve CONN TOKEN-OPTS ID
// CONN: --url URL --ca CA.pem --cert CLIENT.pem --key CLIENT.key
// TOKEN-OPTS: --module SO --token LABEL --pin-file FILE [--key-label LABEL]
// Answers are printed as JSON on stdout; a refusal prints the problem on stderr and exits 1; bad
// usage exits 2. The tool never prints a PIN; `approve` refuses a warrant whose content is not
// canonical or whose hash is not the one the component states.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"
#include "hsm/config.h"
#include "tools/auditor/auditor_key.h"
#include "wallet/https_client.h"
#include "warrant/content.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace)

class Usage : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;

  std::string Need(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end() || it->second.empty()) throw Usage("missing --" + name);
    return it->second;
  }
  std::string Get(const std::string& name, const std::string& fallback = {}) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  bool Has(const std::string& name) const { return options.count(name) != 0; }
};

Args ParseArgs(int argc, char** argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      if (i + 1 >= argc) throw Usage("option " + s + " needs a value");
      a.options[s.substr(2)] = argv[++i];
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

auditor::TokenOptions TokenOpts(const Args& a) {
  auditor::TokenOptions o;
  o.module_path = a.Get("module", o.module_path);
  o.token_label = a.Need("token");
  o.pin = hsm::ReadPinFile(a.Need("pin-file"));
  o.key_label = a.Get("key-label", auditor::kDefaultKeyLabel);
  return o;
}

std::unique_ptr<wallet::HttpsClient> Connect(const Args& a) {
  wallet::HttpsOptions o;
  o.ca_file = a.Need("ca");
  o.client_cert_file = a.Get("cert");
  o.client_key_file = a.Get("key");
  return std::make_unique<wallet::HttpsClient>(a.Need("url"), o);
}

std::int64_t ParseId(const std::string& s) {
  try {
    std::size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size() || v <= 0) throw Usage("bad id '" + s + "'");
    return v;
  } catch (const std::logic_error&) {
    throw Usage("bad id '" + s + "'");
  }
}

std::string Id(const Args& a) {
  if (a.positional.size() != 1) throw Usage("expected one ID");
  return std::to_string(ParseId(a.positional[0]));
}

std::int64_t ExpiresAt(const Args& a) {
  std::int64_t in = ParseId(a.Need("expires-in"));
  return static_cast<std::int64_t>(std::time(nullptr)) + in;
}

// Prints the body; a non-2xx answer is a refusal (exit 1).
int Answer(const wallet::HttpResponse& r) {
  if (r.status >= 200 && r.status < 300) {
    std::cout << r.body << "\n";
    return 0;
  }
  std::cerr << "realdid-auditor: refused: " << wallet::ParseProblem(r).Describe() << "\n";
  return 1;
}

std::string CertSha256(const std::string& pem_path) {
  std::string pem = Slurp(pem_path);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (x == nullptr) InvalidInput("'" + pem_path + "' holds no PEM certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  X509_free(x);
  if (len <= 0) InvalidInput("cannot encode the certificate");
  Bytes d(der, der + len);
  OPENSSL_free(der);
  return b64url::Encode(hash::Sha256(d));
}

// GET a document, check its content is canonical and hashes to the stated hash, sign, POST.
int ApproveDocument(const Args& a, const std::string& get_path, warrant::ApprovalKind kind) {
  auto client = Connect(a);
  wallet::HttpResponse r = client->Get(get_path);
  if (r.status != 200) return Answer(r);
  json::Value doc = json::Parse(r.body);
  const std::string& content = doc.at("content").as_string();
  if (kind == warrant::ApprovalKind::kWarrant) {
    (void)warrant::ParseWarrant(content);
  } else {
    (void)warrant::ParseRosterChange(content);
  }
  Bytes h = warrant::ContentHash(content);
  if (b64url::Encode(h) != doc.at("content_hash").as_string()) {
    Fail(ErrorKind::kCryptoFailure, "the component's content hash is not the hash of the content");
  }
  std::cerr << "approving: " << content << "\n";
  Bytes sig = auditor::SignApproval(TokenOpts(a), kind, h);
  json::Value body = json::Object{};
  body.set("signature", b64url::Encode(sig));
  return Answer(client->Post(get_path + "/approvals", json::Serialize(body)));
}

int Run(const std::string& cmd, const Args& a) {
  if (cmd == "keygen") {
    std::cout << json::Serialize(auditor::GenerateApprovalKey(TokenOpts(a))) << "\n";
    return 0;
  }
  if (cmd == "pubkey") {
    std::cout << json::Serialize(auditor::ApprovalPublicKey(TokenOpts(a))) << "\n";
    return 0;
  }
  if (cmd == "cert-sha256") {
    if (a.positional.size() != 1) throw Usage("expected CERT.pem");
    std::cout << CertSha256(a.positional[0]) << "\n";
    return 0;
  }
  if (cmd == "file") {
    json::Value scope = json::Object{};
    if (a.Has("credential-file")) {
      std::string cred = Slurp(a.Need("credential-file"));
      while (!cred.empty() && (cred.back() == '\n' || cred.back() == '\r')) cred.pop_back();
      std::string jwt = cred.substr(0, cred.find('~'));
      scope.set("credential_sha256", b64url::Encode(hash::Sha256(jwt)));
    } else if (a.Has("credential-sha256")) {
      scope.set("credential_sha256", a.Need("credential-sha256"));
    } else {
      scope.set("person_id", ParseId(a.Need("person")));
    }
    json::Value body = json::Object{};
    body.set("legal_basis", a.Need("legal-basis"));
    body.set("case_reference", a.Need("case"));
    body.set("scope", std::move(scope));
    body.set("action", a.Get("action", "resolve"));
    body.set("expires_at", ExpiresAt(a));
    return Answer(Connect(a)->Post("/v1/warrants", json::Serialize(body)));
  }
  if (cmd == "show") return Answer(Connect(a)->Get("/v1/warrants/" + Id(a)));
  if (cmd == "approve") {
    return ApproveDocument(a, "/v1/warrants/" + Id(a), warrant::ApprovalKind::kWarrant);
  }
  if (cmd == "execute") {
    json::Value body = json::Object{};
    if (a.Has("credential-file")) {
      std::string cred = Slurp(a.Need("credential-file"));
      while (!cred.empty() && (cred.back() == '\n' || cred.back() == '\r')) cred.pop_back();
      body.set("credential", cred);
    }
    return Answer(Connect(a)->Post("/v1/warrants/" + Id(a) + "/execute", json::Serialize(body)));
  }
  if (cmd == "withdraw") return Answer(Connect(a)->Post("/v1/warrants/" + Id(a) + "/withdraw", "{}"));
  if (cmd == "roster") return Answer(Connect(a)->Get("/v1/roster"));
  if (cmd == "roster-propose") {
    if (a.positional.size() != 1) throw Usage("expected add or remove");
    json::Value body = json::Object{};
    body.set("op", a.positional[0]);
    if (a.positional[0] == "add") {
      body.set("label", a.Need("label"));
      body.set("cert_sha256", CertSha256(a.Need("cert-file")));
      body.set("public_jwk", json::Parse(Slurp(a.Need("jwk-file"))));
    } else if (a.positional[0] == "remove") {
      body.set("auditor_id", ParseId(a.Need("auditor")));
    } else {
      throw Usage("expected add or remove");
    }
    body.set("expires_at", ExpiresAt(a));
    return Answer(Connect(a)->Post("/v1/roster/changes", json::Serialize(body)));
  }
  if (cmd == "roster-approve") {
    return ApproveDocument(a, "/v1/roster/changes/" + Id(a), warrant::ApprovalKind::kRoster);
  }
  throw Usage("unknown command '" + cmd + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::fputs(
        "usage: realdid-auditor keygen|pubkey|cert-sha256|file|show|approve|execute|withdraw|"
        "roster|roster-propose|roster-approve ...\n"
        "  connection: --url URL --ca CA.pem --cert CLIENT.pem --key CLIENT.key\n"
        "  token: --module SO --token LABEL --pin-file FILE [--key-label LABEL]\n",
        argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  try {
    return Run(argv[1], ParseArgs(argc, argv, 2));
  } catch (const Usage& u) {
    std::fprintf(stderr, "realdid-auditor: %s\n", u.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "realdid-auditor: %s\n", e.what());
    return 1;
  }
}
