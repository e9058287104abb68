// Hostile input against the real stack (tests/e2e/stack.h), driven by docs/openapi.json: every
// operation the document lists (so an operation is covered as soon as it is documented) gets
// malformed JSON, wrong types, huge numbers, deep nesting, duplicate keys, unknown fields,
// non-canonical/padded base64url, invalid RSA values (B >= n) and curve points, truncated and
// oversized messages, wrong content types, bodies of tens of megabytes, very long headers,
// malformed request heads, wrong methods, hostile path parameters and credentials, and slow
// clients. Every answer must be a 4xx RFC 9457 problem document (no 5xx, no bodiless answer, no
// crash); the oversized body's 413 must arrive while the client is still sending; the row counts
// of every table must not change except where the protocol defines a write for a refused request
// (strikes and their audit rows, rate counters); /readyz must answer 200 afterwards, and a full
// issuance must still work. Requests per category are printed at the end (and written to
// $REALDID_HOSTILE_REPORT when set).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/base64url.h"
#include "core/bytes.h"
#include "core/json.h"
#include "tests/e2e/stack.h"
#include "tests/hostile/raw_tls.h"
#include "wallet/client.h"
#include "wallet/issuance.h"

namespace realdid::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// ---- A JSON tree that can also hold what json::Value refuses (raw tokens, duplicate keys) ------

struct J {
  enum Kind { kRaw, kObject, kArray } kind = kRaw;
  std::string raw;                             // kRaw: literal JSON text (may be invalid)
  std::vector<std::pair<std::string, J>> obj;  // kObject, duplicates allowed
  std::vector<J> arr;                          // kArray
  // Special members out of line: std::pair<std::string, J> needs J complete.
  J();
  J(const J&);
  J(J&&) noexcept;
  J& operator=(const J&);
  J& operator=(J&&) noexcept;
  ~J();
  static J Raw(std::string s);
};
J::J() = default;
J::J(const J&) = default;
J::J(J&&) noexcept = default;
J& J::operator=(const J&) = default;
J& J::operator=(J&&) noexcept = default;
J::~J() = default;
J J::Raw(std::string s) {
  J j;
  j.raw = std::move(s);
  return j;
}

J FromValue(const json::Value& v) {
  J j;
  if (v.is_object()) {
    j.kind = J::kObject;
    for (const auto& [k, m] : v.as_object()) j.obj.emplace_back(k, FromValue(m));
  } else if (v.is_array()) {
    j.kind = J::kArray;
    for (const auto& m : v.as_array()) j.arr.push_back(FromValue(m));
  } else {
    j.raw = json::Serialize(v);
  }
  return j;
}

std::string Text(const J& j) {
  switch (j.kind) {
    case J::kRaw:
      return j.raw;
    case J::kObject: {
      std::string s = "{";
      for (std::size_t i = 0; i < j.obj.size(); ++i) {
        if (i) s += ",";
        s += json::Serialize(json::Value(j.obj[i].first)) + ":" + Text(j.obj[i].second);
      }
      return s + "}";
    }
    case J::kArray: {
      std::string s = "[";
      for (std::size_t i = 0; i < j.arr.size(); ++i) {
        if (i) s += ",";
        s += Text(j.arr[i]);
      }
      return s + "]";
    }
  }
  return {};
}

// Every node of the tree by path (arrays: first element and last only, to bound the count).
void Paths(const J& j, std::vector<std::vector<std::size_t>>& out, std::vector<std::size_t>& cur) {
  out.push_back(cur);
  if (j.kind == J::kObject) {
    for (std::size_t i = 0; i < j.obj.size(); ++i) {
      cur.push_back(i);
      Paths(j.obj[i].second, out, cur);
      cur.pop_back();
    }
  } else if (j.kind == J::kArray) {
    std::set<std::size_t> idx;
    if (!j.arr.empty()) idx = {0, j.arr.size() - 1};
    for (std::size_t i : idx) {
      cur.push_back(i);
      Paths(j.arr[i], out, cur);
      cur.pop_back();
    }
  }
}

J& At(J& j, const std::vector<std::size_t>& path, std::size_t depth = 0) {
  if (depth == path.size()) return j;
  J& child = j.kind == J::kObject ? j.obj[path[depth]].second : j.arr[path[depth]];
  return At(child, path, depth + 1);
}

// The schema member name of the node at `path` (empty for array elements and the root).
std::string NameAt(const J& root, const std::vector<std::size_t>& path) {
  const J* j = &root;
  std::string name;
  for (std::size_t i : path) {
    if (j->kind == J::kObject) {
      name = j->obj[i].first;
      j = &j->obj[i].second;
    } else {
      j = &j->arr[i];
    }
  }
  return name;
}

// ---- The OpenAPI document ------------------------------------------------------------------------

struct Operation {
  std::string method;  // upper case
  std::string path;    // template, e.g. /v1/issuance/sessions/{session_id}/commit
  std::string id;      // operationId
  json::Value op;
  bool bearer = false;
  std::vector<std::string> path_params;
  std::vector<std::pair<std::string, json::Value>> media;  // requestBody content: type -> schema
};

class OpenApi {
 public:
  explicit OpenApi(json::Value doc) : doc_(std::move(doc)) {}

  const json::Value& Resolve(const json::Value& v) const {
    const json::Value* cur = &v;
    for (int guard = 0; guard < 16 && cur->is_object() && cur->find("$ref") != nullptr; ++guard) {
      std::string ref = cur->at("$ref").as_string();  // "#/components/schemas/X"
      const json::Value* node = &doc_;
      std::stringstream ss(ref.substr(2));
      std::string part;
      while (std::getline(ss, part, '/')) node = &node->at(part);
      cur = node;
    }
    return *cur;
  }

