#pragma once
// The bytes of a data file, decompressed when it is compressed. The format is told by the
// file's first bytes, never by its name: zstd frames (28 B5 2F FD), gzip, or plain text
// (zlib reads the last two). A file cut short or corrupted raises InputDamage, so the caller
// can tell damaged data from a missing file.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"

namespace heed {

class InputDamage : public Error {
 public:
  using Error::Error;
};

class CompressedInput {
 public:
  virtual ~CompressedInput() = default;
  // Up to `capacity` decompressed bytes into `out`; 0 only at the end of the data.
  virtual std::size_t read(char* out, std::size_t capacity) = 0;
  // "plain", "gzip" or "zstd".
  virtual const char* kind() const = 0;
};

// Opens `path`; throws heed::Error when it does not exist or cannot be opened.
std::unique_ptr<CompressedInput> open_compressed_input(const std::filesystem::path& path);

}  // namespace heed
