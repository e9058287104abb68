// db_growth: the database growth benchmark (issue 9). Starts a throwaway PostgreSQL 15 cluster
// (tests/support/pg_harness: initdb, roles, every migration), loads N synthetic issuances with
// COPY (persons with encrypted identity, signed sessions, issuance records with a 161-byte trace
// and a modulus-sized blinded message, two hash-chained audit rows each, revocation ids), and
// prints, each against a baseline measured in the same run:
//   - bytes per issuance with indexes, per table (pg_total_relation_size / pg_indexes_size over
//     every partition), and the cost of keeping the K-candidate commit blob;
//   - insert rates: COPY rows/s, single-row INSERTs (autocommit, as InsertIssuanceRecord does
//     them) and the service's signing transaction (record + audit row under the chain's advisory
//     lock) at concurrency 1 and 4;
//   - p50/p99 latency of the lookups warrants and revocation make (escrow -> issuance_id ->
//     record through the key table, the same without it, person -> records, revocation id
//     membership hit and miss, session by id, audit chain head), as ratios against a primary-key
//     lookup on a small table (schema_migrations) timed on the same connection.
//
//   db_growth [--records N (10000000)] [--records-per-person R (12)] [--months M (12)]
//             [--samples S (2000)] [--single-inserts I (2000)] [--revoked-percent P (1)]
//             [--modulus-bytes B (384)] [--k K (32)] [--shared-buffers SIZE (2GB)]
//             [--json FILE]
//
// The server runs durable (fsync, synchronous_commit, full_page_writes on), unlike the test
// harness's default. The data is synthetic but has the sizes and key distribution of real rows:
// random (incompressible) ciphertexts, records in time order, each person renewing every
// 30 days. Not a test: no assertions. Takes a while at 10 million on a small machine.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/audit_chain.h"
#include "core/base64url.h"
#include "core/bytes.h"
#include "tests/support/pg_harness.h"

namespace {

using Clock = std::chrono::steady_clock;
using realdid::Bytes;
using realdid::testing::PgHarness;
using realdid::testing::PgRole;

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kPgEpoch = 946684800;  // 2000-01-01T00:00:00Z, PostgreSQL's epoch
constexpr std::size_t kTraceLen = 161;
constexpr std::size_t kIdentityCtLen = 90;  // iv 12 + {"name":"\uXXXX x3","id_number":18} + tag
constexpr std::size_t kDataKeyCtLen = 60;   // iv 12 + AES-256 key 32 + tag 16

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Deterministic pseudo-random bytes (splitmix64): row i's keys can be regenerated for lookups
// without keeping 10 million of them in memory.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
void FillRandom(std::uint8_t* out, std::size_t n, std::uint64_t seed) {
  for (std::size_t off = 0; off < n; off += 8) {
    std::uint64_t v = Mix(seed ^ (off * 0xD6E8FEB86659FD93ULL));
    std::size_t take = std::min<std::size_t>(8, n - off);
    std::memcpy(out + off, &v, take);
  }
}
Bytes Rand(std::size_t n, std::uint64_t salt, std::uint64_t i) {
  Bytes b(n);
  FillRandom(b.data(), n, Mix(salt) ^ Mix(i + 0x5bd1e995ULL));
  return b;
}
enum Salt : std::uint64_t {
  kIssuanceId = 1, kSessionId, kPersonLookup, kIdentity, kDataKey, kSecret, kCommit, kTrace,
  kBlinded, kSignature, kRevocation, kMiss
};

// ---- libpq, minimally ----
class Conn {
 public:
  explicit Conn(const realdid::Secret& dsn) : c_(PQconnectdb(std::string(dsn.reveal_string()).c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) {
      std::string e = PQerrorMessage(c_);
      PQfinish(c_);
      throw std::runtime_error("connect: " + e);
    }
  }
  ~Conn() { PQfinish(c_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  PGconn* get() const { return c_; }

  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    Check(r, sql);
    std::vector<std::vector<std::string>> out;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
      out.push_back(std::move(row));
    }
    PQclear(r);
    return out;
  }
  std::string Scalar(const std::string& sql) {
    auto rows = Query(sql);
    return rows.empty() || rows[0].empty() ? std::string() : rows[0][0];
  }
  void Exec(const std::string& sql) { (void)Query(sql); }
  void Prepare(const std::string& name, const std::string& sql) {
    PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr);
    Check(r, sql);
    PQclear(r);
  }
  // Runs a prepared statement; a parameter is binary (bytea) when its bool is true, else text.
  int Run(const std::string& name, const std::vector<std::pair<std::string, bool>>& params) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const auto& [v, binary] : params) {
      values.push_back(v.data());
      lengths.push_back(static_cast<int>(v.size()));
      formats.push_back(binary ? 1 : 0);
    }
    PGresult* r = PQexecPrepared(c_, name.c_str(), static_cast<int>(params.size()), values.data(),
                                 lengths.data(), formats.data(), 0);
    Check(r, name);
    int n = PQntuples(r);
    PQclear(r);
    return n;
  }
  std::string RunScalar(const std::string& name,
                        const std::vector<std::pair<std::string, bool>>& params) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const auto& [v, binary] : params) {
      values.push_back(v.data());
      lengths.push_back(static_cast<int>(v.size()));
      formats.push_back(binary ? 1 : 0);
    }
    PGresult* r = PQexecPrepared(c_, name.c_str(), static_cast<int>(params.size()), values.data(),
                                 lengths.data(), formats.data(), 1);
    Check(r, name);
    std::string out;
    if (PQntuples(r) > 0) out.assign(PQgetvalue(r, 0, 0), static_cast<std::size_t>(PQgetlength(r, 0, 0)));
    PQclear(r);
    return out;
  }

  static void Check(PGresult* r, const std::string& what) {
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_COPY_IN) {
      std::string e = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error(what.substr(0, 80) + ": " + e);
    }
  }

 private:
  PGconn* c_;
};

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

