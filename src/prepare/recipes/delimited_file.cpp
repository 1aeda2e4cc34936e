#include "prepare/recipes/delimited_file.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace heed::recipes {
namespace {

std::string delimiter_name(const std::string& delimiter) {
  return delimiter == "\t" ? "TAB" : fmt::format("'{}'", delimiter);
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

DelimitedFile::DelimitedFile(const std::filesystem::path& path, std::string delimiter,
                             std::vector<std::string> column_names)
    : delimiter_(std::move(delimiter)), column_names_(std::move(column_names)) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(fmt::format("{}: cannot open the file ({})", path.string(),
                            std::filesystem::exists(path) ? "not a regular file"
                                                          : "No such file or directory"));
  }
  reader_ = std::make_unique<LineReader>(path);
  fields_.reserve(column_names_.size() + 1);
}

bool DelimitedFile::next() {
  std::string_view line;
  while (reader_->next(line)) {
    if (line.empty() && skip_blank_lines_) continue;
    line_ = line;
    fields_.clear();
    std::size_t start = 0;
    while (true) {
      const std::size_t cut = line.find(delimiter_, start);
      fields_.push_back(line.substr(start, cut == std::string_view::npos ? cut : cut - start));
      if (cut == std::string_view::npos) break;
      start = cut + delimiter_.size();
    }
    if (fields_.size() != column_names_.size()) {
      // Point at the first column that is missing, or the first one that should not be there.
      const std::size_t column = std::min(fields_.size(), column_names_.size());
      const std::string found =
          line.empty() ? "an empty line" : fmt::format("{} field(s)", fields_.size());
      SourceLocation at{path(), line_number(), reader_->line_offset(), column + 1,
                        column < column_names_.size() ? column_names_[column] : ""};
      const std::string which = fields_.size() < column_names_.size()
                                    ? "; this column and the ones after it are missing"
                                    : "; this column and the ones after it are extra";
      throw ParseError(std::move(at), "field_count",
                       fmt::format("expected {} fields separated by {}, found {}{}", column_names_.size(),
                                   delimiter_name(delimiter_), found, line.empty() ? "" : which));
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

void DelimitedFile::check_number(std::size_t column, bool allow_empty) const {
  const std::string_view text = fields_[column];
  if (text.empty()) {
    if (!allow_empty) fail(column, "empty_value", "expected a number, found nothing");
    return;
  }
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    fail(column, "not_a_number", fmt::format("expected a number, found {}", quoted(text)));
  }
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
    return SourceLocation{path(), line_number(), reader_->line_offset(), 0, ""};
  }
  const auto offset =
      reader_->line_offset() + static_cast<std::uint64_t>(fields_[column].data() - line_.data());
  return SourceLocation{path(), line_number(), offset, column + 1,
                        column < column_names_.size() ? column_names_[column] : ""};
}

void DelimitedFile::fail(std::size_t column, std::string reason, const std::string& detail) const {
  throw ParseError(where(column), std::move(reason), detail);
}

void DelimitedFile::fail_empty(const std::string& expected) const {
  SourceLocation at{path(), 1, 0, 1, column_names_.empty() ? "" : column_names_.front()};
  throw ParseError(std::move(at), "empty_file",
                   fmt::format("the file is empty, expected {}", expected));
}

}  // namespace heed::recipes