  std::vector<Operation> Operations() const {
    std::vector<Operation> ops;
    for (const auto& [path, item] : doc_.at("paths").as_object()) {
      for (const auto& [method, op] : item.as_object()) {
        static const std::set<std::string> kMethods = {"get", "post", "put", "patch", "delete"};
        if (kMethods.count(method) == 0) continue;
        Operation o;
        for (char c : method) o.method.push_back(static_cast<char>(std::toupper(c)));
        o.path = path;
        o.op = op;
        o.id = op.find("operationId") ? op.at("operationId").as_string() : method + path;
        o.bearer = op.find("security") != nullptr && !op.at("security").as_array().empty();
        std::regex param(R"(\{([^}]+)\})");
        for (std::sregex_iterator it(path.begin(), path.end(), param), end; it != end; ++it) {
          o.path_params.push_back((*it)[1]);
        }
        if (const json::Value* rb = op.find("requestBody")) {
          const json::Value& body = Resolve(*rb);
          for (const auto& [type, m] : body.at("content").as_object()) {
            o.media.emplace_back(type, m.find("schema") ? m.at("schema") : json::Value());
          }
        }
        ops.push_back(std::move(o));
      }
    }
    return ops;
  }

  // A plausible instance of a schema (examples first, then the declared shape).
  json::Value Generate(const json::Value& schema_in, std::size_t modulus_len, int depth = 0) const {
    const json::Value& s = Resolve(schema_in);
    if (!s.is_object() || depth > 8) return json::Value(json::Object{});
    if (const json::Value* ex = s.find("example")) return *ex;
    if (const json::Value* en = s.find("enum")) return en->as_array().front();
    std::string type = s.find("type") ? s.at("type").as_string() : "object";
    if (type == "object") {
      json::Object o;
      if (const json::Value* props = s.find("properties")) {
        for (const auto& [k, v] : props->as_object()) {
          o.emplace_back(k, Generate(v, modulus_len, depth + 1));
        }
      }
      return json::Value(std::move(o));
    }
    if (type == "array") {
      std::int64_t n = s.find("minItems") ? s.at("minItems").as_int() : 2;
      json::Array a;
      for (std::int64_t i = 0; i < n; ++i) {
        a.push_back(s.find("items") ? Generate(s.at("items"), modulus_len, depth + 1)
                                    : json::Value(0));
      }
      return json::Value(std::move(a));
    }
    if (type == "integer") {
      return json::Value(s.find("minimum") ? s.at("minimum").as_int() : std::int64_t{1});
    }
    if (type == "boolean") return json::Value(true);
    // string
    std::string desc = s.find("description") ? s.at("description").as_string() : "";
    if (std::size_t n = B64Len(desc, modulus_len); n != 0) {
      return json::Value(b64url::Encode(RandomBytes(n)));
    }
    std::int64_t min_len = s.find("minLength") ? s.at("minLength").as_int() : 1;
    return json::Value(std::string(static_cast<std::size_t>(min_len), 'a'));
  }

  // "base64url ... of 16 bytes" / "of modulus-length bytes" -> the byte length, else 0.
  static std::size_t B64Len(const std::string& desc, std::size_t modulus_len) {
    if (desc.find("base64url") == std::string::npos) return 0;
    if (desc.find("modulus-length") != std::string::npos) return modulus_len;
    std::smatch m;
    if (std::regex_search(desc, m, std::regex(R"(of (\d+) bytes)"))) {
      return static_cast<std::size_t>(std::stoul(m[1]));
    }
    return 16;
  }

  const json::Value& doc() const { return doc_; }

 private:
  json::Value doc_;
};

// ---- Checks and counting ---------------------------------------------------------------------------

struct Tally {
  std::mutex mu;
  std::map<std::string, int> per_category;
  std::map<int, int> per_status;
  int total = 0;
  void Add(const std::string& category, int status) {
    std::lock_guard lock(mu);
    ++per_category[category];
    ++per_status[status];
    ++total;
  }
};

Tally& GlobalTally() {
  static Tally t;
  return t;
}

// A 4xx problem document whose status member equals the HTTP status.
::testing::AssertionResult IsProblem4xx(const RawResponse& r) {
  if (r.status < 400 || r.status > 499) {
    return ::testing::AssertionFailure() << "status " << r.status << ": " << r.raw.substr(0, 400);
  }
  if (r.header("content-type").rfind("application/problem+json", 0) != 0) {
    return ::testing::AssertionFailure() << "not a problem document: " << r.raw.substr(0, 400);
  }
  try {
    json::Value v = json::Parse(r.body);
    if (v.at("type").as_string().rfind("urn:realdid:problem:", 0) != 0 ||
        v.at("title").as_string().empty() || v.at("status").as_int() != r.status ||
        !v.at("detail").is_string()) {
      return ::testing::AssertionFailure() << "bad problem members: " << r.body;
    }
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "problem body: " << e.what() << ": " << r.body;
  }
  return ::testing::AssertionSuccess();
}

// ---- The fixture -----------------------------------------------------------------------------------