// COPY ... FROM STDIN (FORMAT binary), buffered.
class CopyIn {
 public:
  CopyIn(Conn& conn, const std::string& target) : conn_(conn) {
    PGresult* r = PQexec(conn_.get(), ("COPY " + target + " FROM STDIN (FORMAT binary)").c_str());
    Conn::Check(r, "COPY " + target);
    PQclear(r);
    static const char kHeader[] = "PGCOPY\n\377\r\n";  // 11 bytes with the NUL
    buf_.insert(buf_.end(), kHeader, kHeader + 11);
    Be32(0);
    Be32(0);
  }
  void Row(std::int16_t fields) {
    Be16(static_cast<std::uint16_t>(fields));
    if (buf_.size() > (1U << 20)) Flush();
  }
  void Bin(const std::uint8_t* p, std::size_t n) {
    Be32(static_cast<std::uint32_t>(n));
    buf_.insert(buf_.end(), p, p + n);
  }
  void Bin(const Bytes& b) { Bin(b.data(), b.size()); }
  void Text(std::string_view s) {
    Bin(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }
  void I64(std::int64_t v) {
    Be32(8);
    Be64(static_cast<std::uint64_t>(v));
  }
  void I32(std::int32_t v) {
    Be32(4);
    Be32(static_cast<std::uint32_t>(v));
  }
  void Bool(bool v) {
    Be32(1);
    buf_.push_back(v ? 1 : 0);
  }
  void Null() { Be32(0xFFFFFFFFU); }
  void Timestamp(std::int64_t unix_seconds) { I64((unix_seconds - kPgEpoch) * 1000000); }
  void Finish() {
    Be16(0xFFFF);
    Flush();
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) throw std::runtime_error("PQputCopyEnd");
    PGresult* r = PQgetResult(conn_.get());
    Conn::Check(r, "COPY end");
    PQclear(r);
    while ((r = PQgetResult(conn_.get())) != nullptr) PQclear(r);
  }

 private:
  void Flush() {
    if (!buf_.empty() && PQputCopyData(conn_.get(), reinterpret_cast<const char*>(buf_.data()),
                                       static_cast<int>(buf_.size())) != 1) {
      throw std::runtime_error(std::string("PQputCopyData: ") + PQerrorMessage(conn_.get()));
    }
    buf_.clear();
  }
  void Be16(std::uint16_t v) {
    buf_.push_back(static_cast<std::uint8_t>(v >> 8));
    buf_.push_back(static_cast<std::uint8_t>(v));
  }
  void Be32(std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) buf_.push_back(static_cast<std::uint8_t>(v >> s));
  }
  void Be64(std::uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) buf_.push_back(static_cast<std::uint8_t>(v >> s));
  }
  Conn& conn_;
  std::vector<std::uint8_t> buf_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(std::llround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(idx, v.size() - 1)];
}

struct Options {
  std::int64_t records = 10000000;
  std::int64_t per_person = 12;
  std::int64_t months = 12;
  std::int64_t samples = 2000;
  std::int64_t single = 2000;
  double revoked_percent = 1.0;
  std::int64_t modulus = 384;
  std::int64_t k = 32;
  std::string shared_buffers = "2GB";
  std::string json;
};

