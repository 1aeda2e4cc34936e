#pragma once
// Large buffers on 2 MiB pages. A dataset's column is touched for the first time as it fills,
// one 4 KiB page fault at a time; on a virtual machine a fault can cost several microseconds,
// which made reading a file into memory (load_dataset) four times slower than streaming it
// through reused chunks. Blocks of 1 MiB and more are rounded up to whole 2 MiB pages, start on
// a 2 MiB boundary and ask the kernel for huge pages (a hint: it gives them when transparent
// huge pages are set to "madvise" or "always"), so that one fault maps 512 small pages' worth.
#include <algorithm>
#include <cstddef>
#include <new>
#include <vector>

namespace heed {

// `bytes` of memory: from operator new below 1 MiB; above, from malloc at a 2 MiB boundary,
// rounded up to whole 2 MiB pages advised huge. Released with release_maybe_huge(p, the same bytes).
void* allocate_maybe_huge(std::size_t bytes);
void release_maybe_huge(void* p, std::size_t bytes) noexcept;

template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(allocate_maybe_huge(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { release_maybe_huge(p, n * sizeof(T)); }
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }
};

// A column of a dataset: one value (or a few) per row, millions of rows.
template <class T>
using ColumnVector = std::vector<T, HugePageAllocator<T>>;

// A column equals a plain vector of the same values (what tests compare it with).
template <class T>
bool operator==(const ColumnVector<T>& column, const std::vector<T>& values) {
  return std::equal(column.begin(), column.end(), values.begin(), values.end());
}

}  // namespace heed
