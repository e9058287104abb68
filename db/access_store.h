// Typed access for "who may do what" and the resident-facing views of migration 0002/0008: the
// resident's own session history, session cancellation, and the operator's lockout review.
// Inside a caller's transaction; times are Unix seconds from the service's clock.
// Security contract: no column returned here is identity data, a secret hash, a commit, a
// challenge, a trace or a signature; persons are named by their opaque id only.
// Thread-safety: functions on a caller's Tx (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "db/pool.h"

namespace realdid::db {

struct SessionSummary {
  Bytes id;
  std::string kid;
  std::string state;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
};

// The person's newest `limit` sessions, returned oldest first.
std::vector<SessionSummary> SessionsOfPerson(Tx& tx, std::int64_t person_id, int limit);

// open -> cancelled (migration 0008); false when the session was not open.
bool CancelOpenSession(Tx& tx, ByteView session_id);

struct LockoutRow {
  std::int64_t person_id = 0;
  std::int64_t locked_until = 0;
  std::string reason;
  std::int64_t strikes = 0;
};

// Persons locked at `now` with id > after_id, by id, at most limit.
std::vector<LockoutRow> LockedPersons(Tx& tx, std::int64_t now, std::int64_t after_id, int limit);
std::int64_t CountLockedPersons(Tx& tx, std::int64_t now);
std::int64_t CountActiveSessions(Tx& tx);

// Clears the lockout of a person locked at `now` (row locked); returns the lockout that was
// released, nullopt when the person is unknown or not locked.
std::optional<LockoutRow> ReleaseLockout(Tx& tx, std::int64_t person_id, std::int64_t now);

}  // namespace realdid::db