// The synthetic world: issuance i belongs to person (i % persons) + 1, is created at
// start + i * span / records, and has two audit rows (2i+1: session opened, 2i+2: signed).
struct World {
  std::int64_t records = 0;
  std::int64_t persons = 0;
  std::int64_t start = 0;
  std::int64_t span = 0;
  std::int64_t CreatedAt(std::int64_t i) const {
    return start + static_cast<std::int64_t>(static_cast<double>(i) * static_cast<double>(span) /
                                             static_cast<double>(std::max<std::int64_t>(1, records)));
  }
  std::int64_t PersonOf(std::int64_t i) const { return (i % persons) + 1; }
};

std::string KidOf() { return std::string(43, 'K'); }

void WriteSession(CopyIn& c, const World& w, std::int64_t i, std::int64_t modulus, std::int64_t k,
                  const Bytes* commit_blob) {
  const std::int64_t at = w.CreatedAt(i) - 60;
  const std::int64_t iat = at - (at % kDay);
  const auto u = static_cast<std::uint64_t>(i);
  c.Row(20);
  c.Bin(Rand(16, kSessionId, u));
  c.I64(w.PersonOf(i));
  c.Bin(Rand(32, kSecret, u));
  c.Bin(Rand(16, kIssuanceId, u));
  c.Text("https://realdid.example.gov.cn");
  c.Text(KidOf());
  c.Text(std::string(43, 'E'));
  c.I64(iat);
  c.I64(iat + 30 * kDay);
  c.Bool(true);
  c.Bool(false);
  c.Text("11");
  c.I32(static_cast<std::int32_t>(k));
  c.Text("signed");
  c.Bin(Rand(32, kCommit, u));
  if (commit_blob != nullptr) {
    c.Bin(*commit_blob);
  } else {
    c.Null();
  }
  c.I32(static_cast<std::int32_t>(u % static_cast<std::uint64_t>(k)));
  c.Bin(Rand(static_cast<std::size_t>(modulus), kSignature, u));
  c.Timestamp(at);
  c.Timestamp(at + 600);
}
const char* kSessionCopy =
    "issuance_sessions (id, person_id, secret_hash, issuance_id, iss, kid, escrow_kid, iat, exp, "
    "age_over_18, age_over_60, province, k, state, commit_hash, commit_blob, challenge, "
    "blind_signature, created_at, expires_at)";

struct Table {
  double total = 0;
  double indexes = 0;
  double heap = 0;
};
Table SizeOf(Conn& c, const std::string& table, bool partitioned) {
  std::string from = partitioned
                         ? "(SELECT relid FROM pg_partition_tree('" + table + "') WHERE isleaf) t"
                         : "(SELECT '" + table + "'::regclass AS relid) t";
  auto row = c.Query("SELECT sum(pg_total_relation_size(relid)), sum(pg_indexes_size(relid)), "
                     "sum(pg_relation_size(relid)) FROM " + from)[0];
  return {std::stod(row[0]), std::stod(row[1]), std::stod(row[2])};
}

