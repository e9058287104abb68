#include "ctid/wire.h"

#include <openssl/crypto.h>

#include "core/error.h"
#include "core/json.h"

namespace realdid::ctid {

std::string_view OutcomeName(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::kMatch: return "match";
    case Outcome::kMismatch: return "mismatch";
    case Outcome::kInvalidToken: return "invalid_token";
  }
  return "unknown";
}

namespace {

// Wipes a std::string that held identity data before it is freed.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  ~WipeOnExit() {
    if (!s_.empty()) OPENSSL_cleanse(s_.data(), s_.size());
  }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& s_;
};

void CheckField(std::string_view value, std::size_t limit, const char* what) {
  if (value.empty()) InvalidInput(std::string("ctid verify request: empty ") + what);
  if (value.size() > limit) InvalidInput(std::string("ctid verify request: ") + what + " too long");
}

void AppendField(std::string& out, std::string_view key, std::string_view value, const char* what) {
  out += json::Quote(key);
  out.push_back(':');
  std::string quoted;
  WipeOnExit wipe(quoted);
  try {
    quoted = json::Quote(value);
  } catch (const Error&) {
    InvalidInput(std::string("ctid verify request: ") + what + " is not valid UTF-8");
  }
  out += quoted;
}

}  // namespace

Secret EncodeVerifyRequest(const VerifyRequest& request) {
  CheckField(request.token, kMaxTokenBytes, "token");
  CheckField(request.nonce, kMaxTokenBytes, "nonce");
  CheckField(request.name.reveal_string(), kMaxNameBytes, "name");
  CheckField(request.id_number.reveal_string(), kMaxIdNumberBytes, "id_number");
  std::string body;
  WipeOnExit wipe(body);
  // Reserve generously so appending never reallocates (a reallocation would leave an unwiped copy).
  body.reserve(64 + 6 * (request.token.size() + request.nonce.size() + request.name.size() +
                         request.id_number.size()));
  body.push_back('{');
  AppendField(body, "token", request.token, "token");
  body.push_back(',');
  AppendField(body, "nonce", request.nonce, "nonce");
  body.push_back(',');
  AppendField(body, "name", request.name.reveal_string(), "name");
  body.push_back(',');
  AppendField(body, "id_number", request.id_number.reveal_string(), "id_number");
  body.push_back('}');
  return Secret::FromString(body);
}

Outcome ParseVerifyResponse(std::string_view body) {
  json::Value v;
  try {
    v = json::Parse(body, json::ParseLimits{4096, 4});
  } catch (const Error&) {
    InvalidInput("ctid verify answer: not a valid JSON document");
  }
  if (!v.is_object()) InvalidInput("ctid verify answer: not a JSON object");
  const json::Object& o = v.as_object();
  if (o.size() != 1 || o[0].first != "result") {
    InvalidInput("ctid verify answer: expected exactly the member \"result\"");
  }
  if (!o[0].second.is_string()) InvalidInput("ctid verify answer: \"result\" is not a string");
  const std::string& r = o[0].second.as_string();
  if (r == "match") return Outcome::kMatch;
  if (r == "mismatch") return Outcome::kMismatch;
  if (r == "invalid_token") return Outcome::kInvalidToken;
  InvalidInput("ctid verify answer: unknown result");
}

std::string EncodeVerifyResponse(Outcome outcome) {
  return "{\"result\":" + json::Quote(OutcomeName(outcome)) + "}";
}

}  // namespace realdid::ctid
