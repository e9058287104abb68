// Blind-signing key rotation end to end (issue 5 item 5) on the real stack: issue under key 1,
// rotate through `realdid-ceremony rotate`, restart, issue under key 2; the key-1 credential still
// verifies against the published key set (both keys, both windows); a wallet refuses a session
// under a key that is no longer the current one (an authority node that missed the rotation); the
// ceremony refuses rotations that would break the rules and then leaves keys.json untouched.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "core/json.h"
#include "db/pool.h"
#include "db/result.h"
#include "tests/e2e/stack.h"
#include "wallet/client.h"
#include "wallet/issuance.h"
#include "wallet/wallet_file.h"

namespace realdid::testing {
namespace {

constexpr std::int64_t kDay = 86400;

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// kid -> number of "key.published" audit rows naming it (migration 0010).
std::map<std::string, int> PublishedKeyRows(const E2eStack& stack) {
  auto pool = stack.pg().MakePool(PgRole::kSuperuser, 1);
  std::map<std::string, int> out;
  pool->Run("published", [&](db::Tx& tx) {
    db::Result r = tx.Exec(
        "SELECT convert_from(a.content, 'UTF8') AS content, p.kid FROM audit_log a "
        "LEFT JOIN published_keys p ON p.audit_seq = a.seq WHERE a.kind = 'key.published'");
    for (std::size_t i = 0; i < r.size(); ++i) {
      const json::Value c = json::Parse(r[i].GetString("content"));
      EXPECT_EQ(r[i].GetString("kid"), c.at("kid").as_string());  // the index row points at it
      ++out[c.at("kid").as_string()];
    }
    return 0;
  });
  return out;
}

// Waits (the checkpointer thread publishes on its first tick) until `kid` has a row.
std::map<std::string, int> AwaitPublished(const E2eStack& stack, const std::string& kid) {
  std::map<std::string, int> rows;
  for (int i = 0; i < 150; ++i) {
    rows = PublishedKeyRows(stack);
    if (rows.count(kid) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return rows;
}

std::vector<json::Value> BlindKeys(const std::string& manifest) {
  std::vector<json::Value> out;
  const json::Value doc = json::Parse(Slurp(manifest));
  for (const json::Value& k : doc.at("keys").as_array()) {
    if (k.at("role").as_string() == "blind-signing") out.push_back(k);
  }
  return out;
}

TEST(RotationE2eTest, RotateThenOldCredentialsStayValidAndOnlyTheCurrentKeyIsAccepted) {
  StackOptions so;
  so.rsa_bits = 2048;
  so.k = 4;
  so.min_k = 2;
  so.ctid_population = 1000;
  E2eStack stack(so);
  const std::string pin = (stack.dir() / "hsm-pin").string();
  const std::string keys_dir = (stack.dir() / "keys").string();
  const std::int64_t now = wallet::SystemNow();
  const std::int64_t today = now - now % kDay;

  // Key 1 as if the ceremony had run three days ago (a new key can then start today).
  std::string out;
  ASSERT_EQ(RunCommand({E2eStack::Binary("tools/ceremony/realdid-ceremony"), "--module",
                        SoftHsmHarness::ModulePath(), "--issuance-token", "realdid-issuance",
                        "--issuance-pin-file", pin, "--escrow-token", "realdid-escrow",
                        "--escrow-pin-file", pin, "--out", keys_dir, "--rsa-bits", "2048",
                        "--force", "--now", std::to_string(now - 3 * kDay)},
                       &out),
            0)
      << out;
  stack.KillAuthority(SIGTERM);
  stack.StartAuthority();

  wallet::AuthorityClient authority(stack.authority_url(), stack.AuthorityTls());
  wallet::CtidAppClient ctid(stack.ctid_url(), stack.CtidTls());
  wallet::KeySet ks1 = authority.FetchKeySet();
  ASSERT_EQ(ks1.keys.size(), 1u);
  const std::string kid1 = ks1.keys[0].kid;
  wallet::IssuedCredential c1 = wallet::Issue(authority, ctid, ctid.GetResident(1));
  EXPECT_EQ(c1.kid, kid1);
  const std::string manifest = stack.keys_manifest();
  const std::string before = Slurp(manifest);

  // Refused rotations change nothing.
  auto rotate = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {E2eStack::Binary("tools/ceremony/realdid-ceremony"),
                                     "rotate",
                                     "--module",
                                     SoftHsmHarness::ModulePath(),
                                     "--issuance-token",
                                     "realdid-issuance",
                                     "--issuance-pin-file",
                                     pin,
                                     "--out",
                                     keys_dir};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, &out);
  };
  EXPECT_EQ(rotate({"--not-before", std::to_string(today + 3600)}), 1) << out;  // not a midnight
  EXPECT_NE(out.find("00:00 UTC"), std::string::npos) << out;
  EXPECT_EQ(rotate({"--not-before", std::to_string(today - 3 * kDay)}), 1) << out;  // the past
  EXPECT_EQ(rotate({"--not-before", std::to_string(today), "--min-overlap-days", "3650"}), 1)
      << out;  // key 1 would expire before its credentials
  EXPECT_NE(out.find("rotate earlier"), std::string::npos) << out;
  EXPECT_EQ(Slurp(manifest), before);

  // The rotation: key 2 from today, key 1 stays published until its exp.
  ASSERT_EQ(rotate({"--not-before", std::to_string(today)}), 0) << out;
  std::vector<json::Value> blind = BlindKeys(manifest);
  ASSERT_EQ(blind.size(), 2u);
  EXPECT_EQ(blind[0].at("label").as_string(), blind[1].at("label").as_string());
  EXPECT_NE(blind[0].at("cka_id").as_string(), blind[1].at("cka_id").as_string());
  EXPECT_EQ(blind[1].at("nbf").as_int(), today);
  EXPECT_LT(blind[1].at("nbf").as_int(), blind[0].at("exp").as_int());  // overlapping windows
  const std::string kid2 = blind[1].at("kid").as_string();
  EXPECT_NE(kid2, kid1);
  // A second rotation starting the same day would tie with key 2: refused.
  EXPECT_EQ(rotate({"--not-before", std::to_string(today)}), 1) << out;
  EXPECT_EQ(BlindKeys(manifest).size(), 2u);
  const std::string after = Slurp(manifest);

  stack.KillAuthority(SIGTERM);
  stack.StartAuthority();
  wallet::KeySet ks2 = authority.FetchKeySet();
  ASSERT_EQ(ks2.keys.size(), 2u);
  std::set<std::string> published;
  for (const auto& k : ks2.keys) {
    published.insert(k.kid);
    EXPECT_TRUE(k.ValidAt(now)) << k.kid;
  }
  EXPECT_EQ(published, (std::set<std::string>{kid1, kid2}));
  ASSERT_NE(ks2.Active(now), nullptr);
  EXPECT_EQ(ks2.Active(now)->kid, kid2);
  // The rotation is in the tamper-evident log: one "key.published" row per key, once, however
  // many nodes load it and however often they restart.
  {
    const std::map<std::string, int> rows = AwaitPublished(stack, kid2);
    EXPECT_EQ(rows.count(kid1) ? rows.at(kid1) : 0, 1);
    EXPECT_EQ(rows.count(kid2) ? rows.at(kid2) : 0, 1);
  }

  wallet::IssuedCredential c2 = wallet::Issue(authority, ctid, ctid.GetResident(2));
  EXPECT_EQ(c2.kid, kid2);

  // Both credentials verify offline against the rotated key set.
  int n = 0;
  for (const wallet::IssuedCredential* c : {&c1, &c2}) {
    const auto path = stack.dir() / ("wallet-" + std::to_string(++n) + ".json");
    wallet::SaveWallet(path, stack.authority_url(), *c);
    wallet::WalletFile w = wallet::LoadWallet(path);
    const std::string nonce = "rotation-nonce-" + std::to_string(n);
    std::string pres = wallet::Present(w, {"age_over_18"}, "https://rp.example", nonce, now);
    wallet::VerifyResult v = wallet::VerifyOffline(ks2, pres, "https://rp.example", nonce, now);
    EXPECT_EQ(v.kid, c->kid);
  }

  // A node that missed the rotation still signs with key 1: the wallet, holding the rotated key
  // set, refuses the session before building any candidate.
  {
    std::ofstream(manifest, std::ios::trunc) << before;
  }
  stack.KillAuthority(SIGTERM);
  stack.StartAuthority();
  wallet::Resident r3 = ctid.GetResident(3);
  std::string nonce = authority.GetNonce();
  std::string token = ctid.Authenticate(r3.id_number, r3.name, nonce);
  wallet::SessionOffer offer = authority.OpenSession(r3.name, r3.id_number, nonce, token);
  EXPECT_EQ(offer.values.kid, kid1);
  wallet::SessionExpectations expect{stack.authority_url(), r3.id_number, wallet::SystemNow()};
  EXPECT_NO_THROW(wallet::CheckSession(offer, ks1, expect));  // the only thing different is the key
  try {
    wallet::CheckSession(offer, ks2, expect);
    ADD_FAILURE() << "a session under a non-current key was accepted";
  } catch (const wallet::WalletRefusal& e) {
    EXPECT_NE(std::string(e.what()).find("single active"), std::string::npos) << e.what();
  }
  {
    std::ofstream(manifest, std::ios::trunc) << after;
  }
  stack.KillAuthority(SIGTERM);
  stack.StartAuthority();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a few checkpointer ticks
  const std::map<std::string, int> rows = PublishedKeyRows(stack);
  EXPECT_EQ(rows.count(kid1) ? rows.at(kid1) : 0, 1);
  EXPECT_EQ(rows.count(kid2) ? rows.at(kid2) : 0, 1);
}

}  // namespace
}  // namespace realdid::testing
