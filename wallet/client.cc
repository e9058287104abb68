#include "wallet/client.h"

#include <chrono>
#include <thread>

#include "core/json.h"

namespace realdid::wallet {
namespace {

std::string JsonString(const json::Value& v, std::string_view key, std::string_view step) {
  const json::Value* m = v.is_object() ? v.find(key) : nullptr;
  if (m == nullptr || !m->is_string()) {
    throw WalletRefusal(std::string(step) + ": answer lacks string \"" + std::string(key) + "\"");
  }
  return m->as_string();
}

json::Value ParseOk(const HttpResponse& r, std::string_view step, int expected) {
  if (r.status != expected) throw ServerRefusal(step, ParseProblem(r));
  try {
    return json::Parse(r.body);
  } catch (const Error&) {
    throw WalletRefusal(std::string(step) + ": answer is not strict JSON");
  }
}

}  // namespace

std::int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AuthorityClient::AuthorityClient(std::string_view base_url, HttpsOptions tls, RetryPolicy retry)
    : tls_(tls), retry_(retry), http_(base_url, tls) {
  base_url_ = http_.base_url();
}

std::string AuthorityClient::FetchKeySetText() {
  HttpsClient anonymous(base_url_, tls_);  // its own connection: nothing links it to a session
  HttpResponse r = anonymous.Get("/.well-known/jwks.json");
  if (r.status != 200) throw ServerRefusal("key set", ParseProblem(r));
  return r.body;
}

std::string AuthorityClient::GetNonce() {
  HttpResponse r = http_.Post("/v1/ctid/nonce", "{}");
  json::Value v = ParseOk(r, "ctid nonce", 201);
  return JsonString(v, "nonce", "ctid nonce");
}

SessionOffer AuthorityClient::OpenSession(std::string_view name, std::string_view id_number,
                                          std::string_view nonce, std::string_view ctid_token) {
  json::Value req = json::Object{{"name", std::string(name)},
                                 {"id_number", std::string(id_number)},
                                 {"nonce", std::string(nonce)},
                                 {"ctid_token", std::string(ctid_token)}};
  HttpResponse r = http_.Post("/v1/issuance/sessions", json::Serialize(req));
  if (r.status != 201) throw ServerRefusal("open session", ParseProblem(r));
  return ParseSessionOffer(r.body);
}

std::string AuthorityClient::SendIdempotent(std::string_view step, std::string_view path,
                                            const std::string& body, const Secret* bearer) {
  std::int64_t backoff = retry_.initial_backoff_ms;
  for (int attempt = 1;; ++attempt) {
    std::int64_t wait_ms = backoff;
    try {
      HttpResponse r = http_.Post(path, body, bearer);
      if (r.status == 200) return r.body;
      Problem p = ParseProblem(r);
      if (r.status != 503 || attempt >= retry_.max_attempts) throw ServerRefusal(step, p);
      if (p.retry_after) wait_ms = *p.retry_after * 1000;
    } catch (const ServerRefusal&) {
      throw;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kUnavailable || attempt >= retry_.max_attempts) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(wait_ms, retry_.max_backoff_ms)));
    backoff = std::min(backoff * 2, retry_.max_backoff_ms);
  }
}

std::string AuthorityClient::Commit(const SessionOffer& offer, const std::string& body) {
  return SendIdempotent("commit", "/v1/issuance/sessions/" + offer.session_id + "/commit", body,
                        &offer.session_secret);
}

std::string AuthorityClient::Reveal(const SessionOffer& offer, const std::string& body) {
  return SendIdempotent("reveal", "/v1/issuance/sessions/" + offer.session_id + "/reveal", body,
                        &offer.session_secret);
}

HttpResponse AuthorityClient::PostRaw(std::string_view path, std::string_view body,
                                      const Secret* bearer) {
  return http_.Post(path, body, bearer);
}

CtidAppClient::CtidAppClient(std::string_view base_url, HttpsOptions tls) : http_(base_url, tls) {}

Resident CtidAppClient::GetResident(std::uint64_t index) {
  HttpResponse r = http_.Get("/v1/residents/" + std::to_string(index));
  json::Value v = ParseOk(r, "ctid resident", 200);
  return Resident{JsonString(v, "name", "ctid resident"), JsonString(v, "id_number", "ctid resident")};
}

std::string CtidAppClient::Authenticate(std::string_view id_number, std::string_view name,
                                        std::string_view nonce) {
  json::Value req = json::Object{{"id_number", std::string(id_number)},
                                 {"name", std::string(name)},
                                 {"nonce", std::string(nonce)}};
  HttpResponse r = http_.Post("/v1/authenticate", json::Serialize(req));
  json::Value v = ParseOk(r, "ctid authenticate", 200);
  return JsonString(v, "token", "ctid authenticate");
}

IssuedCredential Issue(AuthorityClient& authority, CtidAppClient& ctid, const Resident& who,
                       const IssueOptions& options) {
  auto progress = [&](std::string_view line) {
    if (options.progress) options.progress(line);
  };
  auto now = [&] { return options.clock ? options.clock() : SystemNow(); };
  const TamperForTesting* tamper = options.tamper;

  progress("fetching the published key set (anonymously)");
  KeySet keys = authority.FetchKeySet();
  progress("requesting a CTID nonce");
  std::string nonce = authority.GetNonce();
  progress("authenticating with CTID");
  std::string token = ctid.Authenticate(who.id_number, who.name, nonce);
  progress("opening the issuance session");
  SessionOffer offer = authority.OpenSession(who.name, who.id_number, nonce, token);
  if (tamper != nullptr && tamper->session) tamper->session(offer);
  if (tamper == nullptr || !tamper->skip_checks) {
    progress("checking the session against the published key set and the ID number");
    CheckSession(offer, keys, {.iss = authority.base_url(), .id_number = who.id_number, .now = now()});
  }
  progress("building " + std::to_string(offer.k) + " candidates");
  Issuance issuance(keys, offer, tamper);
  progress("committing");
  issuance.AcceptChallenge(authority.Commit(offer, issuance.CommitBody()));
  progress("challenge received; revealing every candidate except " +
           std::string("the chosen one"));
  std::string answer = authority.Reveal(offer, issuance.RevealBody());
  progress("unblinding and verifying the credential");
  return issuance.Finish(answer, now());
}

}  // namespace realdid::wallet
