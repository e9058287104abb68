// Command-line plumbing shared by every `realdid` subcommand group (main.cc, cmd_<group>.cc):
// "--flag value" parsing against an allow-list, required flags, usage errors, --now, whole-file
// reads and atomic public-file writes.
// Thread-safety: single-threaded tool code.
// Security contract: error texts name flags and paths only, never file contents.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "wallet/https_client.h"

namespace realdid::cli {

using Flags = std::map<std::string, std::string>;

// Reads argv[first..] as "--flag value" pairs into `out`; every flag must be in `allowed`, or in
// `switches` (takes no value, stored as "1"). On a problem sets `error` (unknown argument, missing
// value, flag given twice) and returns false.
bool ParseFlags(int argc, char** argv, int first, const std::vector<std::string>& allowed,
                Flags& out, std::string& error, const std::vector<std::string>& switches = {});

// False (and `error` = "missing NAME") when one of `names` is absent.
bool Require(const Flags& f, const std::vector<std::string>& names, std::string& error);

// Prints "realdid: MESSAGE" and `usage` to stderr; returns the usage exit code 2.
int UsageError(const char* usage, const std::string& message);

// --now as non-negative Unix seconds (decimal digits only), else the system clock.
std::int64_t NowFlag(const Flags& f);

// The whole file; throws InvalidInput "cannot read PATH".
std::string ReadFile(const std::string& path);

// `s` without trailing CR, LF and spaces.
std::string TrimEnd(std::string s);

// Writes PATH.tmp then renames it over PATH; throws InvalidInput "cannot write ...".
void WriteFileAtomically(const std::string& path, const std::string& text);

// HTTPS options trusting only the CA file `ca`.
wallet::HttpsOptions CaOnly(const std::string& ca);

}  // namespace realdid::cli