constexpr int kRequestTimeoutSeconds = 2;
constexpr int kMaxConnections = 8;

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      StackOptions o;
      o.rsa_bits = 2048;
      o.k = 2;
      o.min_k = 2;
      o.ctid_population = 2000;
      o.admin = true;
      o.authority_env = {"REALDID_SERVER_REQUEST_TIMEOUT=" + std::to_string(kRequestTimeoutSeconds) +
                             "s",
                         "REALDID_SERVER_MAX_CONNECTIONS=" + std::to_string(kMaxConnections),
                         "REALDID_LIMITS_ENABLED=false"};
      stack_ = new E2eStack(o);
      operator_ = new ClientCert(stack_->IssueClientCert("operator", "hostile-operator"));
      unenrolled_ = new ClientCert(stack_->IssueClientCert("", "hostile-nobody"));
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete operator_;
    operator_ = nullptr;
    delete unenrolled_;
    unenrolled_ = nullptr;
    Tally& t = GlobalTally();
    std::ostringstream report;
    report << "hostile requests: " << t.total << "\n";
    for (const auto& [c, n] : t.per_category) report << "  " << c << ": " << n << "\n";
    report << "statuses:";
    for (const auto& [s, n] : t.per_status) report << " " << s << "x" << n;
    report << "\n";
    std::cout << report.str();
    if (const char* f = std::getenv("REALDID_HOSTILE_REPORT"); f != nullptr) {
      std::ofstream(f, std::ios::app) << report.str();
    }
    delete stack_;
    stack_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    port_ = PortOf(stack_->authority_url());
    authority_ = std::make_unique<wallet::AuthorityClient>(stack_->authority_url(),
                                                           stack_->AuthorityTls());
    ctid_ = std::make_unique<wallet::CtidAppClient>(stack_->ctid_url(), stack_->CtidTls());
    keys_ = std::make_unique<wallet::KeySet>(authority_->FetchKeySet());
    keys_text_ = authority_->FetchKeySetText();
    json::Value ks = json::Parse(keys_text_);
    for (const json::Value& k : ks.at("keys").as_array()) {
      if (const json::Value* n = k.find("n")) {
        modulus_ = b64url::Decode(n->as_string());
        break;
      }
    }
    ASSERT_FALSE(modulus_.empty()) << keys_text_;
    std::ifstream in(E2eStack::SourcePath("docs/openapi.json"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    api_ = std::make_unique<OpenApi>(json::Parse(text));
  }

  RawResponse Send(const std::string& request) {
    return RawExchange(port_, stack_->ca_file(), request, 15000);
  }

  // Operations of the operator/auditor API live on the admin listener (mutual TLS): the document
  // says so in the summary ("admin listener"), and their paths start with /v1/admin/.
  static bool IsAdmin(const Operation& op) {
    std::string summary = op.op.find("summary") ? op.op.at("summary").as_string() : "";
    return op.path.rfind("/v1/admin/", 0) == 0 ||
           summary.find("admin listener") != std::string::npos;
  }
  struct Peer {
    std::uint16_t port;
    std::string cert;
    std::string key;
  };
  Peer PeerFor(const Operation& op, const ClientCert* cert = operator_) const {
    if (!IsAdmin(op)) return {port_, "", ""};
    return {PortOf(stack_->admin_url()), cert ? cert->cert_file : "", cert ? cert->key_file : ""};
  }
  RawResponse SendTo(const Peer& p, const std::string& request) {
    return RawExchange(p.port, stack_->ca_file(), request, 15000, p.cert, p.key);
  }

  // Sends and checks: a 4xx problem document.
  void Expect4xx(const std::string& category, const Operation& op, const std::string& request,
                 const std::string& what, std::optional<Peer> peer = std::nullopt) {
    RawResponse r = SendTo(peer ? *peer : PeerFor(op), request);
    GlobalTally().Add(category, r.status);
    if (std::getenv("REALDID_HOSTILE_VERBOSE") != nullptr) {
      std::cout << r.status << " " << category << " " << op.method << " " << op.path << ": "
                << what << "\n";
    }
    EXPECT_TRUE(IsProblem4xx(r)) << category << " " << op.method << " " << op.path << ": " << what;
  }


  // ---- Contexts: real values for path parameters and the bearer secret --------------------------

  struct Context {
    std::map<std::string, std::string> params;
    std::optional<Secret> bearer;
    std::string seed;  // a valid body for the operation, when known
  };

  wallet::Resident NextResident() { return ctid_->GetResident(next_resident_++); }

  wallet::SessionOffer OpenSession() {
    wallet::Resident who = NextResident();
    std::string nonce = authority_->GetNonce();
    std::string token = ctid_->Authenticate(who.id_number, who.name, nonce);
    return authority_->OpenSession(who.name, who.id_number, nonce, token);
  }

  // What the test knows about the issuance operations; anything else gets generated values.
  Context MakeContext(const Operation& op) {
    Context c;
    bool session = std::find(op.path_params.begin(), op.path_params.end(), "session_id") !=
                   op.path_params.end();
    if (op.id == "openSession") {
      wallet::Resident who = NextResident();
      std::string nonce = authority_->GetNonce();
      std::string token = ctid_->Authenticate(who.id_number, who.name, nonce);
      c.seed = json::Serialize(json::Value(json::Object{{"name", who.name},
                                                        {"id_number", who.id_number},
                                                        {"nonce", nonce},
                                                        {"ctid_token", token}}));
    } else if (session) {
      wallet::SessionOffer offer = OpenSession();
      c.params["session_id"] = offer.session_id;
      c.bearer = Secret(offer.session_secret.reveal());
      auto issuance = std::make_shared<wallet::Issuance>(*keys_, offer);
      if (op.id == "reveal") {
        std::string answer = authority_->Commit(offer, issuance->CommitBody());
        issuance->AcceptChallenge(answer);
        c.seed = issuance->RevealBody();
      } else if (op.id == "commit") {
        c.seed = issuance->CommitBody();
      }
      offers_.push_back(std::move(offer));
      issuances_.push_back(issuance);
    }
    for (const std::string& p : op.path_params) {
      if (c.params.count(p) == 0) c.params[p] = b64url::Encode(RandomBytes(16));
    }
    return c;
  }

  static std::string Target(const Operation& op, const Context& c) {
    std::string t = op.path;
    for (const auto& [k, v] : c.params) {
      std::size_t pos = t.find("{" + k + "}");
      if (pos != std::string::npos) t.replace(pos, k.size() + 2, v);
    }
    return t;
  }

  static Headers Auth(const Context& c) {
    Headers h;
    if (c.bearer) h.emplace_back("Authorization", "Bearer " + std::string(c.bearer->reveal_string()));
    return h;
  }

  // ---- Row counts ---------------------------------------------------------------------------------

  std::map<std::string, std::int64_t> Snapshot() {
    if (!db_) db_ = stack_->pg().MakePool(PgRole::kSuperuser, 1);
    return db_->Run("snapshot", [](db::Tx& tx) {
      std::map<std::string, std::int64_t> out;
      db::Result tables = tx.Exec(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND "
          "table_type = 'BASE TABLE' ORDER BY 1");
      for (std::size_t i = 0; i < tables.size(); ++i) {
        std::string t = tables[i].GetString(0);
        out[t] = tx.Exec("SELECT count(*) FROM \"" + t + "\"").One().GetInt64(0);
      }
      return out;
    });
  }

  // Tables a refused request may write to: rate counters always; strikes (and their audit rows)
  // only when `strikes` (a proven cheat is a refused request that the protocol records).
  static bool MayGrow(const std::string& table, bool strikes) {
    // Rate counters; audit checkpoints are written on a timer, whatever the requests.
    if (table.find("rate") != std::string::npos || table.find("limit") != std::string::npos ||
        table.find("checkpoint") != std::string::npos) {
      return true;
    }
    return strikes && (table == "strikes" || table.rfind("audit", 0) == 0);
  }

  void ExpectNoWrites(const std::map<std::string, std::int64_t>& before, bool strikes,
                      const std::string& phase) {
    auto after = Snapshot();
    for (const auto& [t, n] : after) {
      auto it = before.find(t);
      std::int64_t was = it == before.end() ? 0 : it->second;
      if (MayGrow(t, strikes)) continue;
      EXPECT_EQ(n, was) << phase << ": table " << t << " changed";
    }
  }

  void ExpectReady() {
    RawResponse r = Send(BuildRequest("GET", "/readyz", {}, "", "", false));
    EXPECT_EQ(r.status, 200) << r.raw;
  }

  static E2eStack* stack_;
  static std::string* setup_error_;
  static inline ClientCert* operator_ = nullptr;
  static inline ClientCert* unenrolled_ = nullptr;
  static inline std::uint64_t next_resident_ = 10;
  std::uint16_t port_ = 0;
  std::unique_ptr<wallet::AuthorityClient> authority_;
  std::unique_ptr<wallet::CtidAppClient> ctid_;
  std::unique_ptr<wallet::KeySet> keys_;
  std::string keys_text_;
  Bytes modulus_;
  std::unique_ptr<OpenApi> api_;
  std::unique_ptr<db::Pool> db_;
  std::vector<wallet::SessionOffer> offers_;
  std::vector<std::shared_ptr<wallet::Issuance>> issuances_;
};

