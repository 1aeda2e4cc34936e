#pragma once
// Reads a text file record by record through a large buffer, plain or compressed (gzip or
// zstd, told by the first bytes: compressed_input.h), or text already in memory, tracking line
// numbers and byte offsets for error messages. A record is one line, except with quoted
// records (CSV): there a line break inside a double-quoted field belongs to the field and the
// record goes on to the next line. A UTF-8 byte-order mark at the start and a CR before each
// LF are dropped, inside quoted fields too (a CRLF there reads as LF, so a file reads the same
// whichever line ends it was written with). Memory stays bounded whatever the input: a record
// longer than the limit is never held whole.
//
// Quoted records follow the quotes as the CSV splitter does (field_splitter.h): a quote at the
// start of a field opens it, inside it "" is a quote and a lone quote closes it; a quote
// anywhere else is ordinary text. A quoted field that is not closed by the end of the file, or
// within the limit, is reported (unclosed_quote()) and never swallows the rest of the file: the
// record returned ends with the line where the quote opened, and reading goes on after it.
//
// Two ways to meet damage:
//   strict (default)  a record over the limit, an unclosed quoted field, or a compressed file
//                     cut short or corrupt, throws heed::Error naming the file and line;
//   reporting         an over-long record is returned cut to its first kKeptPrefixBytes with
//                     line_too_long() set (its remainder is read past, not stored), an unclosed
//                     quote as above with unclosed_quote() set, and damaged compressed data ends
//                     the file early with damage() saying why; the records before the damage are
//                     returned as usual, the cut-off last one with line_unterminated() set.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace heed {

class CompressedInput;

// A quoted field whose closing quote never came.
struct UnclosedQuote {
  std::uint64_t line = 0;    // the physical line where its quote is, from 1; 0: none
  std::size_t column = 0;    // its 1-based field in the record
  bool at_end_of_file = false;  // the file ended first (else: the record limit came first)

  explicit operator bool() const { return line != 0; }
};

class LineReader {
 public:
  static constexpr std::size_t kDefaultMaxLineBytes = 16u << 20;
  static constexpr std::size_t kKeptPrefixBytes = 4096;

  struct Options {
    std::size_t max_line_bytes = kDefaultMaxLineBytes;  // the limit on a record
    bool report_damage = false;  // reporting instead of strict (above)
    bool quoted_records = false;  // CSV: line breaks inside double-quoted fields (above)
    char delimiter = ',';         // with quoted_records: what separates fields
  };

  explicit LineReader(const std::filesystem::path& path, std::size_t max_line_bytes = kDefaultMaxLineBytes);
  LineReader(const std::filesystem::path& path, const Options& options);
  // Text already in memory (a request body); `name` stands for the file name in messages.
  struct Text {
    std::string name;
    std::string_view text;
  };
  explicit LineReader(const Text& text, std::size_t max_line_bytes = kDefaultMaxLineBytes);
  LineReader(const Text& text, const Options& options);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next record without its terminator; false at the end of the file. The view stays
  // valid until the next call.
  bool next(std::string_view& line);

  const std::string& path() const { return path_; }
  std::uint64_t line_number() const { return line_number_; }  // the last record's first line, from 1
  std::uint64_t line_count() const { return line_count_; }    // the physical lines it spans
  std::uint64_t line_offset() const { return line_offset_; }  // its first byte in the (decompressed) file
  std::uint64_t line_length() const { return line_length_; }  // its full length in the file, terminator excluded
  bool line_too_long() const { return too_long_; }            // reporting: returned cut to a prefix
  bool line_unterminated() const { return unterminated_; }    // the file ended inside this record
  const UnclosedQuote& unclosed_quote() const { return unclosed_; }  // reporting: why the record was cut
  // False when quoted records are read and this one holds no quote, so a splitter need not look.
  bool line_may_hold_quotes() const { return may_hold_quotes_; }
  const std::string& damage() const { return damage_; }       // reporting: why the data ended early
  std::size_t max_line_bytes() const { return options_.max_line_bytes; }
  std::uint64_t bytes_read() const { return consumed_ + begin_; }  // decompressed bytes consumed

 private:
  // Where the quotes of the record being read stand, offsets from begin_.
  struct QuoteScan {
    bool open = false;             // inside a quoted field at the end of the scanned text
    std::size_t quote = 0;         // that field's opening quote
    std::uint64_t quote_line = 0;  // the record's physical line holding it, from 0
    std::size_t quote_line_end = 0;  // where that line ends (its LF, or the end of the data)
  };

  bool fill();  // reads more input after the unread part of the buffer; false at end of file
  void skip_rest_of_line();  // reporting: reads past an over-long line, keeping its prefix
  // Follows the quotes of the record's physical line [from, stop), `line` lines into it.
  void scan_quotes(std::size_t from, std::size_t stop, std::uint64_t line, QuoteScan& scan) const;
  std::size_t column_at(std::size_t at) const;  // the 1-based field of the record holding offset `at`
  // Hands out the record [begin_, begin_ + length) of `lines` lines; `terminated`: an LF follows.
  std::string_view take(std::size_t length, std::uint64_t lines, bool terminated);
  // A quoted field that does not close: fails (strict), or returns the record up to the end of
  // the quote's line and goes on after it (reporting).
  std::string_view give_up_on_quote(const QuoteScan& scan, bool at_end_of_file);
  bool starts_with_bom() const;  // the record at begin_ is the file's first and opens with a BOM

  std::string path_;
  std::unique_ptr<CompressedInput> input_;  // null for text in memory
  Options options_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes are buffer_[begin_, end_)
  bool eof_ = false;
  std::uint64_t next_line_ = 1;  // the physical line at begin_
  std::uint64_t line_number_ = 0;
  std::uint64_t line_count_ = 0;
  std::uint64_t line_offset_ = 0;
  std::uint64_t line_length_ = 0;
  std::uint64_t consumed_ = 0;  // bytes of the file before buffer_[begin_]
  bool too_long_ = false, unterminated_ = false;
  bool may_hold_quotes_ = true;
  UnclosedQuote unclosed_;
  std::string long_prefix_;  // the kept start of an over-long record
  std::string damage_;
};

}  // namespace heed
