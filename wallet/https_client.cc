#include "wallet/https_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>

#include <mutex>
#include <sstream>

#include "core/json.h"

namespace realdid::wallet {
namespace {

void InitSslOnce() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

ErrorKind KindForStatus(int status) {
  switch (status) {
    case 400: return ErrorKind::kInvalidInput;
    case 401: return ErrorKind::kUnauthorized;
    case 403: return ErrorKind::kForbidden;
    case 404: return ErrorKind::kNotFound;
    case 409: return ErrorKind::kConflict;
    case 413: return ErrorKind::kTooLarge;
    case 422: return ErrorKind::kInvalidInput;
    case 429: return ErrorKind::kRateLimited;
    case 503: return ErrorKind::kUnavailable;
    default: return status >= 500 ? ErrorKind::kUnavailable : ErrorKind::kInvalidInput;
  }
}

}  // namespace

struct HttpsClient::Impl {
  Poco::URI uri;
  Poco::Net::Context::Ptr context;
  std::unique_ptr<Poco::Net::HTTPSClientSession> session;
  std::function<void(std::string_view, std::string_view, int, std::string_view, std::string_view)>
      transcript;
  std::chrono::milliseconds timeout;
  std::string prefix;
};

HttpsClient::HttpsClient(std::string_view base_url, HttpsOptions options)
    : impl_(std::make_unique<Impl>()) {
  InitSslOnce();
  try {
    impl_->uri = Poco::URI(std::string(base_url));
  } catch (const Poco::Exception&) {
    InvalidInput("https: malformed URL");
  }
  if (impl_->uri.getScheme() != "https" || impl_->uri.getHost().empty()) {
    InvalidInput("https: URL must be https://host[:port]");
  }
  if (options.ca_file.empty()) InvalidInput("https: a CA file is required");
  impl_->prefix = impl_->uri.getPath();
  while (!impl_->prefix.empty() && impl_->prefix.back() == '/') impl_->prefix.pop_back();
  base_url_ = std::string(base_url);
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  impl_->timeout = options.timeout;
  impl_->transcript = options.transcript;
  try {
    Poco::Net::Context::Params params;
    params.caLocation = options.ca_file;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.loadDefaultCAs = false;
    params.certificateFile = options.client_cert_file;
    params.privateKeyFile = options.client_key_file;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
    impl_->context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    impl_->context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  } catch (const Poco::Exception& e) {
    InvalidInput("https: TLS setup failed: " + e.displayText());
  }
}

HttpsClient::~HttpsClient() = default;

HttpResponse HttpsClient::Get(std::string_view path) { return Send("GET", path, {}, nullptr, {}); }

HttpResponse HttpsClient::Post(std::string_view path, std::string_view body, const Secret* bearer,
                               std::string_view content_type) {
  return Send("POST", path, body, bearer, content_type);
}

HttpResponse HttpsClient::PostWithHeaders(std::string_view path, std::string_view body,
                                          std::string_view content_type, const Headers& headers) {
  return Send("POST", path, body, nullptr, content_type, &headers);
}

HttpResponse HttpsClient::GetWithHeaders(std::string_view path, const Headers& headers) {
  return Send("GET", path, {}, nullptr, {}, &headers);
}

HttpResponse HttpsClient::Send(std::string_view method, std::string_view path,
                               std::string_view body, const Secret* bearer,
                               std::string_view content_type, const Headers* extra_headers) {
  // One attempt on a kept-alive connection; if that connection turned out to be stale before
  // anything was received, one fresh attempt. Callers decide about further retries.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = impl_->session != nullptr;
    try {
      if (!impl_->session) {
        impl_->session = std::make_unique<Poco::Net::HTTPSClientSession>(
            impl_->uri.getHost(), impl_->uri.getPort(), impl_->context);
        impl_->session->setKeepAlive(true);
        impl_->session->setTimeout(Poco::Timespan(
            static_cast<Poco::Timespan::TimeDiff>(impl_->timeout.count()) * 1000));
      }
      Poco::Net::HTTPRequest req(std::string(method), impl_->prefix + std::string(path),
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      req.setKeepAlive(true);
      req.set("Accept", "application/json, application/problem+json");
      if (bearer != nullptr) {
        std::string auth = "Bearer ";
        auth.append(bearer->reveal_string());
        req.set("Authorization", auth);
      }
      if (extra_headers != nullptr) {
        for (const auto& [name, value] : *extra_headers) req.set(name, value);
      }
      if (method == "POST") {
        req.setContentType(std::string(content_type));
        req.setContentLength(static_cast<std::streamsize>(body.size()));
        std::ostream& os = impl_->session->sendRequest(req);
        try {
          os.write(body.data(), static_cast<std::streamsize>(body.size()));
        } catch (const Poco::Exception&) {
          // The server may answer (e.g. 413) and close before reading the whole body: read that
          // answer rather than report the broken pipe. Not retried: the server saw the request.
          attempt = 1;
        }
      } else {
        impl_->session->sendRequest(req);
      }
      Poco::Net::HTTPResponse resp;
      std::istream& in = impl_->session->receiveResponse(resp);
      HttpResponse out;
      out.status = static_cast<int>(resp.getStatus());
      out.content_type = resp.getContentType();
      std::ostringstream ss;
      ss << in.rdbuf();
      out.body = ss.str();
      if (resp.has("Retry-After")) {
        try {
          out.retry_after = std::stoll(resp.get("Retry-After"));
        } catch (const std::exception&) {
        }
      }
      if (resp.has("ETag")) out.etag = resp.get("ETag");
      if (resp.has("Cache-Control")) out.cache_control = resp.get("Cache-Control");
      if (!resp.getKeepAlive()) impl_->session.reset();
      if (impl_->transcript) impl_->transcript(method, path, out.status, body, out.body);
      return out;
    } catch (const Poco::Exception& e) {
      impl_->session.reset();
      if (reused && attempt == 0) continue;
      throw Error(ErrorKind::kUnavailable, "https: " + std::string(method) + " " +
                                               std::string(path) + ": " + e.displayText());
    } catch (const std::ios_base::failure& e) {
      impl_->session.reset();
      if (reused && attempt == 0) continue;
      throw Error(ErrorKind::kUnavailable, "https: " + std::string(path) + ": " + e.what());
    }
  }
  throw Error(ErrorKind::kUnavailable, "https: unreachable");
}

std::string Problem::Describe() const {
  std::string out = std::to_string(status);
  if (!type.empty()) out += " " + type;
  if (!title.empty()) out += ": " + title;
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

Problem ParseProblem(const HttpResponse& r) {
  Problem p;
  p.status = r.status;
  p.retry_after = r.retry_after;
  try {
    json::Value v = json::Parse(r.body);
    if (v.is_object()) {
      if (const auto* t = v.find("type"); t != nullptr && t->is_string()) p.type = t->as_string();
      if (const auto* t = v.find("title"); t != nullptr && t->is_string()) p.title = t->as_string();
      if (const auto* t = v.find("detail"); t != nullptr && t->is_string()) p.detail = t->as_string();
    }
  } catch (const Error&) {
    p.detail = "(no problem document)";
  }
  return p;
}

ServerRefusal::ServerRefusal(std::string_view step, Problem problem)
    : Error(KindForStatus(problem.status), std::string(step) + ": " + problem.Describe()),
      problem_(std::move(problem)) {}

}  // namespace realdid::wallet