E2eStack* HostileInputTest::stack_ = nullptr;
std::string* HostileInputTest::setup_error_ = nullptr;

// ---- Body mutations -------------------------------------------------------------------------------

struct Mutant {
  std::string category;
  std::string what;
  std::string body;
  bool semantic = false;  // well-formed; needs a fresh context to reach the service's checks
};

// Base64url variants of a canonical string s (decoded bytes b).
std::vector<std::pair<std::string, std::string>> B64Variants(const std::string& s, const Bytes& b) {
  std::vector<std::pair<std::string, std::string>> v;
  std::string padded = s;
  while (padded.size() % 4 != 0) padded += '=';
  if (padded == s) padded += "==";
  v.emplace_back("padded", padded);
  std::string std_alpha = s;
  std::replace(std_alpha.begin(), std_alpha.end(), '-', '+');
  std::replace(std_alpha.begin(), std_alpha.end(), '_', '/');
  if (std_alpha == s) std_alpha = "+" + s.substr(1);
  v.emplace_back("standard alphabet", std_alpha);
  if (s.size() % 4 == 2 || s.size() % 4 == 3) {  // unused low bits in the last character
    std::string nc = s;
    static const std::string kAlpha =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::size_t idx = kAlpha.find(nc.back());
    nc.back() = kAlpha[idx | (s.size() % 4 == 2 ? 0x0F : 0x03)];
    if (nc != s) v.emplace_back("non-canonical trailing bits", nc);
  }
  v.emplace_back("whitespace", s.substr(0, s.size() / 2) + " " + s.substr(s.size() / 2));
  v.emplace_back("newline", s.substr(0, s.size() / 2) + "\\n" + s.substr(s.size() / 2));
  v.emplace_back("empty", "");
  v.emplace_back("one character short", s.substr(0, s.size() - 1));
  Bytes shorter(b.begin(), b.end() - (b.empty() ? 0 : 1));
  v.emplace_back("one byte short", b64url::Encode(shorter));
  Bytes longer = b;
  longer.push_back(0x41);
  v.emplace_back("one byte long", b64url::Encode(longer));
  v.emplace_back("100 KiB", b64url::Encode(Bytes(100000, 0x42)));
  v.emplace_back("invalid characters", "!!!" + s);
  return v;
}

