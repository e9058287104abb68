// Test helper: run a callable and report the realdid::ErrorKind it threw (a test failure if it
// threw none), so negative tests can assert the exact kind of refusal.
#pragma once

#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"

namespace realdid::testing {

inline ErrorKind KindOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no realdid::Error thrown";
  return ErrorKind::kInternal;
}

}  // namespace realdid::testing
