#include "checkpoint/atomic_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "core/error.h"

namespace heed {
namespace {

constexpr std::size_t kBufferBytes = 1 << 20;

void fsync_folder(const std::filesystem::path& path) {
  const std::filesystem::path folder = path.parent_path().empty() ? "." : path.parent_path();
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)), tmp_(path_.string() + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd_ < 0) throw Error(fmt::format("cannot write {}: {}", tmp_.string(), std::strerror(errno)));
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  std::error_code ignored;
  std::filesystem::remove(tmp_, ignored);
}

void AtomicFile::fail(const char* verb, int err) {
  ::close(fd_);
  fd_ = -1;
  std::error_code ignored;
  std::filesystem::remove(tmp_, ignored);
  throw Error(fmt::format("cannot {} {}: {} (the previous file, if any, is intact)", verb, path_.string(),
                          std::strerror(err)));
}

void AtomicFile::write(const char* data, std::size_t size) {
  while (size > 0) {
    const std::size_t room = kBufferBytes - buffer_.size();
    const std::size_t n = size < room ? size : room;
    buffer_.insert(buffer_.end(), data, data + n);
    data += n;
    size -= n;
    if (buffer_.size() == kBufferBytes) flush();
  }
}

void AtomicFile::flush() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  written_ += buffer_.size();
  buffer_.clear();
}

void AtomicFile::overwrite(std::uint64_t offset, const void* data, std::size_t size) {
  flush();
  const char* bytes = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  flush();
  if (::fsync(fd_) != 0) fail("flush", errno);
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) {
    const int err = errno;
    std::error_code ignored;
    std::filesystem::remove(tmp_, ignored);
    throw Error(fmt::format("cannot flush {}: {} (the previous file, if any, is intact)", path_.string(),
                            std::strerror(err)));
  }
  std::error_code renamed;
  std::filesystem::rename(tmp_, path_, renamed);
  if (renamed) {
    std::error_code ignored;
    std::filesystem::remove(tmp_, ignored);
    throw Error(fmt::format("cannot replace {}: {} (the previous file, if any, is intact)", path_.string(),
                            renamed.message()));
  }
  fsync_folder(path_);
}

}  // namespace heed
