#pragma once
// Escapes text for HTML element content and attribute values (& < > " ').
// Every report heed writes (explain, ablate) puts raw data through this.
#include <string>
#include <string_view>

namespace heed {

std::string escape_html(std::string_view text);

}  // namespace heed