std::vector<Mutant> JsonMutants(const std::string& seed_text, const OpenApi& api,
                                const Bytes& modulus) {
  std::vector<Mutant> out;
  auto add = [&](const std::string& cat, const std::string& what, std::string body,
                 bool semantic = false) {
    out.push_back({cat, what, std::move(body), semantic});
  };
  // Malformed JSON.
  for (const char* bad : {"", "{", "}", "[", "nul", "{\"a\"}", "{\"a\":}", "{,}", "{\"a\":1,}",
                          "[1,]", "{'a':1}", "{\"a\":1}//", "/*c*/{}", "\xEF\xBB\xBF{}",
                          "{\"\xC3\x28\":1}", "{\"a\":\"\xFF\"}", "{\"a\":\"\x01\"}",
                          "{\"a\":\"\\uD800\"}", "{\"a\":\"\\x41\"}", "{\"a\":NaN}",
                          "{\"a\":Infinity}", "{\"a\":01}", "{\"a\":+1}", "{\"a\":.5}",
                          "{\"a\" 1}", "{}{}", "{} x", "\"just a string\"", "42", "null", "[]"}) {
    add("malformed_json", std::string("literal ") + bad, bad);
  }
  add("malformed_json", "NUL byte", std::string("{\"a\":\"x\0y\"}", 11));
  for (std::size_t cut : {std::size_t{1}, seed_text.size() / 3, seed_text.size() / 2,
                          seed_text.size() - 1}) {
    if (cut < seed_text.size()) add("malformed_json", "truncated seed", seed_text.substr(0, cut));
  }
  add("malformed_json", "trailing garbage", seed_text + "garbage");
  add("malformed_json", "two documents", seed_text + seed_text);

  // Deep nesting.
  add("deep_nesting", "100000 arrays", std::string(100000, '[') + std::string(100000, ']'));
  {
    std::string s;
    for (int i = 0; i < 20000; ++i) s += "{\"a\":";
    s += "1" + std::string(20000, '}');
    add("deep_nesting", "20000 objects", s);
  }
  add("deep_nesting", "unterminated 1 MiB of [", std::string(1 << 20, '['));

  // Structural mutations of the seed, node by node.
  J seed = FromValue(json::Parse(seed_text));
  std::vector<std::vector<std::size_t>> paths;
  std::vector<std::size_t> cur;
  Paths(seed, paths, cur);
  for (const auto& path : paths) {
    J base = seed;
    J& node = At(base, path);
    std::string name = NameAt(seed, path);
    std::string where = name.empty() ? "node" : "'" + name + "'";
    // Wrong types.
    for (const char* wrong : {"0", "-1", "\"x\"", "true", "null", "[]", "{}", "[[]]"}) {
      if (node.kind == J::kRaw && node.raw == wrong) continue;
      J m = seed;
      At(m, path) = J::Raw(wrong);
      if (path.empty() && std::string(wrong) == "{}") continue;  // an empty object is a seed too
      add("wrong_types", where + " = " + wrong, Text(m));
    }
    // Huge numbers.
    for (const char* big : {"1e400", "-1e400", "123456789012345678901234567890",
                            "9223372036854775808", "-9223372036854775809", "1.5", "1E2",
                            "0x10", "99999999999999999999999999999999999999999999999999999"}) {
      J m = seed;
      At(m, path) = J::Raw(big);
      add("huge_numbers", where + " = " + big, Text(m));
    }
    if (node.kind == J::kObject) {
      if (!node.obj.empty()) {  // duplicate keys
        J m = seed;
        J& o = At(m, path);
        o.obj.push_back(o.obj.front());
        add("duplicate_keys", where + " first member twice", Text(m));
        J m2 = seed;
        J& o2 = At(m2, path);
        auto dup = o2.obj.front();
        dup.second = J::Raw("\"other\"");
        o2.obj.push_back(dup);
        add("duplicate_keys", where + " first member twice, other value", Text(m2));
        J m3 = seed;  // missing member
        At(m3, path).obj.erase(At(m3, path).obj.begin());
        add("truncated_messages", where + " without its first member", Text(m3));
      }
      for (const char* extra : {"zz_unknown", "__proto__", "", "constructor"}) {
        J m = seed;
        At(m, path).obj.emplace_back(extra, J::Raw("1"));
        add("unknown_fields", where + " + '" + extra + "'", Text(m));
      }
      // Invalid curve points: an object with x and y (a JWK).
      bool has_x = false, has_y = false;
      for (const auto& [k, v] : node.obj) {
        has_x |= k == "x";
        has_y |= k == "y";
      }
      if (has_x && has_y) {
        Bytes p = FromHex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
        Bytes one32(32, 0);
        one32.back() = 1;
        std::vector<std::pair<std::string, std::pair<Bytes, Bytes>>> points = {
            {"(1,1) off the curve", {one32, one32}},
            {"(0,0)", {Bytes(32, 0), Bytes(32, 0)}},
            {"x = p", {p, one32}},
            {"all ones", {Bytes(32, 0xFF), Bytes(32, 0xFF)}}};
        for (const auto& [what, xy] : points) {
          J m = seed;
          for (auto& [k, v] : At(m, path).obj) {
            if (k == "x") v = J::Raw("\"" + b64url::Encode(xy.first) + "\"");
            if (k == "y") v = J::Raw("\"" + b64url::Encode(xy.second) + "\"");
          }
          add("invalid_curve_points", where + " " + what, Text(m), true);
        }
      }
    }
    if (node.kind == J::kArray) {
      J m = seed;
      At(m, path).arr.clear();
      add("truncated_messages", where + " empty array", Text(m));
      if (!node.arr.empty()) {
        J m1 = seed;
        At(m1, path).arr.pop_back();
        add("truncated_messages", where + " one element short", Text(m1));
        J m2 = seed;
        At(m2, path).arr.push_back(node.arr.front());
        add("oversized_messages", where + " one element more", Text(m2));
        J m3 = seed;
        for (int i = 0; i < 1100; ++i) At(m3, path).arr.push_back(node.arr.front());
        add("oversized_messages", where + " 1100 more elements", Text(m3));
      }
    }
    if (node.kind == J::kRaw && !node.raw.empty() && node.raw.front() == '"') {
      std::string s = json::Parse(node.raw).as_string();
      Bytes decoded;
      bool is_b64 = false;
      try {
        decoded = b64url::Decode(s);
        is_b64 = !s.empty() && s.size() >= 8;
      } catch (const Error&) {
      }
      if (is_b64) {
        for (const auto& [what, v] : B64Variants(s, decoded)) {
          J m = seed;
          At(m, path) = J::Raw(json::Serialize(json::Value(v)));
          add("base64url", where + " " + what, Text(m));
        }
        if (decoded.size() == modulus.size()) {  // an RSA value: B >= n and the edges
          Bytes n_minus_1 = modulus;
          n_minus_1.back() = static_cast<std::uint8_t>(n_minus_1.back() - 1);
          Bytes one(modulus.size(), 0);
          one.back() = 1;
          for (const auto& [what, v] :
               std::vector<std::pair<std::string, Bytes>>{{"= n", modulus},
                                                          {"= 0xFF..FF (> n)", Bytes(modulus.size(), 0xFF)},
                                                          {"= n - 1", n_minus_1},
                                                          {"= 0", Bytes(modulus.size(), 0)},
                                                          {"= 1", one}}) {
            J m = seed;
            At(m, path) = J::Raw("\"" + b64url::Encode(v) + "\"");
            add("invalid_rsa_values", where + " " + what, Text(m), true);
          }
        }
      } else {
        J m = seed;
        At(m, path) = J::Raw(json::Serialize(json::Value(std::string(300000, 'a'))));
        add("oversized_messages", where + " 300 kB string", Text(m));
      }
    }
  }
  (void)api;
  return out;
}

