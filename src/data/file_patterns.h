#pragma once
// A split's files: data.train, data.valid and data.test each name one file or a glob pattern
// (`*`, `?`, `[abc]`, and `{a,b}` for a list of names), read in sorted name order as one split.
#include <filesystem>
#include <string>
#include <vector>

namespace heed {

// The files `pattern` names; a name without wildcards is returned as is (reading it reports a
// missing file), a pattern matching nothing is an error.
std::vector<std::filesystem::path> expand_file_pattern(const std::filesystem::path& pattern);

}  // namespace heed
