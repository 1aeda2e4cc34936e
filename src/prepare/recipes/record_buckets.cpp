#include "prepare/recipes/record_buckets.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"

namespace heed::recipes {

BucketFiles::BucketFiles(std::filesystem::path folder, std::size_t count)
    : folder_(std::move(folder)), files_(count, nullptr) {
  std::error_code error;
  std::filesystem::remove_all(folder_, error);
  if (!std::filesystem::create_directories(folder_, error) || error) {
    throw Error(fmt::format("cannot create the temporary folder {}: {}", folder_.string(),
                            error ? error.message() : "it exists"));
  }
  for (std::size_t b = 0; b < count; ++b) {
    files_[b] = std::fopen(file(b).c_str(), "wb");
    if (files_[b] == nullptr) {
      const int error_number = errno;
      close_and_remove();  // no destructor runs for a constructor that throws
      errno = error_number;
      fail(b, "cannot create");
    }
  }
}

BucketFiles::~BucketFiles() { close_and_remove(); }

void BucketFiles::close_and_remove() noexcept {
  for (std::FILE*& f : files_) {
    if (f != nullptr) std::fclose(f);
    f = nullptr;
  }
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

std::filesystem::path BucketFiles::file(std::size_t bucket) const {
  return folder_ / fmt::format("bucket-{:04}.bin", bucket);
}

void BucketFiles::fail(std::size_t bucket, const std::string& what) const {
  throw Error(fmt::format("{} the temporary file {}: {}", what, file(bucket).string(),
                          std::strerror(errno)));
}

void BucketFiles::append(std::size_t bucket, const void* bytes, std::size_t size) {
  if (size > 0 && std::fwrite(bytes, 1, size, files_[bucket]) != size) {
    fail(bucket, "cannot write (is the disk full?)");
  }
}

std::size_t BucketFiles::size(std::size_t bucket) {
  if (files_[bucket] != nullptr) {
    const int closed = std::fclose(files_[bucket]);
    files_[bucket] = nullptr;
    if (closed != 0) fail(bucket, "cannot finish writing (is the disk full?)");
  }
  std::error_code error;
  const std::uintmax_t bytes = std::filesystem::file_size(file(bucket), error);
  if (error) throw Error(fmt::format("cannot read the temporary file {}: {}", file(bucket).string(), error.message()));
  return static_cast<std::size_t>(bytes);
}

void BucketFiles::read_and_remove(std::size_t bucket, void* out) {
  const std::size_t bytes = size(bucket);
  std::FILE* in = std::fopen(file(bucket).c_str(), "rb");
  if (in == nullptr) fail(bucket, "cannot open");
  const std::size_t read = std::fread(out, 1, bytes, in);
  const bool failed = std::ferror(in) != 0;
  std::fclose(in);
  if (failed) fail(bucket, "cannot read");
  if (read != bytes) {
    throw Error(fmt::format("the temporary file {} holds {} bytes, {} were written",
                            file(bucket).string(), read, bytes));
  }
  std::error_code ignored;
  std::filesystem::remove(file(bucket), ignored);  // frees its disk space now, not at the end
}

}  // namespace heed::recipes
