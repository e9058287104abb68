// End to end through the real executable: realdid-authority --config FILE against a real SoftHSM2
// token and a real PostgreSQL server. It must print its URLs, answer /healthz and /readyz over TLS,
// serve /metrics on loopback, log JSON lines, and exit 0 on SIGTERM.
#include <Poco/Net/HTTPClientSession.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "tests/authority/test_tls.h"
#include "tests/support/pg_harness.h"
#include "tests/support/softhsm_harness.h"
#include "tests/support/vectors.h"

namespace realdid::authority {
namespace {

void WriteFile(const std::filesystem::path& p, std::string_view content, mode_t mode) {
  std::ofstream(p, std::ios::binary) << content;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

// Reads one line from fd (blocking).
std::string ReadLine(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1) {
    if (c == '\n') return line;
    line.push_back(c);
  }
  return line;
}

// REALDID_BINARY_DIR when set, else derived from this test's own path (<build>/tests/authority/).
std::string AuthorityBinary() {
  if (const char* d = std::getenv("REALDID_BINARY_DIR"); d != nullptr && *d != '\0') {
    return std::string(d) + "/authority/realdid-authority";
  }
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path().parent_path() / "authority" / "realdid-authority")
      .string();
}

std::uint16_t PortOf(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

TEST(AuthorityBinaryTest, ServesAndStopsOnSigterm) {
  std::string binary = AuthorityBinary();
  ASSERT_EQ(::access(binary.c_str(), X_OK), 0) << binary;

  realdid::testing::SoftHsmHarness softhsm;
  softhsm.InitToken("authority-bin");
  realdid::testing::PgHarness pg;
  realdid::testing::TestPki pki;
  const auto& dir = pki.dir();
  WriteFile(dir / "pin", std::string(realdid::testing::SoftHsmHarness::kUserPin) + "\n", 0600);
  Secret dsn = pg.Dsn(realdid::testing::PgRole::kAuthority);
  WriteFile(dir / "dsn", dsn.reveal_string(), 0600);
  WriteFile(dir / "keys.json", R"({"version":1,"keys":[]})", 0644);
  std::ostringstream ini;
  ini << "[server]\nlisten_address = 127.0.0.1\nport = 0\n"
      << "tls_cert_file = " << pki.cert_file() << "\ntls_key_file = " << pki.key_file() << "\n"
      << "drain_timeout = 5s\n"
      << "[metrics]\nport = 0\n"
      << "[hsm]\nmodule_path = " << realdid::testing::SoftHsmHarness::ModulePath() << "\n"
      << "token_label = authority-bin\npin_file = " << (dir / "pin").string() << "\n"
      << "keys_manifest = " << (dir / "keys.json").string() << "\n"
      << "[db]\ndsn_file = " << (dir / "dsn").string() << "\n"
      << "[log]\nlevel = info\n";
  WriteFile(dir / "authority.ini", ini.str(), 0644);
  std::string log_path = (dir / "stderr.log").string();

  int out_pipe[2];
  ASSERT_EQ(::pipe(out_pipe), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // A server child must not outlive the test binary, even when it aborts (sanitizers).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    int err = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(err, STDERR_FILENO);
    ::close(out_pipe[0]);
    std::string cfg = (dir / "authority.ini").string();
    ::execl(binary.c_str(), binary.c_str(), "--config", cfg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  std::string public_line = ReadLine(out_pipe[0]);
  std::string metrics_line = ReadLine(out_pipe[0]);
  ::close(out_pipe[0]);

  bool started = public_line.rfind("public https://127.0.0.1:", 0) == 0 &&
                 metrics_line.rfind("metrics http://127.0.0.1:", 0) == 0;
  EXPECT_TRUE(started) << public_line << " / " << metrics_line << "\n"
                       << realdid::testing::ReadFile(log_path);
  if (started) {
    EXPECT_EQ(metrics_line.substr(metrics_line.size() - 8), "/metrics");
    std::uint16_t port = PortOf(public_line.substr(7));
    auto get = [&](const std::string& path) {
      Poco::Net::HTTPSClientSession s("127.0.0.1", port,
                                      realdid::testing::ClientContext(pki.ca_file()));
      Poco::Net::HTTPRequest req("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
      s.sendRequest(req);
      return realdid::testing::ReadResponse(s);
    };
    EXPECT_EQ(get("/healthz").body, R"({"status":"ok"})");
    auto ready = get("/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;

    std::string m = metrics_line.substr(8);
    std::uint16_t mport = PortOf(m.substr(0, m.size() - 8));
    Poco::Net::HTTPClientSession ms("127.0.0.1", mport);
    Poco::Net::HTTPRequest mreq("GET", "/metrics", Poco::Net::HTTPMessage::HTTP_1_1);
    ms.sendRequest(mreq);
    std::string text = realdid::testing::ReadResponse(ms).body;
    EXPECT_NE(
        text.find(R"(realdid_http_requests_total{method="GET",route="/healthz",status="200"} 1)"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(R"(realdid_hsm_operations_total{op="ping",result="ok",token="authority-bin"})"),
        std::string::npos);
    EXPECT_NE(text.find("realdid_ready 1"), std::string::npos);
    EXPECT_NE(text.find(R"(realdid_build_info{version=")"), std::string::npos);
  }

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  // Every stderr line is one JSON object; start and stop are logged; no secret appears.
  std::ifstream log(log_path);
  std::string line;
  bool saw_start = false;
  bool saw_stop = false;
  std::string all;
  while (std::getline(log, line)) {
    all += line + "\n";
    json::Value v = json::Parse(line);
    EXPECT_TRUE(v.at("ts").is_string());
    EXPECT_TRUE(v.at("level").is_string());
    const std::string& msg = v.at("msg").as_string();
    if (msg == "authority started") {
      saw_start = true;
      EXPECT_EQ(v.at("public_url").as_string(), public_line.substr(7));
    }
    if (msg == "authority stopped") {
      saw_stop = true;
      EXPECT_TRUE(v.at("drained").as_bool());
    }
  }
  EXPECT_TRUE(saw_start) << all;
  EXPECT_TRUE(saw_stop) << all;
  EXPECT_EQ(all.find(realdid::testing::SoftHsmHarness::kUserPin), std::string::npos);
  std::string dsn_text(dsn.reveal_string());
  auto pw = dsn_text.find("password=");
  if (pw != std::string::npos) {
    std::string secret = dsn_text.substr(pw + 9, 12);
    EXPECT_EQ(all.find(secret), std::string::npos);
  }
}

TEST(AuthorityBinaryTest, BadConfigExitsOneNamingTheKey) {
  std::string binary = AuthorityBinary();
  realdid::testing::TestPki pki;
  WriteFile(pki.dir() / "bad.ini", "[server]\nport = 99999\n", 0644);
  std::string out;
  int rc =
      realdid::testing::RunCommand({binary, "--config", (pki.dir() / "bad.ini").string()}, &out);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("[server] port: must be between 0 and 65535"), std::string::npos) << out;
  EXPECT_EQ(realdid::testing::RunCommand({binary}, &out), 2);
}

}  // namespace
}  // namespace realdid::authority
