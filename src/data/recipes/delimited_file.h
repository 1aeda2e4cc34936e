#pragma once
// A small delimited text file (MovieLens's u.data, u.user, ...) read whole and walked record by
// record. Every problem is a ParseError naming the file, the line and the column, so a user can
// open the file at the right place.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace heed::recipes {

class DelimitedFile {
 public:
  // Column index meaning "the whole line" in where() and fail().
  static constexpr std::size_t kWholeLine = std::numeric_limits<std::size_t>::max();

  // Reads the whole file (throws heed::Error when it cannot). `column_names` fixes how many
  // fields each record has and names them in error messages.
  DelimitedFile(const std::filesystem::path& path, char delimiter,
                std::vector<std::string> column_names);
  // Fields are views into the contents, so the reader stays where it was made.
  DelimitedFile(const DelimitedFile&) = delete;
  DelimitedFile& operator=(const DelimitedFile&) = delete;

  // Skip empty lines instead of rejecting them (u.genre ends with one).
  void skip_blank_lines() { skip_blank_lines_ = true; }

  // Moves to the next record; false at the end of the file. A record with the wrong number of
  // fields is an error at the first missing or first extra column.
  bool next();

  // Field `column` (0-based) of the current record.
  std::string_view field(std::size_t column) const { return fields_[column]; }
  // The field as an integer in [min, max]; anything else is an error at that column.
  std::int64_t integer(std::size_t column, std::int64_t min, std::int64_t max) const;
  // The field as text that can go into a TSV cell unchanged: no TAB, optionally non-empty.
  std::string_view cell_text(std::size_t column, bool allow_empty) const;

  const std::string& path() const { return path_; }
  std::uint64_t line_number() const { return line_number_; }
  std::size_t records_read() const { return records_read_; }

  // Where `column` (0-based, or kWholeLine) of the current record is.
  SourceLocation where(std::size_t column) const;
  [[noreturn]] void fail(std::size_t column, std::string reason, const std::string& detail) const;
  // For a file without a single record: reported at line 1, column 1, where one was expected.
  [[noreturn]] void fail_empty(const std::string& expected) const;

 private:
  std::string path_;
  char delimiter_;
  std::vector<std::string> column_names_;
  std::string contents_;
  std::size_t position_ = 0;       // byte where the next line starts
  std::size_t line_start_ = 0;     // byte where the current line starts
  std::uint64_t line_number_ = 0;  // 1-based; 0 before the first record
  std::size_t records_read_ = 0;
  bool skip_blank_lines_ = false;
  std::vector<std::string_view> fields_;
};

// A value as it should appear in an error message: quoted, control bytes escaped, long values cut.
std::string quoted(std::string_view value);

}  // namespace heed::recipes
