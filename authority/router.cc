#include "authority/router.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace realdid::authority {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 1;  // skip leading '/'
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

bool IsCapture(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Returns a score (number of literal segments) or -1 if no match.
int MatchSegments(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                  std::map<std::string, std::string>* params) {
  if (pattern.size() != path.size()) return -1;
  int literals = 0;
  std::map<std::string, std::string> captured;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (IsCapture(pattern[i])) {
      if (path[i].empty()) return -1;
      captured[pattern[i].substr(1, pattern[i].size() - 2)] = path[i];
    } else if (pattern[i] == path[i]) {
      ++literals;
    } else {
      return -1;
    }
  }
  if (params != nullptr) *params = std::move(captured);
  return literals;
}

}  // namespace

std::optional<std::string> HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  if (method.empty() || pattern.empty() || pattern.front() != '/') {
    InvalidInput("router: pattern must be an absolute path");
  }
  if (!handler) InvalidInput("router: empty handler for " + pattern);
  for (const Route& r : routes_) {
    if (r.method == method && r.pattern == pattern) {
      InvalidInput("router: duplicate route " + method + " " + pattern);
    }
  }
  Route route;
  route.segments = Split(pattern);
  for (const std::string& seg : route.segments) {
    if (seg.find_first_of("{}") != std::string::npos && !IsCapture(seg)) {
      InvalidInput("router: malformed capture in " + pattern);
    }
  }
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  route.options = std::move(options);
  routes_.push_back(std::move(route));
}

RouteMatch Router::Find(std::string_view method, std::string_view path) const {
  RouteMatch out;
  if (path.empty() || path.front() != '/') return out;
  std::vector<std::string> segs = Split(path);
  // Best pattern by literal-segment count (among all methods), then the method within it.
  int best = -1;
  for (const Route& r : routes_) {
    int score = MatchSegments(r.segments, segs, nullptr);
    if (score > best) best = score;
  }
  if (best < 0) return out;
  for (const Route& r : routes_) {
    std::map<std::string, std::string> params;
    if (MatchSegments(r.segments, segs, &params) != best) continue;
    if (out.pattern.empty()) out.pattern = r.pattern;
    if (r.pattern != out.pattern) continue;  // several patterns with equal score: first wins
    if (r.method == method) {
      out.outcome = RouteMatch::Outcome::kFound;
      out.route = &r;
      out.params = std::move(params);
      out.allowed_methods.clear();
      return out;
    }
    out.allowed_methods.push_back(r.method);
  }
  std::sort(out.allowed_methods.begin(), out.allowed_methods.end());
  out.outcome = RouteMatch::Outcome::kMethodNotAllowed;
  return out;
}

}  // namespace realdid::authority
