// Subcommand groups of the `realdid` tool, one file each (tools/realdid/cmd_<group>.cc). Each takes
// the whole argv (argv[1] is the group name) and returns the process exit code: 0 success, 1
// refused or failed (reason on stderr), 2 usage error.
// Thread-safety: single-threaded tool code.
#pragma once

#include <cstdint>
#include <string>

namespace realdid::cli {

int RunAudit(int argc, char** argv);  // realdid audit verify|export|witness
int RunToken(int argc, char** argv);  // realdid token challenge|directory|fetch|attest|redeem
int RunRevocation(int argc, char** argv);    // realdid revocation fetch|check
int RunWalletRevoke(int argc, char** argv);  // realdid wallet revoke
// realdid verify --revocation-cache DIR: throws realdid::Error when the presentation's credential
// is revoked or its key's cached list is missing or stale (offline; cmd_revocation.cc).
void CheckPresentationNotRevoked(const std::string& jwks_text, const std::string& presentation,
                                 const std::string& cache_dir, std::int64_t now);

}  // namespace realdid::cli
