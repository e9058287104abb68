// realdid audit: the auditors' side of the tamper-evident audit log (BRIEF section 6).
//
//   realdid audit verify  --dsn-file FILE --keys keys.json [--witness FILE]
//   realdid audit export  --dsn-file FILE --out FILE [--from N]
//   realdid audit witness --keys keys.json --checkpoints FILE --witness FILE
//
// verify reads every row and every checkpoint in one read-only snapshot (the DSN should name a role
// with SELECT only, or a read replica), checks the hash chain, every checkpoint signature against the
// audit-signing keys of keys.json and every signed row hash, and prints a JSON report; the first
// problem names the row (seq) or checkpoint (number). With --witness it also checks that the log
// still contains, unchanged, the newest checkpoint the witness saw, and then records the newest one
// (a missing witness file is created: trust on first use).
// export writes {"version":1,"checkpoints":[...]} for outside witnesses; witness checks such an
// export offline against the witness file (the log only ever grows) and updates it.
// Exit codes: 0 verified, 1 tampering found or failure, 2 usage error.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/audit_checkpoint.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "db/audit_checkpoint_store.h"
#include "db/pool.h"
#include "tools/realdid/commands.h"
#include "tools/realdid/flags.h"

namespace realdid::cli {
namespace {

constexpr const char* kAuditUsage =
    "usage:\n"
    "  realdid audit verify  --dsn-file FILE --keys KEYS.json [--witness FILE]\n"
    "  realdid audit export  --dsn-file FILE --out FILE [--from N]\n"
    "  realdid audit witness --keys KEYS.json --checkpoints FILE --witness FILE\n";

int AuditUsage(const std::string& message) { return UsageError(kAuditUsage, message); }

// The DSN file may hold a password: it must not be readable by others; trailing CR/LF stripped.
Secret ReadDsnFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) InvalidInput("cannot access --dsn-file " + path);
  if ((st.st_mode & S_IRWXO) != 0) InvalidInput("--dsn-file " + path + " is accessible by others");
  std::string text = ReadFile(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  Secret s = Secret::FromString(text);
  std::fill(text.begin(), text.end(), '\0');
  if (s.empty()) InvalidInput("--dsn-file " + path + " is empty");
  return s;
}

// Every "audit-signing" key of keys.json, by kid (the kid must be the key's thumbprint).
std::map<std::string, jws::PublicKey> AuditKeys(const std::string& path) {
  json::Value m = json::Parse(ReadFile(path));
  const json::Value* keys = m.find("keys");
  if (keys == nullptr || !keys->is_array()) InvalidInput(path + ": no \"keys\" array");
  std::map<std::string, jws::PublicKey> out;
  for (const json::Value& k : keys->as_array()) {
    const json::Value* role = k.find("role");
    if (role == nullptr || !role->is_string() || role->as_string() != "audit-signing") continue;
    const json::Value& jwk = k.at("jwk");
    const std::string kid = jwk::Kid(jwk);
    if (k.at("kid").as_string() != kid) InvalidInput(path + ": audit kid is not its thumbprint");
    jws::PublicKey pk = jws::PublicKey::FromJwk(jwk);
    if (pk.is_rsa()) InvalidInput(path + ": the audit-signing key is not P-256");
    out.emplace(kid, std::move(pk));
  }
  if (out.empty()) InvalidInput(path + ": no audit-signing key");
  return out;
}

std::unique_ptr<db::Pool> OpenPool(const std::string& dsn_file) {
  db::PoolConfig pc;
  pc.dsn = ReadDsnFile(dsn_file);
  pc.size = 1;
  return std::make_unique<db::Pool>(std::move(pc));
}

std::optional<audit::WitnessState> LoadWitness(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  return audit::ParseWitness(ReadFile(path));
}

json::Value ReportJson(const audit::LogReport& r) {
  json::Value v = json::Object{};
  v.set("ok", r.ok);
  v.set("rows", r.rows);
  v.set("checkpoints", r.checkpoints);
  v.set("last_seq", r.last_seq);
  v.set("signed_seq", r.signed_seq);
  // Rows after the last checkpoint are chained but not yet signed: a truncation there is invisible.
  v.set("unsigned_rows", std::max<std::int64_t>(0, r.last_seq - r.signed_seq));
  if (r.finding) {
    json::Value f = json::Object{};
    f.set("kind", std::string(audit::FindingKindName(r.finding->kind)));
    if (r.finding->seq) f.set("seq", *r.finding->seq);
    if (r.finding->checkpoint) f.set("checkpoint", *r.finding->checkpoint);
    f.set("reason", r.finding->reason);
    v.set("finding", std::move(f));
  }
  return v;
}

int Report(const audit::LogReport& r) {
  std::cout << json::Serialize(ReportJson(r)) << "\n";
  if (!r.ok) {
    std::cerr << "realdid: audit log verification FAILED: " << r.finding->reason << "\n";
    return 1;
  }
  std::cerr << "realdid: audit log verified: " << r.rows << " rows, " << r.checkpoints
            << " checkpoints, signed through row " << r.signed_seq << "\n";
  return 0;
}

void UpdateWitness(const std::string& path, const audit::LogReport& r,
                   const std::optional<audit::WitnessState>& before) {
  if (!r.last_checkpoint) return;
  if (before && r.last_checkpoint->number <= before->number) return;
  WriteFileAtomically(path, audit::SerializeWitness(audit::WitnessOf(*r.last_checkpoint)) + "\n");
}

int Verify(const std::map<std::string, std::string>& f) {
  std::map<std::string, jws::PublicKey> keys = AuditKeys(f.at("--keys"));
  std::unique_ptr<db::Pool> pool = OpenPool(f.at("--dsn-file"));
  db::AuditVerifyOptions o;
  std::optional<audit::WitnessState> witness;
  if (f.count("--witness") != 0) witness = LoadWitness(f.at("--witness"));
  o.witness = witness;
  audit::LogReport r = db::VerifyAuditLog(*pool, std::move(keys), o);
  if (r.ok && f.count("--witness") != 0) UpdateWitness(f.at("--witness"), r, witness);
  return Report(r);
}

int Export(const std::map<std::string, std::string>& f) {
  std::int64_t from = 1;
  if (f.count("--from") != 0) {
    const std::string& s = f.at("--from");
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
      return AuditUsage("--from must be a positive integer");
    }
    from = std::stoll(s);
  }
  std::unique_ptr<db::Pool> pool = OpenPool(f.at("--dsn-file"));
  std::vector<audit::Checkpoint> cps = db::ExportCheckpoints(*pool, from);
  json::Array arr;
  for (const audit::Checkpoint& c : cps) arr.push_back(audit::CheckpointToJson(c));
  json::Value doc = json::Object{};
  doc.set("version", 1);
  doc.set("checkpoints", std::move(arr));
  WriteFileAtomically(f.at("--out"), json::Serialize(doc) + "\n");
  std::cerr << "realdid: exported " << cps.size() << " checkpoints\n";
  return 0;
}

