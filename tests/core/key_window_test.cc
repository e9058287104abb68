// The active-key rule shared by the authority and the wallet (core/key_window.h).
#include "core/key_window.h"

#include <gtest/gtest.h>

#include <vector>

namespace realdid::key_window {
namespace {

struct K {
  int id;
  std::int64_t nbf;
  std::int64_t exp;
};

int ActiveId(const std::vector<K>& keys, std::int64_t now) {
  const K* k = Active(std::span<const K>(keys), now);
  return k == nullptr ? -1 : k->id;
}

TEST(KeyWindowTest, WindowIsHalfOpen) {
  const std::vector<K> keys = {{1, 100, 200}};
  EXPECT_EQ(ActiveId(keys, 99), -1);
  EXPECT_EQ(ActiveId(keys, 100), 1);
  EXPECT_EQ(ActiveId(keys, 199), 1);
  EXPECT_EQ(ActiveId(keys, 200), -1);
}

TEST(KeyWindowTest, OverlapPicksTheLaterStart) {
  // Rotation: the new key's window opens while the old one's is still open.
  const std::vector<K> keys = {{1, 100, 300}, {2, 200, 400}};
  EXPECT_EQ(ActiveId(keys, 150), 1);
  EXPECT_EQ(ActiveId(keys, 250), 2);
  EXPECT_EQ(ActiveId(keys, 350), 2);
  EXPECT_EQ(ActiveId(std::vector<K>{{2, 200, 400}, {1, 100, 300}}, 250), 2);  // order-free
}

TEST(KeyWindowTest, TieForTheLatestStartMeansNoActiveKey) {
  const std::vector<K> keys = {{1, 100, 300}, {2, 200, 400}, {3, 200, 500}};
  EXPECT_EQ(ActiveId(keys, 150), 1);
  EXPECT_EQ(ActiveId(keys, 250), -1);
  EXPECT_EQ(ActiveId(keys, 450), 3);  // key 2 has ended: no tie any more
}

TEST(KeyWindowTest, EmptySet) { EXPECT_EQ(ActiveId({}, 0), -1); }

}  // namespace
}  // namespace realdid::key_window
