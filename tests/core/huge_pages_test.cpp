// Column vectors (core/huge_pages.h): blocks of 1 MiB and more start on a 2 MiB boundary so the
// kernel can back them with huge pages; smaller ones come from operator new. Either way they
// hold, copy, grow and free as any vector does.
#include "core/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>

namespace heed {
namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;

TEST(HugePages, LargeBlocksStartOnAHugePageBoundary) {
  for (const std::size_t bytes : {kHuge / 2, kHuge / 2 + 24, kHuge, kHuge + 8, 5 * kHuge + 4096 + 24}) {
    void* p = allocate_maybe_huge(bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kHuge, 0u) << bytes;
    auto* bytes_at = static_cast<unsigned char*>(p);
    bytes_at[0] = 1, bytes_at[bytes - 1] = 2;  // the whole block is writable
    EXPECT_EQ(bytes_at[0] + bytes_at[bytes - 1], 3);
    release_maybe_huge(p, bytes);
  }
  void* small = allocate_maybe_huge(100);
  ASSERT_NE(small, nullptr);
  release_maybe_huge(small, 100);
}

TEST(HugePages, AColumnVectorGrowsCopiesAndComparesAsAVector) {
  ColumnVector<std::uint64_t> column;
  std::vector<std::uint64_t> plain;
  for (std::uint64_t i = 0; i < 3 * kHuge / sizeof(std::uint64_t) + 7; ++i) {  // through many regrowths
    column.push_back(i * 3);
    plain.push_back(i * 3);
  }
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(column.data()) % kHuge, 0u);
  EXPECT_TRUE(column == plain);
  ColumnVector<std::uint64_t> copy = column;
  copy.back() += 1;
  EXPECT_FALSE(copy == plain);
  copy.resize(10);
  copy.shrink_to_fit();
  EXPECT_EQ(std::accumulate(copy.begin(), copy.end(), std::uint64_t{0}), 135u);  // 3 (0 + 1 + ... + 9)
}

}  // namespace
}  // namespace heed
