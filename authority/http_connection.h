// The connection layer under HttpsServer: replaces Poco's HTTPServerConnection so that
//  - every answer is an RFC 9457 problem document, also for a request head Poco cannot parse
//    (Poco's own connection answers those with a bodiless 400 or just drops the connection):
//    400 (malformed head, non-numeric Content-Length), 414 (request target too long), 431 (a
//    header field too long, too many fields);
//  - the plaintext stream is checked against strict HTTP/1.1 framing as it arrives (Poco's parser
//    is lenient): a request line other than "token SP target SP HTTP/1.1|1.0", a header line
//    without a field name or with folding or control characters, conflicting Content-Length
//    values: 400;
//  - a request must arrive whole within request_timeout (wall clock, from its first byte until
//    head and body are read): a watchdog cuts slow clients (slowloris) that the per-read socket
//    timeout alone would keep forever; the request is answered 408 when the TLS stream still
//    allows it, and the connection is closed in any case;
//  - an answer that leaves the request body unread (413 from Content-Length, 404, 415, ...)
//    closes with a bounded lingering drain, so a client still sending a large body reads the
//    answer instead of a connection reset.
// Handlers running on a connection's thread report progress through the free functions below.
// Poco's fixed parser bounds stay below this layer: request line target 16 KiB, method 32 bytes,
// a header field name 256 bytes and value 8 KiB, at most 100 fields.
// Thread-safety: ConnectionRegistry is thread-safe; the free functions act on the calling thread's
// connection (no-ops elsewhere).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

namespace realdid::authority {

class ConnectionRegistry {
 public:
  struct Entry;  // one live connection (implementation detail)

  explicit ConnectionRegistry(std::chrono::milliseconds request_timeout);
  ~ConnectionRegistry();  // stops the watchdog
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;

  // Stops every connection: with abort, shuts its socket down at once; otherwise waits for the
  // request it is processing to finish first.
  void StopAll(bool abort);

  std::chrono::milliseconds request_timeout() const noexcept { return request_timeout_; }
  void Add(Entry* e);
  void Remove(Entry* e);

 private:
  void Watch();

  const std::chrono::milliseconds request_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<Entry*> entries_;  // guarded by mu_
  bool stop_ = false;         // guarded by mu_
  std::thread watchdog_;
};

// A Poco connection factory producing connections of this layer.
Poco::Net::TCPServerConnectionFactory::Ptr MakeConnectionFactory(
    std::shared_ptr<ConnectionRegistry> registry, Poco::Net::HTTPServerParams::Ptr params,
    Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, std::string listener_name);

// Called by handlers on the connection's thread:
// the head and body of the current request are read: the request deadline no longer applies.
void MarkRequestRead() noexcept;
// the answer leaves the request body unread: the connection closes after a lingering drain.
void MarkBodyUnread() noexcept;
// the watchdog cut the current request (its deadline passed while it was being read).
bool RequestTimedOut() noexcept;
// The connection's own (TLS) socket, e.g. for the peer certificate; null off a connection thread.
const Poco::Net::StreamSocket* CurrentConnectionSocket() noexcept;

}  // namespace realdid::authority
