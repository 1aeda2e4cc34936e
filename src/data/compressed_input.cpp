#include "data/compressed_input.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <zlib.h>
#include <zstd.h>

namespace heed {
namespace {

// gzip or plain text: zlib passes bytes that are not gzip through unchanged.
class GzipInput : public CompressedInput {
 public:
  explicit GzipInput(const std::string& path) : path_(path) {
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    gzbuffer(file_, 1u << 18);
  }
  ~GzipInput() override { gzclose(file_); }

  std::size_t read(char* out, std::size_t capacity) override {
    const auto want = static_cast<unsigned>(std::min<std::size_t>(capacity, 1u << 30));
    const int got = gzread(file_, out, want);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file_, &code);
      throw InputDamage(fmt::format("corrupt compressed data after byte {}: {}", produced_, message));
    }
    if (got == 0) {
      // zlib reports a gzip stream cut short only through gzerror after the last read.
      int code = 0;
      const char* message = gzerror(file_, &code);
      if (code == Z_BUF_ERROR)
        throw InputDamage(fmt::format("the compressed file is truncated (ends after byte {} of its data)", produced_));
      if (code != Z_OK) throw InputDamage(fmt::format("corrupt compressed data after byte {}: {}", produced_, message));
    }
    produced_ += static_cast<std::size_t>(got);
    return static_cast<std::size_t>(got);
  }
  const char* kind() const override { return gzdirect(file_) ? "plain" : "gzip"; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
  std::size_t produced_ = 0;
};

class ZstdInput : public CompressedInput {
 public:
  explicit ZstdInput(const std::string& path) : in_buffer_(ZSTD_DStreamInSize()) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    stream_ = ZSTD_createDStream();
    if (!stream_) throw Error(fmt::format("{}: cannot start a zstd decoder", path));
  }
  ~ZstdInput() override {
    ZSTD_freeDStream(stream_);
    std::fclose(file_);
  }

  std::size_t read(char* out, std::size_t capacity) override {
    ZSTD_outBuffer output{out, capacity, 0};
    while (output.pos == 0) {
      if (input_.pos == input_.size) {
        const std::size_t got = std::fread(in_buffer_.data(), 1, in_buffer_.size(), file_);
        if (got == 0) {
          if (std::ferror(file_)) throw InputDamage(fmt::format("read error after byte {}", produced_));
          // A frame still waiting for input means the file was cut short.
          if (frame_open_)
            throw InputDamage(fmt::format("the compressed file is truncated (ends after byte {} of its data)", produced_));
          return 0;
        }
        input_ = ZSTD_inBuffer{in_buffer_.data(), got, 0};
      }
      const std::size_t hint = ZSTD_decompressStream(stream_, &output, &input_);
      if (ZSTD_isError(hint))
        throw InputDamage(fmt::format("corrupt compressed data after byte {}: {}", produced_, ZSTD_getErrorName(hint)));
      frame_open_ = hint != 0;
    }
    produced_ += output.pos;
    return output.pos;
  }
  const char* kind() const override { return "zstd"; }

 private:
  std::FILE* file_ = nullptr;
  ZSTD_DStream* stream_ = nullptr;
  std::vector<char> in_buffer_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  bool frame_open_ = false;
  std::size_t produced_ = 0;
};

bool starts_with_zstd_magic(const std::string& path) {
  unsigned char magic[4] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  const std::size_t got = std::fread(magic, 1, 4, f);
  std::fclose(f);
  return got == 4 && magic[0] == 0x28 && magic[1] == 0xB5 && magic[2] == 0x2F && magic[3] == 0xFD;
}

}  // namespace

std::unique_ptr<CompressedInput> open_compressed_input(const std::filesystem::path& path) {
  const std::string name = path.string();
  if (!std::filesystem::exists(path)) throw Error(fmt::format("{}: no such file", name));
  if (std::filesystem::is_directory(path)) throw Error(fmt::format("{}: is a folder, not a file", name));
  if (starts_with_zstd_magic(name)) return std::make_unique<ZstdInput>(name);
  return std::make_unique<GzipInput>(name);
}

}  // namespace heed