// ---- The tests ------------------------------------------------------------------------------------

// Every documented operation gets every body mutation (fresh contexts for the well-formed ones
// that reach the service's own checks); nothing but strikes and their audit rows may be written.
TEST_F(HostileInputTest, EveryOperationRefusesHostileBodiesWithProblems) {
  std::vector<Operation> ops = api_->Operations();
  ASSERT_GE(ops.size(), 4u);
  for (const Operation& op : ops) {
    if (op.media.empty()) continue;
    Context ctx = MakeContext(op);
    std::string target = Target(op, ctx);
    for (const auto& [media, schema] : op.media) {
      bool is_json = media == "application/json" || media.find("+json") != std::string::npos;
      if (!is_json) {
        // A binary body: truncated, oversized, random and empty, plus JSON where bytes belong.
        std::string ex = ToString(RandomBytes(64));
        auto before = Snapshot();
        for (const auto& [what, body] : std::vector<std::pair<std::string, std::string>>{
                 {"empty", ""},
                 {"one byte", "\x01"},
                 {"random 64 bytes", ex},
                 {"random 64 KiB", ToString(RandomBytes(65536))},
                 {"all zero 512 bytes", std::string(512, '\0')},
                 {"a JSON object", "{}"}}) {
          Expect4xx("binary_bodies", op, BuildRequest(op.method, target, Auth(ctx), body, media),
                    what);
        }
        ExpectNoWrites(before, /*strikes=*/false, op.id + " binary bodies");
        continue;
      }
      std::string seed = ctx.seed.empty()
                             ? json::Serialize(api_->Generate(schema, modulus_.size()))
                             : ctx.seed;
      std::vector<Mutant> mutants = JsonMutants(seed, *api_, modulus_);
      auto before = Snapshot();
      for (const Mutant& m : mutants) {
        if (m.semantic) continue;
        // An operation whose body is an empty object also takes an absent body (the nonce
        // endpoints): that mutant is the valid request itself.
        if (seed == "{}" && (m.body.empty() || m.body == "{}")) continue;
        Expect4xx(m.category, op, BuildRequest(op.method, target, Auth(ctx), m.body, media),
                  m.what);
      }
      // A malformed reveal that parses may still be a proven cheat: the strike is the
      // protocol's write.
      ExpectNoWrites(before, /*strikes=*/true, op.id + " malformed bodies");
      // Wrong content types with the seed itself.
      before = Snapshot();
      for (const char* ct : {"text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x", "application/xml",
                             "application/jsonx", "json", "*/*"}) {
        Expect4xx("wrong_content_type", op, BuildRequest(op.method, target, Auth(ctx), seed, ct),
                  ct);
      }
      Expect4xx("wrong_content_type", op, BuildRequest(op.method, target, Auth(ctx), seed, ""),
                "no Content-Type");
      ExpectNoWrites(before, /*strikes=*/false, op.id + " content types");
      // Well-formed values the service itself must refuse: each on a fresh context, since a
      // proven cheat ends the session (and records a strike: the protocol's write).
      for (const Mutant& m : mutants) {
        if (!m.semantic) continue;
        Context fresh = MakeContext(op);
        std::string fresh_seed = fresh.seed.empty() ? seed : fresh.seed;
        // Re-derive the mutation on the fresh seed (same path, new values).
        std::vector<Mutant> again = JsonMutants(fresh_seed, *api_, modulus_);
        auto it = std::find_if(again.begin(), again.end(), [&](const Mutant& x) {
          return x.semantic && x.what == m.what;
        });
        ASSERT_NE(it, again.end());
        auto snap = Snapshot();
        Expect4xx(m.category, op,
                  BuildRequest(op.method, Target(op, fresh), Auth(fresh), it->body, media), m.what);
        ExpectNoWrites(snap, /*strikes=*/true, op.id + " " + m.what);
      }
    }
  }
  ExpectReady();
}

