#pragma once
// An output buffer that hands every byte straight to an AtomicFile and hashes it (XXH64) on the
// way: a checkpoint's sections and a shard's payload are streamed to disk with their checksum,
// never assembled in memory.
#include <cstdint>
#include <streambuf>

#include <xxhash.h>

#include "checkpoint/atomic_file.h"

namespace heed {

class HashingOutput : public std::streambuf {
 public:
  explicit HashingOutput(AtomicFile& file) : file_(file), state_(XXH64_createState()) { XXH64_reset(state_, 0); }
  ~HashingOutput() override { XXH64_freeState(state_); }
  HashingOutput(const HashingOutput&) = delete;
  HashingOutput& operator=(const HashingOutput&) = delete;
  // The XXH64 of the bytes written so far.
  std::uint64_t checksum() const { return XXH64_digest(state_); }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    put(&ch, 1);
    return c;
  }
  std::streamsize xsputn(const char* data, std::streamsize n) override {
    put(data, static_cast<std::size_t>(n));
    return n;
  }

 private:
  void put(const char* data, std::size_t n) {
    XXH64_update(state_, data, n);
    file_.write(data, n);
  }

  AtomicFile& file_;
  XXH64_state_t* state_;
};

}  // namespace heed
