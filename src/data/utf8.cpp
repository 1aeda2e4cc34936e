#include "data/utf8.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>

namespace heed {

std::size_t find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  // ASCII fast path.
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, s + i, 8);
    if (word & 0x8080808080808080ULL) break;
  }
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;       // no overlong 3-byte forms
      if (c == 0xED) high = 0x9F;      // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;       // no overlong 4-byte forms
      if (c == 0xF4) high = 0x8F;      // nothing past U+10FFFF
    } else {
      return i;  // a continuation byte, or a lead byte never valid (C0, C1, F5..FF)
    }
    if (i + length > n) return i;
    if (s[i + 1] < low || s[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += length;
  }
  return std::string_view::npos;
}

bool is_plain_ascii(std::string_view text) {
  // Two reductions without an early exit, so the loop vectorizes: the OR of the bytes has its
  // high bit set when any byte is not ASCII, their minimum is 0 when any byte is NUL.
  unsigned char any = 0, lowest = 0xFF;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    any |= b;
    lowest = b < lowest ? b : lowest;
  }
  return (any & 0x80) == 0 && lowest != 0;
}

std::string not_utf8_text(std::string_view line) {
  constexpr std::string_view kConvert = "heed reads UTF-8: convert it, e.g. iconv -f UTF-16 -t UTF-8";
  if (line.starts_with("\xff\xfe") || line.starts_with("\xfe\xff"))
    return fmt::format("not UTF-8 text: the file starts with a UTF-16 byte-order mark; {}", kConvert);
  if (const std::size_t nul = line.find('\0'); nul != std::string_view::npos)
    return fmt::format("not UTF-8 text: a NUL byte at byte {} of the line (is the file UTF-16 or binary?); {}",
                       nul + 1, kConvert);
  if (const std::size_t bad = find_invalid_utf8(line); bad != std::string_view::npos)
    return fmt::format("not UTF-8 text: byte {} of the line is not valid UTF-8 (is the file binary, or in "
                       "another encoding?)",
                       bad + 1);
  return {};
}

}  // namespace heed
