#include "authority/http_connection.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Timestamp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <optional>
#include <string_view>
#include <atomic>
#include <memory>

#include "authority/http_framing.h"
#include "authority/log.h"
#include "authority/problem.h"
#include "core/bytes.h"

namespace realdid::authority {

using Clock = std::chrono::steady_clock;

struct ConnectionRegistry::Entry {
  int fd = -1;  // guarded by mu once the connection runs; -1 after its session closed it
  std::atomic<bool> stopped{false};
  std::mutex request_mu;  // held while a request is processed

  std::mutex mu;  // guards the fields below
  bool reading = false;
  Clock::time_point started;
  bool timed_out = false;
  bool body_unread = false;
};

namespace {

thread_local ConnectionRegistry::Entry* t_current = nullptr;
thread_local const Poco::Net::StreamSocket* t_socket = nullptr;

// Lingering close after an unread body: at most this long, at most this many bytes.
constexpr std::chrono::milliseconds kMaxLinger{3000};
constexpr std::size_t kMaxLingerBytes = std::size_t{64} << 20;

struct HeadProblem {
  int status;
  const char* detail;
};

// Poco's MessageException texts name the part of the head that failed.
HeadProblem Classify(const Poco::Exception& e) {
  const std::string& m = e.message();
  if (m.find("URI") != std::string::npos) return {414, "the request target is too long or invalid"};
  if (m.find("Too many header fields") != std::string::npos) {
    return {431, "too many request header fields"};
  }
  if (m.find("no colon") != std::string::npos) return {400, "a request header field is malformed"};
  if (m.find("too long") != std::string::npos) {
    return {431, "a request header field is too long or malformed"};
  }
  return {400, "the request head cannot be parsed"};
}


// The connection's socket as Poco's HTTP session sees it: every call goes to the real (TLS)
// socket; received plaintext also goes through the FramingValidator.
// Readiness of a plain socket with one poll(2). Poco 1.11's SocketImpl::poll creates, fills and
// closes an epoll instance per call (four syscalls): on the plain bench listener that was 3 % of
// the CPU per token (docs/performance.md). Same contract: false on timeout, EINTR resumes with
// the remaining time, errors throw.
bool PollPlainSocket(int fd, const Poco::Timespan& timeout, int mode) {
  pollfd p{};
  p.fd = fd;
  if ((mode & Poco::Net::Socket::SELECT_READ) != 0) p.events |= POLLIN;
  if ((mode & Poco::Net::Socket::SELECT_WRITE) != 0) p.events |= POLLOUT;
  if ((mode & Poco::Net::Socket::SELECT_ERROR) != 0) p.events |= POLLPRI;
  Poco::Timespan left = timeout;
  for (;;) {
    const Poco::Timestamp start;
    const int rc = ::poll(&p, 1, static_cast<int>(left.totalMilliseconds()));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) throw Poco::Net::NetException("poll failed");
    const Poco::Timespan waited(start.elapsed());
    if (waited >= left) return false;
    left -= waited;
  }
}

class ObservedSocketImpl final : public Poco::Net::StreamSocketImpl {
 public:
  ObservedSocketImpl(const Poco::Net::StreamSocket& inner, FramingValidator* validator)
      : Poco::Net::StreamSocketImpl(inner.impl()->sockfd()), inner_(inner), validator_(validator) {}
  ~ObservedSocketImpl() override { reset(); }  // the inner socket owns the descriptor
  ObservedSocketImpl(const ObservedSocketImpl&) = delete;
  ObservedSocketImpl& operator=(const ObservedSocketImpl&) = delete;

  int receiveBytes(void* buffer, int length, int flags) override {
    int n = inner_.impl()->receiveBytes(buffer, length, flags);
    if (n > 0) validator_->Feed(static_cast<const char*>(buffer), static_cast<std::size_t>(n));
    return n;
  }
  int sendBytes(const void* buffer, int length, int flags) override {
    return inner_.impl()->sendBytes(buffer, length, flags);
  }
  int available() override { return inner_.impl()->available(); }
  bool poll(const Poco::Timespan& timeout, int mode) override {
    // TLS may hold decrypted bytes the kernel no longer sees: Poco's secure poll knows.
    if (inner_.impl()->secure()) return inner_.impl()->poll(timeout, mode);
    return PlainPoll(timeout, mode);
  }
  void close() override {
    try {
      inner_.impl()->close();
    } catch (...) {
    }
    reset();
  }
  void shutdownReceive() override { inner_.impl()->shutdownReceive(); }
  void shutdownSend() override { inner_.impl()->shutdownSend(); }
  void shutdown() override { inner_.impl()->shutdown(); }
  bool secure() const override { return inner_.impl()->secure(); }
  void setSendTimeout(const Poco::Timespan& t) override { inner_.impl()->setSendTimeout(t); }
  Poco::Timespan getSendTimeout() override { return inner_.impl()->getSendTimeout(); }
  void setReceiveTimeout(const Poco::Timespan& t) override { inner_.impl()->setReceiveTimeout(t); }
  Poco::Timespan getReceiveTimeout() override { return inner_.impl()->getReceiveTimeout(); }
  Poco::Net::SocketAddress address() override { return inner_.impl()->address(); }
  Poco::Net::SocketAddress peerAddress() override { return inner_.impl()->peerAddress(); }

