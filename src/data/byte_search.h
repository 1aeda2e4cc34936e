#pragma once
// Finds every occurrence of one byte in a text, for the splitters that cut lines into cells and
// cells into values. A row holds tens of short cells, where a memchr per cell costs more in calls
// than in searching: this compares a whole block of bytes at once and walks the bits of the
// matches. Blocks are 32 bytes with AVX2 (when the build targets it), 16 with SSE2 (every x86-64
// CPU), and 8 bytes in a 64-bit word on other little-endian CPUs (byte by byte on the rest), so
// the build runs on any CPU it targets.
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace heed {

// Calls found(i) for each i with text[i] == byte, in increasing order.
template <class Found>
inline void for_each_byte(std::string_view text, char byte, Found&& found) {
  const char* s = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
#if defined(__AVX2__)
  const __m256i wanted = _mm256_set1_epi8(byte);
  for (; i + 32 <= n; i += 32) {
    const __m256i block = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    auto mask = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(block, wanted)));
    for (; mask != 0; mask &= mask - 1) found(i + static_cast<std::size_t>(__builtin_ctz(mask)));
  }
#endif
#if defined(__SSE2__)
  const __m128i wanted16 = _mm_set1_epi8(byte);
  for (; i + 16 <= n; i += 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    auto mask = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, wanted16)));
    for (; mask != 0; mask &= mask - 1) found(i + static_cast<std::size_t>(__builtin_ctz(mask)));
  }
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // Eight bytes in a word: a byte of (word ^ wanted) is zero where it matched; the classic
  // has-zero-byte test marks those bytes' high bits exactly (borrows only run upward, past
  // the lowest match, and every match below them is reported first).
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  const std::uint64_t wanted8 = kOnes * static_cast<unsigned char>(byte);
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, s + i, 8);
    word ^= wanted8;
    std::uint64_t mask = (word - kOnes) & ~word & kHighs;
    // Bytes above a true match may be flagged by its borrow: report each match and recheck.
    for (; mask != 0; mask &= mask - 1) {
      const std::size_t at = i + static_cast<std::size_t>(__builtin_ctzll(mask)) / 8;
      if (s[at] == byte) found(at);
    }
  }
#endif
  for (; i < n; ++i)
    if (s[i] == byte) found(i);
}

}  // namespace heed
