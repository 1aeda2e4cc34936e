#include "data/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace heed {
namespace {

// The shortcut before the UTF-8 check: true exactly when every byte is 1..127, whatever the
// length and wherever a NUL or a high byte sits.
TEST(Utf8, PlainAsciiMeansNoNulAndNoHighByte) {
  std::mt19937 rng(2);
  for (std::size_t length = 0; length <= 130; ++length) {
    std::string text(length, 'a');
    for (char& c : text) c = static_cast<char>(1 + rng() % 127);
    EXPECT_TRUE(is_plain_ascii(text)) << length;
    for (std::size_t at = 0; at < length; ++at) {
      for (const char odd : {'\0', '\x80', '\xff', '\xc3'}) {
        std::string changed = text;
        changed[at] = odd;
        ASSERT_FALSE(is_plain_ascii(changed)) << "length " << length << ", byte " << at << " = " << int(odd);
      }
    }
  }
  EXPECT_TRUE(is_plain_ascii(""));
  EXPECT_EQ(find_invalid_utf8("caf\xc3\xa9"), std::string_view::npos);  // valid UTF-8, not plain ASCII
  EXPECT_FALSE(is_plain_ascii("caf\xc3\xa9"));
}

}  // namespace
}  // namespace heed
