#include "data/line_reader.h"

#include <cstring>

#include "core/error.h"
#include "data/compressed_input.h"

namespace heed {
namespace {
constexpr std::size_t kChunkBytes = 1u << 20;
}

LineReader::LineReader(const std::filesystem::path& path, std::size_t max_line_bytes)
    : LineReader(path, Options{max_line_bytes, false}) {}

LineReader::LineReader(const std::filesystem::path& path, const Options& options)
    : path_(path.string()), input_(open_compressed_input(path)), options_(options) {
  buffer_.resize(kChunkBytes);
}

LineReader::LineReader(const Text& text, std::size_t max_line_bytes)
    : path_(text.name), options_{max_line_bytes, false}, buffer_(text.text.begin(), text.text.end()), eof_(true) {
  end_ = buffer_.size();
  buffer_.reserve(1);  // data() is never null
}

LineReader::~LineReader() = default;

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
  std::size_t got = 0;
  try {
    got = input_->read(buffer_.data() + end_, buffer_.size() - end_);
  } catch (const InputDamage& e) {
    if (!options_.report_damage) throw Error(fmt::format("{}: {}", path_, e.what()));
    damage_ = e.what();
    eof_ = true;
    return false;
  }
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

void LineReader::skip_rest_of_line() {
  const std::size_t keep = std::min(kKeptPrefixBytes, end_ - begin_);
  long_prefix_.assign(buffer_.data() + begin_, keep);
  line_offset_ = consumed_ + begin_;
  ++line_number_;
  std::uint64_t length = 0;
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    if (newline) {
      const auto part = static_cast<std::size_t>(static_cast<const char*>(newline) - start);
      length += part;
      begin_ += part + 1;
      break;
    }
    length += end_ - begin_;
    begin_ = end_;
    if (!fill()) {
      unterminated_ = true;
      break;
    }
  }
  line_length_ = length;
  too_long_ = true;
}

bool LineReader::next(std::string_view& line) {
  too_long_ = false;
  unterminated_ = false;
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    if (newline || (eof_ && end_ > begin_)) {
      const char* stop = newline ? static_cast<const char*>(newline) : buffer_.data() + end_;
      std::size_t length = static_cast<std::size_t>(stop - start);
      if (length > options_.max_line_bytes && options_.report_damage) {
        skip_rest_of_line();
        line = long_prefix_;
        return true;
      }
      line_offset_ = consumed_ + begin_;
      line_length_ = length;
      unterminated_ = newline == nullptr && input_ != nullptr;  // text in memory (a request) is whole
      begin_ += length + (newline ? 1 : 0);
      ++line_number_;
      if (length > options_.max_line_bytes)
        throw Error(fmt::format("{}:{}: line of {} bytes is longer than the limit of {} bytes", path_,
                                line_number_, length, options_.max_line_bytes));
      if (length > 0 && start[length - 1] == '\r') --length;
      if (line_number_ == 1 && length >= 3 && std::memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3;
        length -= 3;
      }
      line = std::string_view(start, length);
      return true;
    }
    if (end_ - begin_ > options_.max_line_bytes) {
      if (!options_.report_damage)
        throw Error(fmt::format("{}:{}: line is longer than the limit of {} bytes", path_, line_number_ + 1,
                                options_.max_line_bytes));
      skip_rest_of_line();
      line = long_prefix_;
      return true;
    }
    if (!fill()) {
      if (end_ > begin_) continue;  // a last line without a newline
      return false;
    }
  }
}

}  // namespace heed
