#pragma once
// A file that appears under its name whole or not at all: bytes go to `<name>.tmp`, and
// commit() flushes, fsyncs and renames it over the real name (then fsyncs the folder). Until
// commit() the previous file under the name is untouched; an error, or destruction without
// commit(), removes the temporary. Writes are buffered and may be streamed in any number of
// pieces, so a large file never has to be assembled in memory first.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace heed {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const char* data, std::size_t size);
  // Overwrites bytes already written (a header patched once its payload is known).
  void overwrite(std::uint64_t offset, const void* data, std::size_t size);
  // Bytes written so far: the offset of the next byte.
  std::uint64_t size() const { return written_ + buffer_.size(); }

  void commit();

 private:
  void flush();
  [[noreturn]] void fail(const char* verb, int err);

  std::filesystem::path path_, tmp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;  // bytes already handed to the kernel
  std::vector<char> buffer_;
};

}  // namespace heed