int Witness(const std::map<std::string, std::string>& f) {
  std::map<std::string, jws::PublicKey> keys = AuditKeys(f.at("--keys"));
  json::ParseLimits limits;
  limits.max_bytes = std::size_t{1} << 30;
  json::Value doc = json::Parse(ReadFile(f.at("--checkpoints")), limits);
  if (!doc.is_object() || doc.as_object().size() != 2 || doc.at("version") != json::Value(1) ||
      !doc.at("checkpoints").is_array()) {
    InvalidInput("--checkpoints: not a checkpoint export");
  }
  std::optional<audit::WitnessState> witness = LoadWitness(f.at("--witness"));
  audit::LogVerifier v(std::move(keys));
  if (witness) v.AnchorAt(*witness);
  for (const json::Value& c : doc.at("checkpoints").as_array()) {
    if (!v.AddCheckpoint(audit::CheckpointFromJson(c))) break;
  }
  audit::LogReport r = v.Finish(/*rows_were_read=*/false);
  if (r.ok) UpdateWitness(f.at("--witness"), r, witness);
  json::Value out = ReportJson(r);
  std::cout << json::Serialize(out) << "\n";
  if (!r.ok) {
    std::cerr << "realdid: witness check FAILED: " << r.finding->reason << "\n";
    return 1;
  }
  std::cerr << "realdid: the log only grew: checkpoints through #"
            << (r.last_checkpoint ? r.last_checkpoint->number : (witness ? witness->number : 0))
            << "\n";
  return 0;
}

}  // namespace

int RunAudit(int argc, char** argv) {
  const std::string sub = argc >= 3 ? argv[2] : "";
  std::map<std::string, std::string> f;
  std::string error;
  if (sub == "verify") {
    if (!ParseFlags(argc, argv, 3, {"--dsn-file", "--keys", "--witness"}, f, error)) {
      return AuditUsage(error);
    }
    if (f.count("--dsn-file") == 0 || f.count("--keys") == 0) {
      return AuditUsage("missing --dsn-file or --keys");
    }
    return Verify(f);
  }
  if (sub == "export") {
    if (!ParseFlags(argc, argv, 3, {"--dsn-file", "--out", "--from"}, f, error)) {
      return AuditUsage(error);
    }
    if (f.count("--dsn-file") == 0 || f.count("--out") == 0) {
      return AuditUsage("missing --dsn-file or --out");
    }
    return Export(f);
  }
  if (sub == "witness") {
    if (!ParseFlags(argc, argv, 3, {"--keys", "--checkpoints", "--witness"}, f, error)) {
      return AuditUsage(error);
    }
    if (f.size() != 3) return AuditUsage("missing --keys, --checkpoints or --witness");
    return Witness(f);
  }
  return AuditUsage("unknown audit command: " + sub);
}

}  // namespace realdid::cli
