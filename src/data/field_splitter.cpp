#include "data/field_splitter.h"

#include "data/byte_search.h"

namespace heed {

std::string FieldSplitter::split(std::string_view line, std::vector<std::string_view>& fields,
                                 std::size_t& bad_column, bool may_hold_quotes) {
  fields.clear();
  if (!quoting_ || !may_hold_quotes || line.find('"') == std::string_view::npos) {
    std::size_t start = 0;
    for_each_byte(line, delimiter_, [&](std::size_t stop) {
      fields.push_back(line.substr(start, stop - start));
      start = stop + 1;
    });
    fields.push_back(line.substr(start));
    return {};
  }
  // Quoted fields: unquoted text is copied into one buffer reserved up front, so views into it
  // stay valid while the line is split.
  unquoted_.clear();
  unquoted_.reserve(line.size());
  std::size_t i = 0;
  while (true) {
    const std::size_t column = fields.size() + 1;
    if (i < line.size() && line[i] == '"') {
      const std::size_t begin = unquoted_.size();
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            unquoted_.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        unquoted_.push_back(line[i++]);
      }
      if (!closed) {
        bad_column = column;
        return "unterminated quoted field";
      }
      if (i < line.size() && line[i] != delimiter_) {
        bad_column = column;
        return "unexpected text after a closing quote";
      }
      fields.push_back(std::string_view(unquoted_).substr(begin, unquoted_.size() - begin));
    } else {
      const std::size_t stop = line.find(delimiter_, i);
      fields.push_back(line.substr(i, stop - i));
      i = stop == std::string_view::npos ? line.size() : stop;
    }
    if (i >= line.size()) break;
    ++i;  // the delimiter
    if (i == line.size()) {  // a trailing delimiter ends with an empty field
      fields.push_back(std::string_view());
      break;
    }
  }
  return {};
}

}  // namespace heed
