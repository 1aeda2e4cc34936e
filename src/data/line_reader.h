#pragma once
// Reads a text file line by line through a large buffer, plain or compressed (gzip or zstd,
// told by the first bytes: compressed_input.h), or text already in memory, tracking line
// numbers and byte offsets for error messages. A UTF-8 byte-order mark at the start and a CR
// before each LF are dropped. Memory stays bounded whatever the input: a line longer than the
// limit is never held whole.
//
// Two ways to meet damage:
//   strict (default)  a line over the limit, or a compressed file cut short or corrupt, throws
//                     heed::Error naming the file and line;
//   reporting         an over-long line is returned cut to its first kKeptPrefixBytes with
//                     line_too_long() set (its remainder is read past, not stored), and damaged
//                     compressed data ends the file early with damage() saying why; the lines
//                     before the damage are returned as usual, the cut-off last one with
//                     line_unterminated() set.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace heed {

class CompressedInput;

class LineReader {
 public:
  static constexpr std::size_t kDefaultMaxLineBytes = 16u << 20;
  static constexpr std::size_t kKeptPrefixBytes = 4096;

  struct Options {
    std::size_t max_line_bytes = kDefaultMaxLineBytes;
    bool report_damage = false;  // reporting instead of strict (above)
  };

  explicit LineReader(const std::filesystem::path& path, std::size_t max_line_bytes = kDefaultMaxLineBytes);
  LineReader(const std::filesystem::path& path, const Options& options);
  // Text already in memory (a request body); `name` stands for the file name in messages.
  struct Text {
    std::string name;
    std::string_view text;
  };
  explicit LineReader(const Text& text, std::size_t max_line_bytes = kDefaultMaxLineBytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its terminator; false at the end of the file. The view stays valid
  // until the next call.
  bool next(std::string_view& line);

  const std::string& path() const { return path_; }
  std::uint64_t line_number() const { return line_number_; }  // of the last line returned, from 1
  std::uint64_t line_offset() const { return line_offset_; }  // its first byte in the (decompressed) file
  std::uint64_t line_length() const { return line_length_; }  // its full length, terminator excluded
  bool line_too_long() const { return too_long_; }            // reporting: returned cut to a prefix
  bool line_unterminated() const { return unterminated_; }    // the file ended inside this line
  const std::string& damage() const { return damage_; }       // reporting: why the data ended early
  std::size_t max_line_bytes() const { return options_.max_line_bytes; }
  std::uint64_t bytes_read() const { return consumed_ + begin_; }  // decompressed bytes consumed

 private:
  bool fill();  // reads more input after the unread part of the buffer; false at end of file
  void skip_rest_of_line();  // reporting: reads past an over-long line, keeping its prefix

  std::string path_;
  std::unique_ptr<CompressedInput> input_;  // null for text in memory
  Options options_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes are buffer_[begin_, end_)
  bool eof_ = false;
  std::uint64_t line_number_ = 0;
  std::uint64_t line_offset_ = 0;
  std::uint64_t line_length_ = 0;
  std::uint64_t consumed_ = 0;  // bytes of the file before buffer_[begin_]
  bool too_long_ = false, unterminated_ = false;
  std::string long_prefix_;  // the kept start of an over-long line
  std::string damage_;
};

}  // namespace heed
