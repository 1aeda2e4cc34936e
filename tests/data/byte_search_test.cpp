#include "data/byte_search.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace heed {
namespace {

std::vector<std::size_t> found_by_loop(std::string_view text, char byte) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == byte) at.push_back(i);
  return at;
}

std::vector<std::size_t> found_by_blocks(std::string_view text, char byte) {
  std::vector<std::size_t> at;
  for_each_byte(text, byte, [&](std::size_t i) { at.push_back(i); });
  return at;
}

// Every length around the block sizes, matches at every place in a block (first, last, runs
// of them, none), bytes with the high bit set as the searched byte and as its neighbours.
TEST(ByteSearch, FindsEveryMatchInOrderAtAnyLengthAndPlace) {
  std::mt19937 rng(5);
  const char searched[] = {'\t', ',', '|', '\n', '\0', '\xff', '\x80'};
  for (const char byte : searched) {
    for (std::size_t length = 0; length <= 100; ++length) {
      for (int density : {0, 1, 8, 50, 100}) {
        std::string text(length, 'a');
        for (char& c : text) {
          c = static_cast<char>(rng() % 256);
          if (c == byte) c = 'x';
          if (static_cast<int>(rng() % 100) < density) c = byte;
        }
        ASSERT_EQ(found_by_blocks(text, byte), found_by_loop(text, byte))
            << "byte " << static_cast<int>(byte) << ", length " << length << ", density " << density;
      }
    }
  }
}

TEST(ByteSearch, ReadsOnlyTheViewsBytes) {
  // A match just past the end of the view must not be reported.
  const std::string text = "ab\tcd\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
  for (std::size_t length = 0; length < 40; ++length) {
    const std::string_view view(text.data(), length);
    EXPECT_EQ(found_by_blocks(view, '\t'), found_by_loop(view, '\t')) << length;
  }
}

}  // namespace
}  // namespace heed
