#pragma once
// Fixed-size records spread over buckets on disk, so that a set larger than memory can be
// handled one bucket at a time: the caller routes every record to a bucket by a key of its
// choosing (the Taobao recipe: a hash of the user, so that each user's actions share one
// bucket), then takes the buckets back one by one. A single bucket stays in memory and costs
// nothing more than a vector. Several are temporary files in a folder of their own, removed
// with the object whether the work succeeded or threw on the way.
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace heed::recipes {

// The files behind RecordBuckets, as bytes: one per bucket in `folder`, which is created
// afresh (a leftover of a killed run is cleared) and removed with the object.
class BucketFiles {
 public:
  BucketFiles(std::filesystem::path folder, std::size_t count);
  ~BucketFiles();
  BucketFiles(const BucketFiles&) = delete;
  BucketFiles& operator=(const BucketFiles&) = delete;

  void append(std::size_t bucket, const void* bytes, std::size_t size);
  std::size_t size(std::size_t bucket);  // bytes written so far; closes the file for writing
  // Reads the whole bucket into `out` (size(bucket) bytes) and deletes its file.
  void read_and_remove(std::size_t bucket, void* out);
  const std::filesystem::path& folder() const { return folder_; }

 private:
  std::filesystem::path file(std::size_t bucket) const;
  void close_and_remove() noexcept;
  [[noreturn]] void fail(std::size_t bucket, const std::string& what) const;

  std::filesystem::path folder_;
  std::vector<std::FILE*> files_;  // open for appending until the bucket is read; then null
};

template <class Record>
class RecordBuckets {
  static_assert(std::is_trivially_copyable_v<Record>);

 public:
  // `count` buckets; with more than one, their files go in `folder` (see BucketFiles).
  RecordBuckets(const std::filesystem::path& folder, std::size_t count) : count_(count) {
    if (count_ > 1) {
      files_.emplace(folder, count_);
      buffers_.resize(count_);
      for (auto& buffer : buffers_) buffer.reserve(kBufferRecords);
    }
  }

  std::size_t count() const { return count_; }

  void add(std::size_t bucket, const Record& record) {
    if (count_ == 1) {
      memory_.push_back(record);
      return;
    }
    std::vector<Record>& buffer = buffers_[bucket];
    buffer.push_back(record);
    if (buffer.size() == kBufferRecords) flush(bucket);
  }

  // Bucket `bucket`'s records in the order they were added; each bucket is taken once, after
  // the last add. The first take frees the write buffers.
  std::vector<Record> take(std::size_t bucket) {
    if (count_ == 1) return std::move(memory_);
    if (!buffers_.empty()) {
      for (std::size_t b = 0; b < count_; ++b) flush(b);
      buffers_ = {};
    }
    std::vector<Record> records(files_->size(bucket) / sizeof(Record));
    files_->read_and_remove(bucket, records.data());
    return records;
  }

 private:
  // Each bucket's write buffer: 64 KiB, so K buckets cost K * 64 KiB while they are filled.
  static constexpr std::size_t kBufferRecords = std::max<std::size_t>(1, (std::size_t{64} << 10) / sizeof(Record));

  void flush(std::size_t bucket) {
    std::vector<Record>& buffer = buffers_[bucket];
    files_->append(bucket, buffer.data(), buffer.size() * sizeof(Record));
    buffer.clear();
  }

  std::size_t count_;
  std::vector<Record> memory_;                // one bucket: everything, no file
  std::optional<BucketFiles> files_;          // several: one file each, written through
  std::vector<std::vector<Record>> buffers_;  // these buffers
};

}  // namespace heed::recipes
