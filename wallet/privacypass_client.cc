#include "wallet/privacypass_client.h"

#include "core/base64url.h"
#include "core/credential.h"
#include "core/error.h"
#include "core/hash.h"

namespace realdid::wallet {

std::string PrivacyPassAttestation(const WalletFile& wallet, ByteView body, std::int64_t now) {
  const credential::Parsed p = credential::ParseStrict(wallet.credential, credential::Form::kIssued);
  return Present(wallet, {}, p.iss, b64url::Encode(hash::Sha256(body)), now);
}

TokenIssuer FetchTokenIssuer(HttpsClient& authority, std::int64_t now) {
  const HttpResponse r = authority.Get(privacypass::kDirectoryPath);
  if (r.status != 200) throw ServerRefusal("privacypass directory", ParseProblem(r));
  privacypass::Directory d = privacypass::ParseDirectory(r.body);
  const privacypass::DirectoryKey* best = nullptr;
  for (const privacypass::DirectoryKey& k : d.keys) {
    if (k.not_before <= now && (best == nullptr || k.not_before >= best->not_before)) best = &k;
  }
  if (best == nullptr) InvalidInput("privacypass directory: no token key is valid now");
  // The request goes to the authority this client is configured for (never to another host the
  // directory might name): only the path of issuer-request-uri is used.
  std::string path = d.issuer_request_uri;
  const std::string& base = authority.base_url();
  if (path.rfind(base, 0) == 0 && path.size() > base.size() && path[base.size()] == '/') {
    path = path.substr(base.size());
  } else if (path.rfind("https://", 0) == 0) {
    const std::size_t slash = path.find('/', 8);
    path = slash == std::string::npos ? std::string() : path.substr(slash);
  }
  if (path.empty() || path.front() != '/' || path.find_first_of(" \r\n?#") != std::string::npos) {
    InvalidInput("privacypass directory: issuer-request-uri has no usable path");
  }
  TokenIssuer t{std::move(d), best->spki, blind_rsa::PublicKey::FromSpkiDer(best->spki), path};
  return t;
}

std::vector<privacypass::Token> FetchTokens(HttpsClient& authority, const WalletFile& wallet,
                                            const TokenIssuer& issuer, ByteView challenge,
                                            std::size_t count, std::int64_t now) {
  if (count == 0 || count > 1000) InvalidInput("token count must be 1..1000");
  std::vector<privacypass::PendingToken> pending;
  std::vector<privacypass::TokenRequest> requests;
  for (std::size_t i = 0; i < count; ++i) {
    pending.push_back(privacypass::BeginToken(issuer.pk, issuer.spki, challenge));
    requests.push_back(pending.back().request);
  }
  const Bytes body = count == 1 ? requests[0].Serialize()
                                : privacypass::SerializeBatchRequest(requests);
  const std::string_view type =
      count == 1 ? privacypass::kMediaTokenRequest : privacypass::kMediaBatchRequest;
  const HttpsClient::Headers headers = {
      {"RealDID-Attestation", PrivacyPassAttestation(wallet, body, now)}};
  const HttpResponse r = authority.PostWithHeaders(issuer.request_path, ToString(body), type, headers);
  if (r.status != 200) throw ServerRefusal("privacypass token request", ParseProblem(r));
  std::vector<Bytes> sigs;
  if (count == 1) {
    if (r.content_type != privacypass::kMediaTokenResponse) {
      InvalidInput("privacypass: unexpected response type " + r.content_type);
    }
    sigs.push_back(privacypass::ParseTokenResponse(AsBytes(r.body)));
  } else {
    if (r.content_type != privacypass::kMediaBatchResponse) {
      InvalidInput("privacypass: unexpected response type " + r.content_type);
    }
    for (std::optional<Bytes>& s : privacypass::ParseBatchResponse(AsBytes(r.body), count)) {
      if (!s) InvalidInput("privacypass: the authority left a token of the batch out");
      sigs.push_back(std::move(*s));
    }
    if (sigs.size() != count) InvalidInput("privacypass: batch response of the wrong size");
  }
  std::vector<privacypass::Token> tokens;
  for (std::size_t i = 0; i < count; ++i) {
    tokens.push_back(privacypass::FinishToken(issuer.pk, pending[i], sigs[i]));
  }
  return tokens;
}

}  // namespace realdid::wallet
