#include "data/file_patterns.h"

#include <glob.h>

#include <algorithm>

#include "core/error.h"

namespace heed {

std::vector<std::filesystem::path> expand_file_pattern(const std::filesystem::path& pattern) {
  const std::string text = pattern.string();
  if (text.find_first_of("*?[{") == std::string::npos) return {pattern};
  glob_t found{};
  const int status = glob(text.c_str(), GLOB_BRACE | GLOB_ERR, nullptr, &found);
  std::vector<std::filesystem::path> files;
  for (std::size_t i = 0; i < found.gl_pathc; ++i) files.emplace_back(found.gl_pathv[i]);
  globfree(&found);
  if (status == GLOB_NOMATCH || (status == 0 && files.empty()))
    throw Error(fmt::format("{}: no file matches this pattern", text));
  if (status != 0) throw Error(fmt::format("{}: cannot list the files of this pattern", text));
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace heed
