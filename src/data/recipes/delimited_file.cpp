#include "data/recipes/delimited_file.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace heed::recipes {
namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open the file ({})", path, std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: cannot read the file", path));
  return std::move(buffer).str();
}

std::string delimiter_name(char delimiter) {
  return delimiter == '\t' ? "TAB" : fmt::format("'{}'", delimiter);
}

}  // namespace

std::string quoted(std::string_view value) {
  constexpr std::size_t kLongest = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < kLongest; ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += value[i];
    }
  }
  if (value.size() > kLongest) out += "...";
  return out + "'";
}

DelimitedFile::DelimitedFile(const std::filesystem::path& path, char delimiter,
                             std::vector<std::string> column_names)
    : path_(path.string()),
      delimiter_(delimiter),
      column_names_(std::move(column_names)),
      contents_(read_whole(path_)) {
  fields_.reserve(column_names_.size() + 1);
}

bool DelimitedFile::next() {
  while (position_ < contents_.size()) {
    line_start_ = position_;
    ++line_number_;
    std::size_t end = contents_.find('\n', position_);
    if (end == std::string::npos) end = contents_.size();
    position_ = end + 1;
    std::string_view line(contents_.data() + line_start_, end - line_start_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // files copied via Windows
    if (line.empty() && skip_blank_lines_) continue;

    fields_.clear();
    std::size_t start = 0;
    while (true) {
      const std::size_t cut = line.find(delimiter_, start);
      fields_.push_back(line.substr(start, cut == std::string_view::npos ? cut : cut - start));
      if (cut == std::string_view::npos) break;
      start = cut + 1;
    }
    if (fields_.size() != column_names_.size()) {
      // Point at the first column that is missing, or the first one that should not be there.
      const std::size_t column = std::min(fields_.size(), column_names_.size());
      const std::string found =
          line.empty() ? "an empty line" : fmt::format("{} field(s)", fields_.size());
      SourceLocation at{path_, line_number_, line_start_, column + 1,
                        column < column_names_.size() ? column_names_[column] : ""};
      throw ParseError(std::move(at), "field_count",
                       fmt::format("expected {} fields separated by {}, found {}",
                                   column_names_.size(), delimiter_name(delimiter_), found));
    }
    ++records_read_;
    return true;
  }
  return false;
}

std::int64_t DelimitedFile::integer(std::size_t column, std::int64_t min, std::int64_t max) const {
  const std::string_view text = fields_[column];
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    fail(column, "not_an_integer", fmt::format("expected an integer, found {}", quoted(text)));
  }
  if (value < min || value > max) {
    fail(column, "out_of_range",
         fmt::format("expected an integer in [{}, {}], found {}", min, max, value));
  }
  return value;
}

std::string_view DelimitedFile::cell_text(std::size_t column, bool allow_empty) const {
  const std::string_view text = fields_[column];
  if (text.empty() && !allow_empty) fail(column, "empty_value", "expected a value, found nothing");
  if (text.find('\t') != std::string_view::npos) {
    fail(column, "tab_in_value",
         fmt::format("value {} contains a TAB, which would break the TSV output", quoted(text)));
  }
  return text;
}

SourceLocation DelimitedFile::where(std::size_t column) const {
  if (column == kWholeLine || column >= fields_.size()) {
    return SourceLocation{path_, line_number_, line_start_, 0, ""};
  }
  const auto offset = static_cast<std::uint64_t>(fields_[column].data() - contents_.data());
  return SourceLocation{path_, line_number_, offset, column + 1, column_names_[column]};
}

void DelimitedFile::fail(std::size_t column, std::string reason, const std::string& detail) const {
  throw ParseError(where(column), std::move(reason), detail);
}

void DelimitedFile::fail_empty(const std::string& expected) const {
  SourceLocation at{path_, 1, 0, 1, column_names_.empty() ? "" : column_names_.front()};
  throw ParseError(std::move(at), "empty_file",
                   fmt::format("the file is empty, expected {}", expected));
}

}  // namespace heed::recipes
