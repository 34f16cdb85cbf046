#include "tracetape/recorder/key_set.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace tracetape::recorder {
namespace {

TEST(KeySet, EmptyHasNoKeys) {
  KeySet s;
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.contains(0));
  EXPECT_TRUE(s.Sorted<uint64_t>().empty());
}

TEST(KeySet, DuplicatesCountOnce) {
  KeySet s;
  for (int i = 0; i < 5; ++i) s.insert(7);
  s.insert(3);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.Sorted<uint64_t>(), (std::vector<uint64_t>{3, 7}));
}

TEST(KeySet, TheSentinelValueIsAKeyLikeAnyOther) {
  KeySet s;
  const uint64_t all_ones = ~uint64_t{0};
  EXPECT_FALSE(s.contains(all_ones));
  s.insert(all_ones);
  s.insert(all_ones);
  s.insert(1);
  EXPECT_TRUE(s.contains(all_ones));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.Sorted<uint64_t>(), (std::vector<uint64_t>{1, all_ones}));
  s.clear();
  EXPECT_FALSE(s.contains(all_ones));
  EXPECT_EQ(s.size(), 0u);
}

TEST(KeySet, MatchesStdSetThroughGrowthAndClears) {
  // Line keys: (code << 32) | line, including lines that share low bits
  // across codes, the case a weak hash would pile up.
  std::mt19937_64 rng(12345);
  KeySet s;
  std::set<uint64_t> expected;
  for (int round = 0; round < 4; ++round) {
    int n = round == 2 ? 20 : 5000;  // a small chunk after a big one shrinks the table
    for (int i = 0; i < n; ++i) {
      uint64_t code = rng() % 300;
      uint64_t line = rng() % 2000;
      uint64_t key = (code << 32) | line;
      s.insert(key);
      expected.insert(key);
    }
    for (int i = 0; i < 1000; ++i) {
      uint64_t probe = ((rng() % 400) << 32) | (rng() % 3000);
      ASSERT_EQ(s.contains(probe), expected.count(probe) == 1) << probe;
    }
    ASSERT_EQ(s.size(), expected.size());
    std::vector<uint64_t> want(expected.begin(), expected.end());
    ASSERT_EQ(s.Sorted<uint64_t>(), want);
    s.clear();
    expected.clear();
    ASSERT_EQ(s.size(), 0u);
  }
}

TEST(KeySet, SortedNarrowsToTheRequestedType) {
  KeySet s;
  for (uint32_t id : {40u, 2u, 17u}) s.insert(id);
  EXPECT_EQ(s.Sorted<uint32_t>(), (std::vector<uint32_t>{2, 17, 40}));
}

}  // namespace
}  // namespace tracetape::recorder
