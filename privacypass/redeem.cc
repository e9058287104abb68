#include "privacypass/redeem.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/blind_rsa.h"
#include "core/error.h"
#include "core/hash.h"

namespace realdid::privacypass {

namespace {

// Closes the descriptor (and so releases its flock) on every path.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void FileError(const std::string& what) {
  Fail(ErrorKind::kInternal, "seen-token store: " + what + ": " + std::strerror(errno));
}

}  // namespace

Bytes MakeChallenge(std::string_view issuer_name, const std::vector<std::string>& origin_info,
                    bool fresh_context) {
  TokenChallenge c;
  c.issuer_name = std::string(issuer_name);
  c.origin_info = origin_info;
  if (fresh_context) c.redemption_context = RandomBytes(kRedemptionContextSize);
  return c.Serialize();
}

bool SeenNonceStore::CheckAndRecord(const Token& token) {
  const std::string line = ToHex(hash::Sha256(Concat({token.token_key_id, token.nonce}))) + "\n";
  Fd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (fd.get() < 0) FileError("open " + path_.string());
  if (::flock(fd.get(), LOCK_EX) != 0) FileError("flock");
  std::string content;
  char buf[65536];
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) FileError("lseek");
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      FileError("read");
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  // Whole-line match only (every line is 64 hex digits and a newline).
  for (std::size_t pos = 0; pos + line.size() <= content.size(); pos += line.size()) {
    if (content.compare(pos, line.size(), line) == 0) return false;
  }
  if (content.size() % line.size() != 0) {
    Fail(ErrorKind::kInternal, "seen-token store: " + path_.string() + " is corrupt");
  }
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(fd.get(), line.data() + off, line.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      FileError("write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) FileError("fsync");
  return true;
}

Redeemed Redeem(const Directory& directory, ByteView token_bytes,
                std::optional<ByteView> challenge, SeenNonceStore* seen) {
  Token token = Token::Parse(token_bytes);
  const DirectoryKey* key = nullptr;
  for (const DirectoryKey& k : directory.keys) {
    if (TokenKeyId(k.spki) == token.token_key_id) key = &k;
  }
  if (key == nullptr) Fail(ErrorKind::kForbidden, "token: its key is not in the issuer directory");
  const blind_rsa::PublicKey pk = blind_rsa::PublicKey::FromSpkiDer(key->spki);
  if (!VerifyToken(pk, key->spki, token, challenge)) {
    Fail(ErrorKind::kForbidden, challenge ? "token: signature or challenge does not verify"
                                          : "token: signature does not verify");
  }
  if (seen != nullptr && !seen->CheckAndRecord(token)) {
    Fail(ErrorKind::kConflict, "token: already redeemed (double spend)");
  }
  Redeemed r;
  r.token_key_id = token.token_key_id;
  r.not_before = key->not_before;
  r.token = std::move(token);
  return r;
}

}  // namespace realdid::privacypass
