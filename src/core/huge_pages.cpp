#include "core/huge_pages.h"

#include <cstdint>
#include <cstdlib>

#include <sys/mman.h>

namespace heed {
namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;

}  // namespace

void* allocate_maybe_huge(std::size_t bytes) {
  if (bytes < kHuge) return ::operator new(bytes);
  // From malloc all the same, so that memory it already holds (a column freed before) is
  // reused, but starting on a 2 MiB boundary: only whole, aligned 2 MiB ranges can be huge pages.
  void* p = nullptr;
  if (posix_memalign(&p, kHuge, bytes) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  // A hint: where the kernel has no huge page to give, the block keeps its small ones. The
  // last part, short of a whole huge page, stays on small pages.
  madvise(p, bytes / kHuge * kHuge, MADV_HUGEPAGE);
#endif
  return p;
}

void release_maybe_huge(void* p, std::size_t bytes) noexcept {
  if (bytes < kHuge) return ::operator delete(p);
  std::free(p);
}

}  // namespace heed