// Hostile path parameters, credentials, query strings and methods on every operation.
TEST_F(HostileInputTest, EveryOperationRefusesHostileTargetsAndCredentials) {
  auto before = Snapshot();
  std::vector<Operation> ops = api_->Operations();
  std::map<std::string, std::set<std::string>> methods_by_path;
  for (const Operation& op : ops) methods_by_path[op.path].insert(op.method);
  for (const Operation& op : ops) {
    auto op_before = Snapshot();
    Context ctx;  // generated values only: nothing here may reach a real session
    for (const std::string& p : op.path_params) ctx.params[p] = b64url::Encode(RandomBytes(16));
    std::string body = op.media.empty() ? "" : "{}";
    std::string ct = op.media.empty() ? "" : op.media.front().first;
    for (const std::string& p : op.path_params) {
      for (const auto& [what, v] : std::vector<std::pair<std::string, std::string>>{
               {"padded", ctx.params[p] + "=="},
               {"standard alphabet", "+" + ctx.params[p].substr(1)},
               {"empty", ""},
               {"10 kB", std::string(10000, 'A')},
               {"dot-dot", ".."},
               {"percent-encoded slash", "a%2Fb"},
               {"bad percent escape", "%zz"},
               {"NUL escape", "%00"},
               {"one byte short", b64url::Encode(RandomBytes(15))}}) {
        Context c = ctx;
        c.params[p] = v;
        Headers h = {{"Authorization", "Bearer " + b64url::Encode(RandomBytes(16))}};
        Expect4xx("path_parameters", op, BuildRequest(op.method, Target(op, c), h, body, ct), what);
      }
    }
    if (op.bearer) {
      for (const auto& [what, v] : std::vector<std::pair<std::string, std::string>>{
               {"missing", ""},
               {"scheme only", "Bearer"},
               {"basic", "Basic dXNlcjpwYXNz"},
               {"padded", "Bearer " + b64url::Encode(RandomBytes(16)) + "=="},
               {"15 bytes", "Bearer " + b64url::Encode(RandomBytes(15))},
               {"8 kB", "Bearer " + std::string(8000, 'A')},
               {"wrong secret", "Bearer " + b64url::Encode(RandomBytes(16))}}) {
        Headers h;
        if (!v.empty()) h.emplace_back("Authorization", v);
        Expect4xx("credentials", op, BuildRequest(op.method, Target(op, ctx), h, body, ct), what);
      }
    }
    if (IsAdmin(op)) {
      std::string req = BuildRequest(op.method, Target(op, ctx), {}, body, ct);
      // Without a client certificate: the TLS handshake is refused (no HTTP answer at all) or
      // the answer is a 401/403 problem.
      RawResponse none = SendTo(PeerFor(op, nullptr), req);
      GlobalTally().Add("credentials", none.status);
      EXPECT_TRUE(none.status == -1 || ((none.status == 401 || none.status == 403) &&
                                        IsProblem4xx(none)))
          << op.path << ": without a client certificate: " << none.raw.substr(0, 300);
      // A certificate from the internal CA that is not enrolled as a principal: 403 problem.
      Expect4xx("credentials", op, req, "unenrolled client certificate", PeerFor(op, unenrolled_));
      // The public listener does not serve the operator API at all.
      Expect4xx("wrong_listener", op, req, "on the public listener", Peer{port_, "", ""});
    }
    // Methods the path does not offer: 405 with a problem (and Allow).
    for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      if (methods_by_path[op.path].count(m) != 0) continue;
      Expect4xx("methods", op, BuildRequest(m, Target(op, ctx), {}, "{}", "application/json"), m);
    }
    Expect4xx("methods", op, BuildRequest("BREW", Target(op, ctx), {}, "", ""), "BREW");
    Expect4xx("target_suffix", op, BuildRequest(op.method, Target(op, ctx) + "/%zz", {}, body, ct),
              "bad escape");
    // The operator API audits its (refused) privileged requests: those rows are the protocol's.
    ExpectNoWrites(op_before, /*strikes=*/IsAdmin(op), op.id + " targets and credentials");
  }
  (void)before;
  ExpectReady();
}

