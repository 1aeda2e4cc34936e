#include "core/huge_pages.h"

#include <cstdint>
#include <cstdlib>

#include <sys/mman.h>

namespace heed {
namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;
// Blocks from half a huge page up are rounded up to whole huge pages: the last part of a block
// would otherwise fill 4 KiB at a time, up to 511 faults where one does (a 2.5 MiB column took
// 128), and a 1-2 MiB block (a column of 160,000 row ends) up to 512 where one does. What goes
// unused is under 2 MiB a block, and at most half of it.
constexpr std::size_t kRoundedUp = kHuge / 2;

std::size_t whole_huge_pages(std::size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }

}  // namespace

void* allocate_maybe_huge(std::size_t bytes) {
  if (bytes < kRoundedUp) return ::operator new(bytes);
  // From malloc all the same, so that memory it already holds (a column freed before) is
  // reused, but starting on a 2 MiB boundary: only whole, aligned 2 MiB ranges can be huge pages.
  const std::size_t size = whole_huge_pages(bytes);
  void* p = nullptr;
  if (posix_memalign(&p, kHuge, size) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  // A hint: where the kernel has no huge page to give, the block keeps its small ones.
  madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

void release_maybe_huge(void* p, std::size_t bytes) noexcept {
  if (bytes < kRoundedUp) return ::operator delete(p);
  std::free(p);
}

}  // namespace heed