 private:
  bool PlainPoll(const Poco::Timespan& timeout, int mode) {
    return PollPlainSocket(inner_.impl()->sockfd(), timeout, mode);
  }

  Poco::Net::StreamSocket inner_;
  FramingValidator* validator_;
};

class ProblemConnection final : public Poco::Net::TCPServerConnection {
 public:
  ProblemConnection(const Poco::Net::StreamSocket& socket,
                    std::shared_ptr<ConnectionRegistry> registry,
                    Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, std::string listener)
      : Poco::Net::TCPServerConnection(socket),
        registry_(std::move(registry)),
        params_(std::move(params)),
        handlers_(std::move(handlers)),
        listener_(std::move(listener)) {
    entry_.fd = this->socket().impl()->sockfd();
    registry_->Add(&entry_);
  }
  ~ProblemConnection() override {
    try {
      registry_->Remove(&entry_);
    } catch (...) {
    }
  }
  ProblemConnection(const ProblemConnection&) = delete;
  ProblemConnection& operator=(const ProblemConnection&) = delete;

  void run() override {
    t_current = &entry_;
    t_socket = &socket();
    try {
      Serve();
    } catch (...) {
      // A network failure ends the connection; nothing to answer.
    }
    t_current = nullptr;
    t_socket = nullptr;
  }

 private:
  void BeginRequest() {
    std::lock_guard lock(entry_.mu);
    entry_.reading = true;
    entry_.started = Clock::now();
    entry_.timed_out = false;
    entry_.body_unread = false;
  }
  void EndRequest() {
    std::lock_guard lock(entry_.mu);
    entry_.reading = false;
  }
  bool TimedOut() {
    std::lock_guard lock(entry_.mu);
    return entry_.timed_out;
  }
  bool BodyUnread() {
    std::lock_guard lock(entry_.mu);
    return entry_.body_unread;
  }

  void Serve() {
    FramingValidator framing;
    Poco::Net::HTTPServerSession session(
        Poco::Net::StreamSocket(new ObservedSocketImpl(socket(), &framing)), params_);
    bool linger = false;
    while (!entry_.stopped.load() && session.hasMoreRequests()) {
      BeginRequest();
      std::unique_lock request_lock(entry_.request_mu);
      if (entry_.stopped.load()) break;
      try {
        Poco::Net::HTTPServerResponseImpl response(session);
        Poco::Net::HTTPServerRequestImpl request(response, session, params_);
        if (framing.error() != nullptr) {
          SendProblem(session, {400, framing.error()});
          linger = true;
          break;
        }
        response.setDate(Poco::Timestamp());
        response.setVersion(request.getVersion());
        response.setKeepAlive(params_->getKeepAlive() && request.getKeepAlive() &&
                              session.canKeepAlive());
        std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(
            handlers_->createRequestHandler(request));
        handler->handleRequest(request, response);
        session.setKeepAlive(params_->getKeepAlive() && response.getKeepAlive() &&
                             session.canKeepAlive());
        if (BodyUnread()) {
          linger = true;
          break;
        }
      } catch (const Poco::Net::NoMessageException&) {
        if (TimedOut()) SendProblem(session, {408, "the request did not arrive in time"});
        break;
      } catch (const Poco::Net::MessageException& e) {
        HeadProblem p = Classify(e);
        if (framing.error() != nullptr) p = {400, framing.error()};
        if (TimedOut()) p = {408, "the request did not arrive in time"};
        SendProblem(session, p);
        linger = true;
        break;
      } catch (const Poco::Exception&) {
        if (TimedOut()) {
          SendProblem(session, {408, "the request did not arrive in time"});
        } else if (session.networkException() == nullptr) {
          // E.g. a non-numeric Content-Length: refused while the head is parsed.
          SendProblem(session, {400, framing.error() != nullptr
                                         ? framing.error()
                                         : "the request head cannot be parsed"});
          linger = true;
        }
        break;
      }
      EndRequest();
    }
    EndRequest();
    if (linger && !entry_.stopped.load()) Linger();
    // The session closes the descriptor when it goes: from now on nobody may shut it down (its
    // number may be reused by a new connection).
    std::lock_guard lock(entry_.mu);
    entry_.fd = -1;
  }

  // Best effort: the TLS stream may already be unusable (then the connection just closes).
  void SendProblem(Poco::Net::HTTPServerSession& session, HeadProblem p) {
    std::string request_id = ToHex(RandomBytes(8));
    try {
      HttpResponse out = ProblemResponse(HttpProblem(p.status, p.detail), request_id);
      Poco::Net::HTTPServerResponseImpl response(session);
      response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
      response.setStatus(std::to_string(out.status));
      response.setReason(Poco::Net::HTTPResponse::getReasonForStatus(
          static_cast<Poco::Net::HTTPResponse::HTTPStatus>(out.status)));
      response.setContentType(out.content_type);
      response.setContentLength64(static_cast<Poco::Int64>(out.body.size()));
      response.set("X-Request-Id", request_id);
      response.set("Cache-Control", "no-store");
      response.set("X-Content-Type-Options", "nosniff");
      response.setKeepAlive(false);
      // Not sendBuffer(): without an attached request it would write the head only.
      std::ostream& os = response.send();
      os.write(out.body.data(), static_cast<std::streamsize>(out.body.size()));
      os.flush();
    } catch (...) {
    }
    session.setKeepAlive(false);
    try {
      LogInfo("request refused before routing",
              {{"request_id", request_id}, {"listener", listener_}, {"status", p.status}});
    } catch (...) {
    }
  }

