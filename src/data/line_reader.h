#pragma once
// Reads a text file line by line through a large buffer, plain or gzip-compressed (zlib reads
// both), or text already in memory, tracking line numbers and byte offsets for error messages.
// A UTF-8 byte-order mark at the start and a CR before each LF are dropped. Lines longer than the limit are an error, so
// memory stays bounded whatever the input.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace heed {

class LineReader {
 public:
  static constexpr std::size_t kDefaultMaxLineBytes = 16u << 20;

  explicit LineReader(const std::filesystem::path& path, std::size_t max_line_bytes = kDefaultMaxLineBytes);
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

 private:
  bool fill();  // reads more input after the unread part of the buffer; false at end of file

  std::string path_;
  void* file_ = nullptr;  // gzFile; null for text in memory
  std::size_t max_line_bytes_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes are buffer_[begin_, end_)
  bool eof_ = false;
  std::uint64_t line_number_ = 0;
  std::uint64_t line_offset_ = 0;
  std::uint64_t consumed_ = 0;  // bytes of the file before buffer_[begin_]
};

}  // namespace heed
