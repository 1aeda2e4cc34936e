#pragma once
// UTF-8 validation of raw cells. Rows are mostly ASCII, so the check first looks for any byte
// with the high bit set, eight bytes at a time, and decodes only when it finds one.
#include <cstddef>
#include <string>
#include <string_view>

namespace heed {

// Position of the first byte that does not begin or continue a valid UTF-8 sequence (overlong
// forms, surrogates and code points past U+10FFFF are invalid), or npos when `text` is valid.
std::size_t find_invalid_utf8(std::string_view text);

// True when `text` is ASCII without NUL bytes, which is valid UTF-8 text: the check for the
// usual row, one pass the compiler vectorizes, before looking closer at any other.
bool is_plain_ascii(std::string_view text);

// Why a line is not UTF-8 text ("not UTF-8 text: a NUL byte at byte 2 (is the file UTF-16 or
// binary?)"), or "" when it is. NUL bytes are valid UTF-8 but no text file holds them; a UTF-16
// file is mostly ASCII bytes and NULs. Messages say this instead of quoting the raw bytes.
std::string not_utf8_text(std::string_view line);

}  // namespace heed
