#include "data/line_reader.h"

#include <cstring>

#include <zlib.h>

#include "core/error.h"

namespace heed {
namespace {
constexpr std::size_t kChunkBytes = 1u << 20;
}

LineReader::LineReader(const std::filesystem::path& path, std::size_t max_line_bytes)
    : path_(path.string()), max_line_bytes_(max_line_bytes) {
  if (!std::filesystem::exists(path)) throw Error(fmt::format("{}: no such file", path_));
  if (std::filesystem::is_directory(path)) throw Error(fmt::format("{}: is a folder, not a file", path_));
  gzFile file = gzopen(path_.c_str(), "rb");
  if (!file) throw Error(fmt::format("{}: cannot open: {}", path_, std::strerror(errno)));
  gzbuffer(file, 1u << 18);
  file_ = file;
  buffer_.resize(kChunkBytes);
}

LineReader::LineReader(const Text& text, std::size_t max_line_bytes)
    : path_(text.name), max_line_bytes_(max_line_bytes), buffer_(text.text.begin(), text.text.end()), eof_(true) {
  end_ = buffer_.size();
  buffer_.reserve(1);  // data() is never null
}

LineReader::~LineReader() {
  if (file_) gzclose(static_cast<gzFile>(file_));
}

bool LineReader::fill() {
  if (eof_) return false;
  // Keep the unread tail, grow only when a single line needs more room.
  const std::size_t unread = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, unread);
    consumed_ += begin_;
    begin_ = 0;
    end_ = unread;
  }
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  const int want = static_cast<int>(std::min<std::size_t>(buffer_.size() - end_, 1u << 30));
  const int got = gzread(static_cast<gzFile>(file_), buffer_.data() + end_, static_cast<unsigned>(want));
  if (got < 0) {
    int code = 0;
    const char* message = gzerror(static_cast<gzFile>(file_), &code);
    throw Error(fmt::format("{}: read error after byte {}: {}", path_, consumed_ + end_, message));
  }
  if (got == 0) {
    // zlib reports a gzip stream cut short only through gzerror after the last read.
    int code = 0;
    const char* message = gzerror(static_cast<gzFile>(file_), &code);
    if (code != Z_OK && code != Z_BUF_ERROR)
      throw Error(fmt::format("{}: corrupt compressed data after byte {}: {}", path_, consumed_ + end_, message));
    if (code == Z_BUF_ERROR)
      throw Error(fmt::format("{}: the compressed file is truncated (ends after byte {} of its data)", path_,
                              consumed_ + end_));
    eof_ = true;
    return false;
  }
  end_ += static_cast<std::size_t>(got);
  return true;
}

bool LineReader::next(std::string_view& line) {
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    if (newline || (eof_ && end_ > begin_)) {
      const char* stop = newline ? static_cast<const char*>(newline) : buffer_.data() + end_;
      std::size_t length = static_cast<std::size_t>(stop - start);
      line_offset_ = consumed_ + begin_;
      begin_ += length + (newline ? 1 : 0);
      ++line_number_;
      if (length > max_line_bytes_)
        throw Error(fmt::format("{}:{}: line of {} bytes is longer than the limit of {} bytes", path_,
                                line_number_, length, max_line_bytes_));
      if (length > 0 && start[length - 1] == '\r') --length;
      if (line_number_ == 1 && length >= 3 && std::memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3;
        length -= 3;
      }
      line = std::string_view(start, length);
      return true;
    }
    if (end_ - begin_ > max_line_bytes_)
      throw Error(fmt::format("{}:{}: line is longer than the limit of {} bytes", path_, line_number_ + 1,
                              max_line_bytes_));
    if (!fill()) {
      if (end_ > begin_) continue;  // a last line without a newline
      return false;
    }
  }
}

}  // namespace heed
