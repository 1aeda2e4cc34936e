#pragma once
// UTF-8 validation of raw cells. Rows are mostly ASCII, so the check first looks for any byte
// with the high bit set, eight bytes at a time, and decodes only when it finds one.
#include <cstddef>
#include <string_view>

namespace heed {

// Position of the first byte that does not begin or continue a valid UTF-8 sequence (overlong
// forms, surrogates and code points past U+10FFFF are invalid), or npos when `text` is valid.
std::size_t find_invalid_utf8(std::string_view text);

}  // namespace heed