// Request heads Poco cannot parse, long headers, ambiguous framing: problem documents, not a
// bodiless 400 or a dropped connection.
TEST_F(HostileInputTest, MalformedHeadsAndLongHeadersGetProblems) {
  auto before = Snapshot();
  for (const Operation& op : api_->Operations()) {
    Context ctx;
    for (const std::string& p : op.path_params) ctx.params[p] = b64url::Encode(RandomBytes(16));
    std::string target = Target(op, ctx);
    std::string ct = op.media.empty() ? "application/json" : op.media.front().first;
    std::string line = op.method + " " + target + " HTTP/1.1\r\nHost: x\r\n";
    std::vector<std::pair<std::string, std::string>> heads = {
        {"garbage request line", "GARBAGE\r\n\r\n"},
        {"bad version", op.method + " " + target + " HTTP/9.9\r\nHost: x\r\n\r\n"},
        {"header without colon", line + "NoColonHere\r\n\r\n"},
        {"non-numeric Content-Length", line + "Content-Type: " + ct +
                                           "\r\nContent-Length: abc\r\n\r\n{}"},
        {"negative Content-Length", line + "Content-Type: " + ct +
                                        "\r\nContent-Length: -5\r\n\r\n{}"},
        {"huge Content-Length", line + "Content-Type: " + ct +
                                    "\r\nContent-Length: 99999999999999999999999\r\n\r\n{}"},
        {"Content-Length and chunked", line + "Content-Type: " + ct +
                                           "\r\nContent-Length: 2\r\nTransfer-Encoding: "
                                           "chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"},
        {"Transfer-Encoding gzip", line + "Content-Type: " + ct +
                                       "\r\nTransfer-Encoding: gzip\r\n\r\n{}"},
        {"broken chunk size", line + "Content-Type: " + ct +
                                  "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
        {"field name 300 bytes", line + std::string(300, 'N') + ": v\r\n\r\n"},
        {"field value 9000 bytes", line + "X-Long: " + std::string(9000, 'v') + "\r\n\r\n"},
        {"URI 20000 bytes", op.method + " " + target + "?" + std::string(20000, 'q') +
                                " HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"method 40 bytes", std::string(40, 'M') + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"NUL in request line",
         op.method + " " + target + std::string(1, '\0') + " HTTP/1.1\r\nHost: x\r\n\r\n"},
    };
    {
      std::string many = line;
      for (int i = 0; i < 150; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
      heads.emplace_back("150 header fields", many + "\r\n");
      std::string big = line;
      for (int i = 0; i < 10; ++i) big += "X-B" + std::to_string(i) + ": " +
                                          std::string(2000, 'b') + "\r\n";
      heads.emplace_back("20 kB of headers in total", big + "\r\n");
    }
    for (const auto& [what, req] : heads) Expect4xx("malformed_heads", op, req, what);
  }
  ExpectNoWrites(before, /*strikes=*/false, "malformed heads");
  ExpectReady();
}

// A body of tens of megabytes: the 413 arrives while the client is still sending.
TEST_F(HostileInputTest, HugeBodyIsRefusedWhileTheClientIsStillSending) {
  constexpr std::size_t kHuge = std::size_t{40} << 20;
  auto before = Snapshot();
  for (const Operation& op : api_->Operations()) {
    Context ctx;
    for (const std::string& p : op.path_params) ctx.params[p] = b64url::Encode(RandomBytes(16));
    for (bool chunked : {false, true}) {
      std::string ct = op.media.empty() ? "application/json" : op.media.front().first;
      Peer peer = PeerFor(op);
      RawTls t(peer.port, stack_->ca_file(), 30000, peer.cert, peer.key);
      ASSERT_TRUE(t.ok());
      std::string head = op.method + " " + Target(op, ctx) +
                         " HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct + "\r\n" +
                         (chunked ? std::string("Transfer-Encoding: chunked\r\n")
                                  : "Content-Length: " + std::to_string(kHuge) + "\r\n") +
                         "\r\n";
      ASSERT_TRUE(t.Write(head));
      std::string chunk(64 << 10, '[');
      std::string framed = chunked ? "10000\r\n" + chunk + "\r\n" : chunk;
      std::size_t sent = 0;
      std::string answer;
      while (sent < kHuge) {
        if (t.Readable(0)) break;
        if (!t.Write(framed)) break;
        sent += chunk.size();
      }
      // The answer must already be there (or arrive now) although the body is not complete.
      answer = t.ReadAll();
      RawResponse r = ParseRawResponse(answer);
      GlobalTally().Add("huge_bodies", r.status);
      EXPECT_TRUE(IsProblem4xx(r)) << op.path << (chunked ? " chunked" : "");
      // Chunked request bodies are refused outright (411), sized ones from Content-Length (413).
      EXPECT_EQ(r.status, chunked ? 411 : 413) << op.path << ": " << answer.substr(0, 300);
      EXPECT_LT(sent, kHuge) << op.path << ": the answer came only after the whole body";
    }
  }
  ExpectNoWrites(before, /*strikes=*/false, "huge bodies");
  ExpectReady();
}

// Slow clients: a head or a body dribbled one byte at a time is cut after request_timeout (the
// per-read socket timeout alone would never fire). The answer is a 408 problem when the TLS
// stream still allows one; the connection is closed in any case.
TEST_F(HostileInputTest, SlowClientsAreCutByTheRequestDeadline) {
  auto before = Snapshot();
  std::vector<Operation> ops = api_->Operations();
  std::atomic<int> cut{0}, answered408{0}, total{0};
  std::vector<std::thread> threads;
  std::mutex fail_mu;
  std::vector<std::string> failures;
  auto slow = [&](Peer peer, std::string request, std::size_t fast_prefix, std::string label) {
    RawTls t(peer.port, stack_->ca_file(), 60000, peer.cert, peer.key);
    if (!t.ok()) return;
    t.Write(request.substr(0, fast_prefix));
    std::string answer;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (std::size_t i = fast_prefix; std::chrono::steady_clock::now() < give_up; ++i) {
      if (t.Readable(300)) {
        answer = t.ReadAll();
        break;
      }
      if (!t.Write(std::string(1, request[i % request.size()]))) {
        answer = t.ReadAll();
        break;
      }
    }
    ++total;
    bool closed = std::chrono::steady_clock::now() < give_up;
    RawResponse r = ParseRawResponse(answer);
    GlobalTally().Add("slow_clients", r.status);
    if (closed) ++cut;
    if (r.status == 408 && IsProblem4xx(r)) ++answered408;
    // Cut: answered (408, or an early 4xx such as 404 before the body) or closed.
    if (!closed || (r.status != -1 && !IsProblem4xx(r))) {
      std::lock_guard lock(fail_mu);
      failures.push_back(label + ": " + answer.substr(0, 200));
    }
  };
  for (const Operation& op : ops) {
    Context ctx;
    for (const std::string& p : op.path_params) ctx.params[p] = b64url::Encode(RandomBytes(16));
    std::string ct = op.media.empty() ? "application/json" : op.media.front().first;
    std::string body(4000, ' ');
    body.front() = '{';
    body.back() = '}';
    std::string req = BuildRequest(op.method, Target(op, ctx), {}, body, ct);
    std::size_t head_len = req.size() - body.size();
    threads.emplace_back(slow, PeerFor(op), req, 3, op.path + " slow head");
    threads.emplace_back(slow, PeerFor(op), req, head_len + 1, op.path + " slow body");
    if (threads.size() >= static_cast<std::size_t>(kMaxConnections)) {
      for (auto& th : threads) th.join();
      threads.clear();
    }
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(cut.load(), total.load());
  std::cout << "slow clients: " << total.load() << " cut, " << answered408.load()
            << " of them with a 408 problem\n";
  ExpectNoWrites(before, /*strikes=*/false, "slow clients");
  ExpectReady();
}

// Connections beyond the limit (max_connections served + as many queued) are closed at accept;
// once the idle ones are cut, the service answers again.
TEST_F(HostileInputTest, ConnectionFloodIsBoundedAndRecovers) {
  std::vector<std::unique_ptr<RawTls>> idle;
  int refused = 0;
  for (int i = 0; i < 3 * kMaxConnections; ++i) {
    // A TLS handshake needs a serving thread: beyond the limit it cannot complete.
    auto t = std::make_unique<RawTls>(port_, stack_->ca_file(), 1000);
    if (!t->ok()) ++refused;
    GlobalTally().Add("connection_flood", t->ok() ? 0 : -1);
    idle.push_back(std::move(t));
  }
  EXPECT_GT(refused, 0) << "no connection was refused beyond 3 x max_connections";
  idle.clear();
  // Recovery: the idle connections' deadlines pass; /readyz answers again.
  RawResponse r;
  for (int i = 0; i < 60 && r.status != 200; ++i) {
    r = Send(BuildRequest("GET", "/readyz", {}, "", "", false));
    if (r.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(r.status, 200) << r.raw;
}

// After all of it: ready, and a whole issuance still works.
TEST_F(HostileInputTest, ZzServiceStillIssuesAfterwards) {
  ExpectReady();
  wallet::Resident who = NextResident();
  wallet::IssuedCredential c = wallet::Issue(*authority_, *ctid_, who, {});
  EXPECT_FALSE(c.issued.empty());
  std::string log = stack_->AuthorityLog();
  EXPECT_EQ(log.find("\"status\":500"), std::string::npos) << "a 500 was logged";
  EXPECT_EQ(log.find("AddressSanitizer"), std::string::npos);
}

}  // namespace
}  // namespace realdid::testing