struct Lat {
  std::string name;
  double p50 = 0;
  double p99 = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "db_growth: " << k << " needs a value\n";
      return 2;
    }
    std::string v = argv[++i];
    if (k == "--records") o.records = std::stoll(v);
    else if (k == "--records-per-person") o.per_person = std::stoll(v);
    else if (k == "--months") o.months = std::stoll(v);
    else if (k == "--samples") o.samples = std::stoll(v);
    else if (k == "--single-inserts") o.single = std::stoll(v);
    else if (k == "--revoked-percent") o.revoked_percent = std::stod(v);
    else if (k == "--modulus-bytes") o.modulus = std::stoll(v);
    else if (k == "--k") o.k = std::stoll(v);
    else if (k == "--shared-buffers") o.shared_buffers = v;
    else if (k == "--json") o.json = v;
    else {
      std::cerr << "db_growth: unknown option " << k
                << "\nusage: db_growth [--records N] [--records-per-person R] [--months M] "
                   "[--samples S] [--single-inserts I] [--revoked-percent P] "
                   "[--modulus-bytes B] [--k K] [--shared-buffers SIZE] [--json FILE]\n";
      return 2;
    }
  }
  if (o.records < 1 || o.per_person < 1 || o.months < 1 || o.samples < 10 || o.single < 10 ||
      o.modulus < 64 || o.k < 2) {
    std::cerr << "db_growth: values out of range\n";
    return 2;
  }
  try {
    const auto t_all = Clock::now();
    World w;
    w.records = o.records;
    w.persons = std::max<std::int64_t>(1, o.records / o.per_person);
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    w.span = o.months * 30 * kDay;
    w.start = now - w.span - kDay;
    // Extra signed sessions without records: targets of the single-row insert phases.
    const std::int64_t extra = 3 * o.single;

    std::printf("db_growth: %lld issuances, %lld persons, %lld months, modulus %lld bytes\n",
                static_cast<long long>(o.records), static_cast<long long>(w.persons),
                static_cast<long long>(o.months), static_cast<long long>(o.modulus));
    PgHarness pg;
    {
      Conn su(pg.Dsn(PgRole::kSuperuser));
      su.Exec("ALTER SYSTEM SET shared_buffers = '" + o.shared_buffers + "'");
      su.Exec("ALTER SYSTEM SET fsync = on");
      su.Exec("ALTER SYSTEM SET synchronous_commit = on");
      su.Exec("ALTER SYSTEM SET full_page_writes = on");
      su.Exec("ALTER SYSTEM SET max_wal_size = '8GB'");
      su.Exec("ALTER SYSTEM SET checkpoint_timeout = '15min'");
      su.Exec("ALTER SYSTEM SET maintenance_work_mem = '512MB'");
    }
    pg.Stop();
    pg.Start();
    pg.Migrate();
    Conn su(pg.Dsn(PgRole::kSuperuser));
    Conn owner(pg.Dsn(PgRole::kOwner));
    std::printf("  server: PostgreSQL %s, shared_buffers %s, fsync %s\n",
                su.Scalar("SHOW server_version").c_str(), su.Scalar("SHOW shared_buffers").c_str(),
                su.Scalar("SHOW fsync").c_str());
    // Monthly partitions for the whole time line (as realdid_ensure_partitions would have made).
    std::tm start_tm{};
    const auto start_t = static_cast<std::time_t>(w.start - kDay);
    gmtime_r(&start_t, &start_tm);
    for (std::int64_t m = 0; m <= o.months + 2; ++m) {
      const long long month_index = start_tm.tm_year * 12LL + start_tm.tm_mon + m;
      char day[32];
      std::snprintf(day, sizeof day, "%04lld-%02lld-01", month_index / 12 + 1900,
                    month_index % 12 + 1);
      owner.Exec(std::string("SELECT realdid_month_partition('issuance_records', '") + day +
                 "'), realdid_month_partition('audit_log', '" + day + "')");
    }

    std::map<std::string, double> copy_rate;
    auto timed_copy = [&](const std::string& name, std::int64_t rows,
                          const std::function<void()>& body) {
      auto t0 = Clock::now();
      body();
      double s = Seconds(t0);
      copy_rate[name] = static_cast<double>(rows) / s;
      std::printf("  COPY %-18s %11lld rows in %7.1f s: %9.0f rows/s\n", name.c_str(),
                  static_cast<long long>(rows), s, copy_rate[name]);
      std::fflush(stdout);
    };

    timed_copy("persons", w.persons, [&] {
      CopyIn c(owner, "persons (id_lookup, identity_ct, data_key_ct)");
      for (std::int64_t p = 0; p < w.persons; ++p) {
        auto u = static_cast<std::uint64_t>(p);
        c.Row(3);
        c.Bin(Rand(32, kPersonLookup, u));
        c.Bin(Rand(kIdentityCtLen, kIdentity, u));
        c.Bin(Rand(kDataKeyCtLen, kDataKey, u));
      }
      c.Finish();
    });
    timed_copy("issuance_sessions", o.records + extra, [&] {
      CopyIn c(owner, kSessionCopy);
      for (std::int64_t i = 0; i < o.records + extra; ++i) {
        WriteSession(c, w, i, o.modulus, o.k, nullptr);
      }
      c.Finish();
    });
    timed_copy("issuance_records", o.records, [&] {
      CopyIn c(owner,
               "issuance_records (issuance_id, person_id, session_id, kid, trace, blinded_msg, "
               "created_at)");
      for (std::int64_t i = 0; i < o.records; ++i) {
        auto u = static_cast<std::uint64_t>(i);
        c.Row(7);
        c.Bin(Rand(16, kIssuanceId, u));
        c.I64(w.PersonOf(i));
        c.Bin(Rand(16, kSessionId, u));
        c.Text(KidOf());
        c.Bin(Rand(kTraceLen, kTrace, u));
        Bytes b = Rand(static_cast<std::size_t>(o.modulus), kBlinded, u);
        b[0] = 0;
        c.Bin(b);
        c.Timestamp(w.CreatedAt(i));
      }
      c.Finish();
    });
    Bytes head = realdid::audit::GenesisHash();
    std::int64_t seq = 0;
    timed_copy("audit_log", 2 * o.records, [&] {
      CopyIn c(owner, "audit_log (seq, prev_hash, row_hash, kind, content, created_at)");
      for (std::int64_t i = 0; i < o.records; ++i) {
        auto u = static_cast<std::uint64_t>(i);
        std::string sid = realdid::b64url::Encode(Rand(16, kSessionId, u));
        const std::string kid_person =
            "\"kid\":\"" + KidOf() + "\",\"person_id\":" + std::to_string(w.PersonOf(i));
        const std::string opened = "{\"k\":" + std::to_string(o.k) + "," + kid_person +
                                   ",\"session_id\":\"" + sid + "\"}";
        const std::string signed_ = "{" + kid_person + ",\"record_hash\":\"" +
                                    realdid::b64url::Encode(Rand(32, kCommit, u + 7)) +
                                    "\",\"session_id\":\"" + sid + "\"}";
        const std::pair<const char*, const std::string*> rows[2] = {
            {"issuance.session_opened", &opened}, {"issuance.signed", &signed_}};
        for (int r = 0; r < 2; ++r) {
          ++seq;
          Bytes content = realdid::ToBytes(*rows[r].second);
          Bytes h = realdid::audit::RowHash(seq, head, rows[r].first, content);
          c.Row(6);
          c.I64(seq);
          c.Bin(head);
          c.Bin(h);
          c.Text(rows[r].first);
          c.Bin(content);
          c.Timestamp(w.CreatedAt(i) - (r == 0 ? 60 : 0));
          head = std::move(h);
        }
      }
      c.Finish();
    });
    const bool have_revocations = !owner.Scalar("SELECT to_regclass('revocations')").empty();
    const auto revoked = static_cast<std::int64_t>(static_cast<double>(o.records) *
                                                   o.revoked_percent / 100.0);
    if (have_revocations && revoked > 0) {
      owner.Exec("INSERT INTO revocation_lists (kid, version, updated_at) VALUES ('" + KidOf() +
                 "', 1, now())");
      timed_copy("revocations", revoked, [&] {
        CopyIn c(owner, "revocations (kid, revocation_id, version, source)");
        for (std::int64_t i = 0; i < revoked; ++i) {
          c.Row(4);
          c.Text(KidOf());
          c.Bin(Rand(32, kRevocation, static_cast<std::uint64_t>(i)));
          c.I64(1);
          c.Text("holder");
        }
        c.Finish();
      });
    }
    {
      auto t0 = Clock::now();
      su.Exec("VACUUM ANALYZE");
      su.Exec("CHECKPOINT");
      std::printf("  VACUUM ANALYZE + CHECKPOINT: %.1f s\n", Seconds(t0));
    }

    // ---- sizes ----
    const double n = static_cast<double>(o.records);
    Table records = SizeOf(su, "issuance_records", true);
    Table keys = SizeOf(su, "issuance_record_keys", false);
    Table sessions = SizeOf(su, "issuance_sessions", false);
    Table audit = SizeOf(su, "audit_log", true);
    Table audit_keys = SizeOf(su, "audit_log_keys", false);
    Table persons = SizeOf(su, "persons", false);
    const double sessions_n = n + static_cast<double>(extra);
    std::printf("\nbytes per issuance (with indexes; indexes in brackets):\n");
    auto line = [&](const char* what, const Table& t, double rows) {
      std::printf("  %-26s %8.1f  [%7.1f]   (%.2f GB)\n", what, t.total / rows, t.indexes / rows,
                  t.total / 1e9);
    };
    line("issuance_records", records, n);
    line("issuance_record_keys", keys, n);
    line("issuance_sessions (no blob)", sessions, sessions_n);
    line("audit_log (2 rows)", audit, n);
    line("audit_log_keys (2 rows)", audit_keys, n);
    line("persons (per person)", persons, static_cast<double>(w.persons));
    const double per_issuance = (records.total + keys.total + audit.total + audit_keys.total) / n +
                                sessions.total / sessions_n;
    const double raw = static_cast<double>(16 + 8 + 16 + 43 + kTraceLen) +
                       static_cast<double>(o.modulus) + 8;
    std::printf("  %-26s %8.1f   (raw record payload %.0f bytes: ratio %.2f)\n",
                "sum per issuance", per_issuance, raw, per_issuance / raw);

    // The commit blob (K candidates of modulus + trace bytes) if sessions keep it.
    double blob_per_session = 0;
    {
      const std::int64_t blobs = std::min<std::int64_t>(2000, std::max<std::int64_t>(100, o.records / 1000));
      const double before = SizeOf(su, "issuance_sessions", false).total;
      Bytes blob(static_cast<std::size_t>(o.k) * (static_cast<std::size_t>(o.modulus) + kTraceLen));
      CopyIn c(owner, kSessionCopy);
      for (std::int64_t i = 0; i < blobs; ++i) {
        FillRandom(blob.data(), blob.size(), static_cast<std::uint64_t>(i) + 77);
        WriteSession(c, w, o.records + extra + i, o.modulus, o.k, &blob);
      }
      c.Finish();
      su.Exec("VACUUM ANALYZE issuance_sessions");
      blob_per_session = (SizeOf(su, "issuance_sessions", false).total - before) /
                         static_cast<double>(blobs);
      std::printf("  a session that keeps its commit blob (K=%lld): %.0f bytes (blob %zu bytes)\n",
                  static_cast<long long>(o.k), blob_per_session, blob.size());
    }

    // ---- single-row inserts ----
    std::printf("\ninserts:\n");
    std::map<std::string, double> insert_rate;
    const char* kInsertRecord =
        "INSERT INTO issuance_records (issuance_id, person_id, session_id, kid, trace, "
        "blinded_msg, created_at) VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint))";
    auto record_params = [&](std::int64_t i) {
      auto u = static_cast<std::uint64_t>(i);
      return std::vector<std::pair<std::string, bool>>{
          {Str(Rand(16, kIssuanceId, u)), true},
          {std::to_string(w.PersonOf(i)), false},
          {Str(Rand(16, kSessionId, u)), true},
          {KidOf(), false},
          {Str(Rand(kTraceLen, kTrace, u)), true},
          {Str(Rand(static_cast<std::size_t>(o.modulus), kBlinded, u)), true},
          {std::to_string(now), false}};
    };
    // Autocommit single-row INSERTs by `threads` connections (commits of different connections
    // share a WAL flush: group commit).
    auto single_rows = [&](int threads, std::int64_t first, std::int64_t count) {
      std::vector<std::thread> ts;
      std::vector<std::string> errors(static_cast<std::size_t>(threads));
      auto t0 = Clock::now();
      for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
          try {
            Conn a(pg.Dsn(PgRole::kAuthority));
            a.Prepare("ins", kInsertRecord);
            for (std::int64_t i = first + t; i < first + count; i += threads) {
              a.Run("ins", record_params(i));
            }
          } catch (const std::exception& e) {
            errors[static_cast<std::size_t>(t)] = e.what();
          }
        });
      }
      for (auto& th : ts) th.join();
      for (const auto& e : errors) {
        if (!e.empty()) throw std::runtime_error("single-row insert: " + e);
      }
      return static_cast<double>(count) / Seconds(t0);
    };
    insert_rate["single_row_c1"] = single_rows(1, o.records, o.single / 2);
    std::printf("  single-row INSERT issuance_records (autocommit), 1 connection:  %9.0f rows/s\n",
                insert_rate["single_row_c1"]);
    insert_rate["single_row_c4"] = single_rows(4, o.records + o.single / 2, o.single - o.single / 2);
    std::printf("  single-row INSERT issuance_records (autocommit), 4 connections: %9.0f rows/s\n",
                insert_rate["single_row_c4"]);
    // The signing transaction: record + audit row under the chain's advisory lock, as
    // IssuanceService::Sign commits it (minus the HSM call), by `threads` connections.
    auto sign_tx = [&](int threads, std::int64_t first, std::int64_t count) {
      std::vector<std::thread> ts;
      std::vector<std::string> errors(static_cast<std::size_t>(threads));
      auto t0 = Clock::now();
      for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
          try {
            Conn a(pg.Dsn(PgRole::kAuthority));
            a.Prepare("ins", kInsertRecord);
            a.Prepare("head", "SELECT seq, row_hash FROM audit_log_keys ORDER BY seq DESC LIMIT 1");
            a.Prepare("audit",
                      "INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content) "
                      "VALUES ($1, $2, $3, $4, $5)");
            for (std::int64_t i = first + t; i < first + count; i += threads) {
              a.Exec("BEGIN");
              a.Run("ins", record_params(i));
              a.Exec("SELECT pg_advisory_xact_lock(" + std::to_string(0x52444155LL) +
                     ")");  // "RDAU", as AppendAudit
              PGresult* r = PQexecPrepared(a.get(), "head", 0, nullptr, nullptr, nullptr, 1);
              Conn::Check(r, "head");
              std::int64_t last = 0;
              Bytes prev(32, 0);
              if (PQntuples(r) == 1) {
                const auto* p = reinterpret_cast<const std::uint8_t*>(PQgetvalue(r, 0, 0));
                for (int b = 0; b < 8; ++b) last = (last << 8) | p[b];
                const auto* h = reinterpret_cast<const std::uint8_t*>(PQgetvalue(r, 0, 1));
                prev.assign(h, h + 32);
              }
              PQclear(r);
              Bytes content = realdid::ToBytes("{\"kid\":\"" + KidOf() + "\",\"n\":" +
                                               std::to_string(i) + "}");
              Bytes h = realdid::audit::RowHash(last + 1, prev, "issuance.signed", content);
              a.Run("audit", {{std::to_string(last + 1), false},
                              {Str(prev), true},
                              {Str(h), true},
                              {"issuance.signed", false},
                              {Str(content), true}});
              a.Exec("COMMIT");
            }
          } catch (const std::exception& e) {
            errors[static_cast<std::size_t>(t)] = e.what();
          }
        });
      }
      for (auto& th : ts) th.join();
      for (const auto& e : errors) {
        if (!e.empty()) throw std::runtime_error("signing transaction: " + e);
      }
      return static_cast<double>(count) / Seconds(t0);
    };
    insert_rate["sign_tx_c1"] = sign_tx(1, o.records + o.single, o.single);
    std::printf("  signing transaction (record + audit row), 1 connection:  %9.0f tx/s\n",
                insert_rate["sign_tx_c1"]);
    insert_rate["sign_tx_c4"] = sign_tx(4, o.records + 2 * o.single, o.single);
    std::printf("  signing transaction (record + audit row), 4 connections: %9.0f tx/s\n",
                insert_rate["sign_tx_c4"]);

    // ---- lookups ----
    std::printf("\nlookups (%lld random keys each; microseconds):\n",
                static_cast<long long>(o.samples));
    Conn warrant(pg.Dsn(PgRole::kWarrant));
    Conn auth(pg.Dsn(PgRole::kAuthority));
    const std::string record_cols =
        "issuance_id, person_id, session_id, kid, trace, blinded_msg, "
        "extract(epoch FROM created_at)::bigint AS created_at";
    auth.Prepare("base", "SELECT version, name FROM schema_migrations WHERE version = $1::int");
    warrant.Prepare("base", "SELECT version, name FROM schema_migrations WHERE version = $1::int");
    warrant.Prepare("by_id", "SELECT " + record_cols +
                                 " FROM issuance_records WHERE issuance_id = $1 AND created_at = "
                                 "(SELECT created_at FROM issuance_record_keys WHERE "
                                 "issuance_id = $1)");
    warrant.Prepare("by_id_all", "SELECT " + record_cols +
                                     " FROM issuance_records WHERE issuance_id = $1");
    warrant.Prepare("by_person", "SELECT " + record_cols +
                                     " FROM issuance_records WHERE person_id = $1::bigint "
                                     "ORDER BY created_at, issuance_id");
    auth.Prepare("session", "SELECT * FROM issuance_sessions WHERE id = $1");
    auth.Prepare("head", "SELECT seq, row_hash FROM audit_log_keys ORDER BY seq DESC LIMIT 1");
    if (have_revocations) {
      auth.Prepare("revoked",
                   "SELECT 1 FROM revocations WHERE kid = $1 AND revocation_id = $2");
    }
    std::vector<std::string> versions;  // the baseline's keys
    for (const auto& row : owner.Query("SELECT version FROM schema_migrations")) {
      versions.push_back(row[0]);
    }
    // Fixed seed on purpose: the same keys are looked up in every run (reproducible figures).
    std::mt19937_64 rng(20260525);  // NOLINT(cert-msc51-cpp)
    auto pick = [&](std::int64_t n_) {
      return static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n_));
    };
    auto base_params = [&] {
      return std::vector<std::pair<std::string, bool>>{
          {versions[static_cast<std::size_t>(pick(static_cast<std::int64_t>(versions.size())))],
           false}};
    };
    // Each sample runs the baseline and then the lookup on the same connection, so both see the
    // same machine load; the ratio compares the two distributions.
    struct Paired {
      Lat target;
      Lat base;
    };
    using ParamFn = std::function<std::vector<std::pair<std::string, bool>>()>;
    auto time_it = [&](Conn& c, const std::string& name, const ParamFn& params, int expect_min) {
      std::vector<double> us;
      std::vector<double> base_us;
      us.reserve(static_cast<std::size_t>(o.samples));
      base_us.reserve(static_cast<std::size_t>(o.samples));
      for (std::int64_t s = 0; s < o.samples; ++s) {
        auto bp = base_params();
        auto p = params();
        auto t0 = Clock::now();
        (void)c.Run("base", bp);
        auto t1 = Clock::now();
        int rows = c.Run(name, p);
        auto t2 = Clock::now();
        base_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
        if (rows < expect_min) throw std::runtime_error(name + ": expected rows, got none");
      }
      return Paired{Lat{name, Percentile(us, 0.5), Percentile(us, 0.99)},
                    Lat{"base", Percentile(base_us, 0.5), Percentile(base_us, 0.99)}};
    };
    auto random_issuance = [&] {
      return std::vector<std::pair<std::string, bool>>{
          {Str(Rand(16, kIssuanceId, static_cast<std::uint64_t>(pick(o.records)))), true}};
    };
    std::vector<std::pair<std::string, Paired>> lat;
    (void)time_it(auth, "base", base_params, 0);  // warm-up
    (void)time_it(warrant, "base", base_params, 0);
    lat.emplace_back("escrow -> issuance_id -> record (key table)",
                     time_it(warrant, "by_id", random_issuance, 1));
    lat.emplace_back("issuance_id -> record (every partition)",
                     time_it(warrant, "by_id_all", random_issuance, 1));
    lat.emplace_back("person -> records", time_it(warrant, "by_person", [&] {
                       return std::vector<std::pair<std::string, bool>>{
                           {std::to_string(1 + pick(w.persons)), false}};
                     }, 1));
    lat.emplace_back("session by id", time_it(auth, "session", [&] {
                       return std::vector<std::pair<std::string, bool>>{
                           {Str(Rand(16, kSessionId, static_cast<std::uint64_t>(pick(o.records)))),
                            true}};
                     }, 1));
    lat.emplace_back("audit chain head", time_it(auth, "head", [] {
                       return std::vector<std::pair<std::string, bool>>{};
                     }, 1));
    if (have_revocations && revoked > 0) {
      lat.emplace_back("revocation id: member", time_it(auth, "revoked", [&] {
                         return std::vector<std::pair<std::string, bool>>{
                             {KidOf(), false},
                             {Str(Rand(32, kRevocation, static_cast<std::uint64_t>(pick(revoked)))),
                              true}};
                       }, 1));
      lat.emplace_back("revocation id: not a member", time_it(auth, "revoked", [&] {
                         return std::vector<std::pair<std::string, bool>>{
                             {KidOf(), false},
                             {Str(Rand(32, kMiss, static_cast<std::uint64_t>(pick(o.records)))),
                              true}};
                       }, 0));
    }
    std::printf("  baseline: primary-key lookup of schema_migrations, paired with each lookup\n");
    std::vector<std::pair<double, double>> ratios;
    for (const auto& [what, l] : lat) {
      ratios.emplace_back(l.target.p50 / l.base.p50, l.target.p99 / l.base.p99);
      std::printf("  %-44s p50 %8.1f p99 %8.1f | base p50 %6.1f p99 %8.1f | x%.2f x%.2f\n",
                  what.c_str(), l.target.p50, l.target.p99, l.base.p50, l.base.p99,
                  ratios.back().first, ratios.back().second);
    }
    std::printf("\ntotal wall time: %.0f s\n", Seconds(t_all));

    if (!o.json.empty()) {
      std::ofstream j(o.json, std::ios::trunc);
      j << "{\"benchmark\":\"db_growth\",\"records\":" << o.records << ",\"persons\":" << w.persons
        << ",\"modulus_bytes\":" << o.modulus << ",\"bytes_per_issuance\":{"
        << "\"issuance_records\":" << records.total / n
        << ",\"issuance_records_indexes\":" << records.indexes / n
        << ",\"issuance_record_keys\":" << keys.total / n
        << ",\"issuance_sessions\":" << sessions.total / sessions_n
        << ",\"audit_log\":" << audit.total / n << ",\"audit_log_keys\":" << audit_keys.total / n
        << ",\"sum\":" << per_issuance << ",\"session_with_commit_blob\":" << blob_per_session
        << "},\"bytes_per_person\":" << persons.total / static_cast<double>(w.persons)
        << ",\"copy_rows_per_s\":{";
      bool first = true;
      for (const auto& [k, v] : copy_rate) {
        j << (first ? "" : ",") << "\"" << k << "\":" << v;
        first = false;
      }
      j << "},\"insert_per_s\":{";
      first = true;
      for (const auto& [k, v] : insert_rate) {
        j << (first ? "" : ",") << "\"" << k << "\":" << v;
        first = false;
      }
      j << "},\"lookups_us\":[";
      for (std::size_t x = 0; x < lat.size(); ++x) {
        j << (x == 0 ? "" : ",") << "{\"name\":\"" << lat[x].first << "\",\"p50\":"
          << lat[x].second.target.p50 << ",\"p99\":" << lat[x].second.target.p99
          << ",\"base_p50\":" << lat[x].second.base.p50
          << ",\"base_p99\":" << lat[x].second.base.p99
          << ",\"p50_ratio\":" << ratios[x].first << ",\"p99_ratio\":" << ratios[x].second
          << "}";
      }
      j << "]}\n";
      std::printf("json: %s\n", o.json.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "db_growth: %s\n", e.what());
    return 1;
  }
  return 0;
}