  // Reads and discards what the client still sends, for a bounded time and size, so that the
  // answer already written is not destroyed by a reset.
  void Linger() {
    try {
      Poco::Net::StreamSocket s = socket();
      // The answer is complete: say so with a FIN (Poco exposes no TLS half-close; the answer is
      // length-delimited, so the client has all of it), so that the client stops sending and
      // closes; then drain what is still in flight.
      ::shutdown(entry_.fd, SHUT_WR);
      s.setReceiveTimeout(Poco::Timespan(0, 100000));
      auto deadline = Clock::now() + std::min(kMaxLinger, registry_->request_timeout());
      std::size_t total = 0;
      char buf[16384];
      while (Clock::now() < deadline && total < kMaxLingerBytes && !entry_.stopped.load()) {
        try {
          int n = s.receiveBytes(buf, static_cast<int>(sizeof buf));
          if (n <= 0) break;
          total += static_cast<std::size_t>(n);
        } catch (const Poco::TimeoutException&) {
          continue;
        }
      }
    } catch (...) {
    }
  }

  ConnectionRegistry::Entry entry_;
  std::shared_ptr<ConnectionRegistry> registry_;
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  std::string listener_;
};

class ProblemConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  ProblemConnectionFactory(std::shared_ptr<ConnectionRegistry> registry,
                           Poco::Net::HTTPServerParams::Ptr params,
                           Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, std::string listener)
      : registry_(std::move(registry)),
        params_(std::move(params)),
        handlers_(std::move(handlers)),
        listener_(std::move(listener)) {}
  Poco::Net::TCPServerConnection* createConnection(
      const Poco::Net::StreamSocket& socket) override {
    return new ProblemConnection(socket, registry_, params_, handlers_, listener_);
  }

 private:
  std::shared_ptr<ConnectionRegistry> registry_;
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  std::string listener_;
};

}  // namespace

ConnectionRegistry::ConnectionRegistry(std::chrono::milliseconds request_timeout)
    : request_timeout_(request_timeout) {
  watchdog_ = std::thread([this] { Watch(); });
}

ConnectionRegistry::~ConnectionRegistry() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void ConnectionRegistry::Add(Entry* e) {
  std::lock_guard lock(mu_);
  entries_.insert(e);
}

void ConnectionRegistry::Remove(Entry* e) {
  std::lock_guard lock(mu_);
  entries_.erase(e);
}

void ConnectionRegistry::Watch() {
  auto tick = std::clamp(request_timeout_ / 10, std::chrono::milliseconds(20),
                         std::chrono::milliseconds(500));
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, tick);
    if (stop_) break;
    auto now = Clock::now();
    for (Entry* e : entries_) {
      std::lock_guard entry_lock(e->mu);
      if (e->fd >= 0 && e->reading && !e->timed_out && now - e->started > request_timeout_) {
        e->timed_out = true;
        // The blocked read returns end-of-stream; the answer (408) can still be written.
        ::shutdown(e->fd, SHUT_RD);
      }
    }
  }
}

void ConnectionRegistry::StopAll(bool abort) {
  std::lock_guard lock(mu_);
  for (Entry* e : entries_) {
    e->stopped.store(true);
    std::unique_lock<std::mutex> request_lock;
    if (!abort) request_lock = std::unique_lock(e->request_mu);  // let the current request finish
    std::lock_guard entry_lock(e->mu);
    if (e->fd >= 0) ::shutdown(e->fd, SHUT_RDWR);
  }
}

Poco::Net::TCPServerConnectionFactory::Ptr MakeConnectionFactory(
    std::shared_ptr<ConnectionRegistry> registry, Poco::Net::HTTPServerParams::Ptr params,
    Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, std::string listener_name) {
  return new ProblemConnectionFactory(std::move(registry), std::move(params), std::move(handlers),
                                      std::move(listener_name));
}

void MarkRequestRead() noexcept {
  if (t_current == nullptr) return;
  std::lock_guard lock(t_current->mu);
  t_current->reading = false;
}

void MarkBodyUnread() noexcept {
  if (t_current == nullptr) return;
  std::lock_guard lock(t_current->mu);
  t_current->body_unread = true;
}

const Poco::Net::StreamSocket* CurrentConnectionSocket() noexcept { return t_socket; }

bool RequestTimedOut() noexcept {
  if (t_current == nullptr) return false;
  std::lock_guard lock(t_current->mu);
  return t_current->timed_out;
}

}  // namespace realdid::authority
