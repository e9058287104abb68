// "No identifying data anywhere it should not be" (issue 5): after real issuances, a CTID failure,
// an invalid ID number, a proven cheat and its lockout, a credential-scoped warrant executed by the
// real warrant component (the moment a name and ID number are decrypted) and a person-scoped one,
// and an audit verification, the residents' names and ID numbers (in clear, as hex and as
// base64/base64url, and JSON-escaped) appear in no log line of any component (the CTID
// simulator's log aside: it plays the ministry, which knows them; the warrant component's stdout
// and stderr included), in no line of the PostgreSQL server log with every statement and its
// parameters logged (log_statement = all, log_min_duration_statement = 0), and in no column of a
// pg_dump taken as the database superuser after the executions. Positive controls prove each
// haystack is real (statements are logged, the dump holds the issuance and warrant rows) and that
// the identity really passed through the warrant component (its answer names the resident).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/bytes.h"
#include "core/credential.h"
#include "core/json.h"
#include "tests/e2e/stack.h"
#include "tests/warrant/warrant_harness.h"
#include "wallet/client.h"
#include "wallet/issuance.h"
#include "wallet/wallet_file.h"

namespace realdid::testing {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string Base64Std(ByteView b) {
  std::string s = b64url::Encode(b);
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  return s;
}

// Every encoding of `value` that a careless log line or column could hold.
std::map<std::string, std::string> Forms(const std::string& value) {
  std::map<std::string, std::string> f;
  f["clear"] = value;
  std::string quoted = json::Quote(value);
  f["json"] = quoted.substr(1, quoted.size() - 2);
  f["hex"] = ToHex(AsBytes(value));
  f["HEX"] = Upper(ToHex(AsBytes(value)));
  f["base64url"] = b64url::Encode(AsBytes(value));
  f["base64"] = Base64Std(AsBytes(value));
  return f;
}

TEST(PrivacyE2eTest, NoNameOrIdNumberInAnyLogOrColumn) {
  StackOptions so;
  so.rsa_bits = 2048;
  so.k = 4;
  so.min_k = 2;
  so.ctid_population = 1000;
  so.admin = true;  // the internal client CA: auditors' certificates for the warrant component
  E2eStack stack(so);

  // Every statement and its parameters into the server log, from the authority's start on.
  {
    std::unique_ptr<db::Pool> su = stack.pg().MakePool(PgRole::kSuperuser, 1);
    db::Lease lease = su->Acquire();
    lease.Exec("log_all", "ALTER SYSTEM SET log_statement = 'all'");
    lease.Exec("log_all", "ALTER SYSTEM SET log_min_duration_statement = 0");
    lease.Exec("log_all", "ALTER SYSTEM SET log_connections = on");
    lease.Exec("log_all", "SELECT pg_reload_conf()");
  }
  stack.KillAuthority(SIGTERM);
  stack.StartAuthority();

  wallet::AuthorityClient authority(stack.authority_url(), stack.AuthorityTls());
  wallet::CtidAppClient ctid(stack.ctid_url(), stack.CtidTls());
  std::vector<wallet::Resident> residents;
  const std::int64_t now = wallet::SystemNow();

  // 1. An issuance through the wallet library, presented and verified.
  residents.push_back(ctid.GetResident(11));
  wallet::IssuedCredential cred = wallet::Issue(authority, ctid, residents.back());
  wallet::SaveWallet(stack.dir() / "w.json", stack.authority_url(), cred);
  std::string pres = wallet::Present(wallet::LoadWallet(stack.dir() / "w.json"),
                                     {"age_over_18", "province"}, "https://rp.example", "n-1", now);
  (void)wallet::VerifyOffline(authority.FetchKeySet(), pres, "https://rp.example", "n-1", now);

  // 2. An issuance through the `realdid` command line (its output is a log too).
  residents.push_back(ctid.GetResident(12));
  std::string cli_out;
  ASSERT_EQ(RunCommand({E2eStack::Binary("tools/realdid/realdid"), "wallet", "issue",
                        "--authority", stack.authority_url(), "--ca", stack.ca_file(), "--ctid",
                        stack.ctid_url(), "--ctid-ca", stack.ca_file(), "--resident", "12", "--out",
                        (stack.dir() / "w2.json").string()},
                       &cli_out),
            0)
      << cli_out;
  std::ofstream(stack.dir() / "realdid-cli.log") << cli_out;

  // 3. CTID refuses: the token was made for the right name, the session names another.
  residents.push_back(ctid.GetResident(13));
  {
    const wallet::Resident& r = residents.back();
    std::string nonce = authority.GetNonce();
    std::string token = ctid.Authenticate(r.id_number, r.name, nonce);
    EXPECT_THROW(authority.OpenSession(r.name + " Wrong", r.id_number, nonce, token),
                 wallet::ServerRefusal);
    residents.push_back(wallet::Resident{r.name + " Wrong", r.id_number});
  }

  // 4. An ID number with a wrong check digit.
  {
    wallet::Resident bad = ctid.GetResident(14);
    char& check = bad.id_number.back();
    check = check == '1' ? '2' : '1';
    std::string nonce = authority.GetNonce();
    EXPECT_THROW(authority.OpenSession(bad.name, bad.id_number, nonce, "token"),
                 wallet::ServerRefusal);
    residents.push_back(bad);
  }

  // 5. A proven cheat (a repeated jti across candidates), then the lockout.
  residents.push_back(ctid.GetResident(15));
  {
    auto first = std::make_shared<Bytes>();
    wallet::TamperForTesting t;
    t.inputs = [first](std::size_t i, wallet::CandidateInputs& in) {
      if (i == 0) *first = in.jti;
      if (i > 0) in.jti = *first;
    };
    wallet::IssueOptions o;
    o.tamper = &t;
    EXPECT_THROW(wallet::Issue(authority, ctid, residents.back(), o), wallet::ServerRefusal);
    EXPECT_THROW(wallet::Issue(authority, ctid, residents.back()), wallet::ServerRefusal);
  }

  // 6. The warrant component (started after the statement log is on): a credential-scoped warrant
  // on the first resident's presentation, filed by alice, approved by bob and carol with their own
  // tokens, executed over mutual TLS; then a person-scoped warrant on the person it named.
  std::string warrant_stdout;
  {
    WarrantHarness warrant(stack, {"alice", "bob", "carol"}, 3);
    warrant_stdout = warrant.genesis_output() + "warrant " + warrant.url() + "\n";
    std::int64_t id = warrant.File(warrant.auditor(0), WarrantHarness::CredentialScope(pres));
    warrant.ApproveBy(id, {1, 2});
    wallet::HttpResponse r = warrant.Execute(warrant.auditor(0), id, pres);
    ASSERT_EQ(r.status, 200) << r.body;
    json::Value answer = json::Parse(r.body);
    // Positive control: the name and ID number were decrypted in that process.
    ASSERT_EQ(answer.at("outcome").as_string(), "resolved") << r.body;
    ASSERT_EQ(answer.at("identity").at("name").as_string(), residents[0].name);
    ASSERT_EQ(answer.at("identity").at("id_number").as_string(), residents[0].id_number);
    const std::int64_t person = answer.at("person_id").as_int();

    std::int64_t pid = warrant.File(warrant.auditor(1), WarrantHarness::PersonScope(person));
    warrant.ApproveBy(pid, {0, 2});
    wallet::HttpResponse l = warrant.Execute(warrant.auditor(1), pid, std::nullopt);
    ASSERT_EQ(l.status, 200) << l.body;
    json::Value listed = json::Parse(l.body);
    ASSERT_EQ(listed.at("outcome").as_string(), "listed") << l.body;
    ASSERT_EQ(listed.at("credentials").as_array().size(), 1u) << l.body;
    credential::Parsed p = credential::ParseStrict(cred.issued, credential::Form::kIssued);
    ASSERT_EQ(listed.at("credentials").as_array()[0].at("revocation_id").as_string(),
              b64url::Encode(credential::RevocationId(p)));
    warrant_stdout += warrant.Stop();  // flush and close the component's log
  }
  std::ofstream(stack.dir() / "warrant-stdout.log") << warrant_stdout;

  // 7. The auditors' verification of the log (read-only role).
  const std::string dsn_file = (stack.dir() / "reader-dsn").string();
  {
    std::ofstream(dsn_file) << stack.pg().Dsn(PgRole::kWarrant).reveal_string() << "\n";
  }
  ::chmod(dsn_file.c_str(), 0600);
  std::string audit_out;
  EXPECT_EQ(RunCommand({E2eStack::Binary("tools/realdid/realdid"), "audit", "verify", "--dsn-file",
                        dsn_file, "--keys", stack.keys_manifest()},
                       &audit_out),
            0)
      << audit_out;
  std::ofstream(stack.dir() / "realdid-audit.log") << audit_out;

  stack.KillAuthority(SIGTERM);  // flush and close the authority's log

  // The haystacks: every component log but the simulator's, the server log, a superuser pg_dump.
  std::map<std::string, std::string> haystacks;
  for (const auto& e : std::filesystem::directory_iterator(stack.dir())) {
    if (e.path().extension() != ".log" || e.path().filename() == "ctid-sim.log") continue;
    haystacks[e.path().filename().string()] = Slurp(e.path());
  }
  haystacks["postgresql server log"] = Slurp(stack.pg().server_log());
  std::string dump;
  ASSERT_EQ(RunCommand({"/usr/lib/postgresql/15/bin/pg_dump", "--no-password", "-d",
                        std::string(stack.pg().Dsn(PgRole::kSuperuser).reveal_string())},
                       &dump),
            0)
      << dump.substr(0, 2000);
  haystacks["pg_dump"] = dump;

  // Positive controls: each haystack holds what it should.
  ASSERT_NE(haystacks["authority.log"].find("authority started"), std::string::npos);
  ASSERT_NE(haystacks["postgresql server log"].find("INSERT INTO audit_log"), std::string::npos);
  ASSERT_NE(haystacks["postgresql server log"].find("parameters: $1 = "), std::string::npos);
  ASSERT_NE(haystacks["pg_dump"].find("COPY public.issuance_records"), std::string::npos);
  ASSERT_NE(haystacks["pg_dump"].find("COPY public.audit_log"), std::string::npos);
  // ...the warrant component logged both executions and its stop (stderr; its stdout holds the
  // genesis roster it loaded), its statements are in the server log, the dump holds the executions.
  const std::string& wlog = haystacks["warrant.log"];
  ASSERT_NE(wlog.find("\"warrant executed\""), std::string::npos) << wlog;
  ASSERT_NE(wlog.find("\"outcome\":\"resolved\""), std::string::npos) << wlog;
  ASSERT_NE(wlog.find("\"outcome\":\"listed\""), std::string::npos) << wlog;
  ASSERT_NE(wlog.find("warrant component stopped"), std::string::npos) << wlog;
  ASSERT_NE(haystacks["warrant-stdout.log"].find(" alice\n"), std::string::npos);
  ASSERT_NE(haystacks["warrant-stdout.log"].find("genesis roster loaded"), std::string::npos);
  ASSERT_NE(haystacks["postgresql server log"].find("user=realdid_warrant"), std::string::npos);
  ASSERT_NE(haystacks["postgresql server log"].find("INSERT INTO warrant_executions"),
            std::string::npos);
  ASSERT_NE(haystacks["pg_dump"].find("COPY public.warrant_executions"), std::string::npos);
  ASSERT_NE(haystacks["pg_dump"].find("warrant.executed"), std::string::npos);
  ASSERT_FALSE(cli_out.empty());
  // The authority signed audit checkpoints (its first one at start) and the auditors' check passed.
  ASSERT_NE(haystacks["authority.log"].find("audit checkpoint signed"), std::string::npos);
  ASSERT_EQ(audit_out.find("\"checkpoints\":0"), std::string::npos) << audit_out;
  // ...and the test can see a name when one is there.
  ASSERT_NE(Slurp(stack.dir() / "ctid-sim.log").size(), 0u);

  for (const wallet::Resident& r : residents) {
    for (const auto& [field, value] : {std::pair<std::string, std::string>{"name", r.name},
                                       {"ID number", r.id_number}}) {
      for (const auto& [form, needle] : Forms(value)) {
        for (const auto& [where, text] : haystacks) {
          EXPECT_EQ(text.find(needle), std::string::npos)
              << where << " contains a resident's " << field << " (" << form << "): " << needle;
        }
      }
    }
  }
}

}  // namespace
}  // namespace realdid::testing
