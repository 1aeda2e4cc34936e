#pragma once
// key -> row map for growable embedding tables: open addressing with linear probing over a
// power-of-two array, kept at most half full. Keys are already well-mixed 64-bit hashes, so
// their low bits index directly. Not thread-safe for inserts (the batch builder inserts on
// one thread before workers read).
#include <algorithm>
#include <cstdint>
#include <vector>

namespace heed {

class KeyIndex {
 public:
  static constexpr std::uint32_t kAbsent = 0xFFFFFFFFu;

  KeyIndex() { slots_.assign(16, Slot{0, kAbsent}); }

  std::uint32_t find(std::uint64_t key) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = key & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.row == kAbsent) return kAbsent;
      if (s.key == key) return s.row;
    }
  }

  // Inserts key -> row; the key must be absent.
  void insert(std::uint64_t key, std::uint32_t row) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    place(key, row);
    ++size_;
  }

  std::size_t size() const { return size_; }
  // Empty again, keeping the slots' memory (a per-step cache is refilled every step).
  void clear() {
    if (size_ == 0) return;
    std::fill(slots_.begin(), slots_.end(), Slot{0, kAbsent});
    size_ = 0;
  }

 private:
  struct Slot {
    std::uint64_t key;
    std::uint32_t row;
  };

  void place(std::uint64_t key, std::uint32_t row) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = key & mask;
    while (slots_[i].row != kAbsent) i = (i + 1) & mask;
    slots_[i] = Slot{key, row};
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{0, kAbsent});
    old.swap(slots_);
    for (const Slot& s : old)
      if (s.row != kAbsent) place(s.key, s.row);
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace heed
