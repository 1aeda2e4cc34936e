#pragma once
// One reader's part of a split's files, when several processes read them together (the ranks
// of a distributed run: docs/distributed.md). The files are taken as one run of bytes, their
// sizes on disk one after the other, cut into `parts` ranges of about equal size; part p reads
// the records that *start* inside its range, so every record is read by exactly one part and
// the parts in order hold the records in file order. The reader of a range still reads the
// records before it, without parsing them, so line numbers (and quoted CSV records that span
// lines) stay those of a whole-file read: a pass at the speed of the line splitter, over at most
// the one file its range starts in.
//
// A compressed file is not cut: a record's offset is one in the decompressed text, which the
// size on disk does not give. It goes whole to the part its first byte falls in.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <vector>

namespace heed {

struct ReadShare {
  int part = 0;
  int parts = 1;

  bool whole() const { return parts == 1; }
};

// The records of one file a part reads: those starting at an offset in [begin, end).
struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = std::numeric_limits<std::uint64_t>::max();

  bool empty() const { return begin >= end; }
  bool holds(std::uint64_t offset) const { return offset >= begin && offset < end; }
};

// For each of `files`, the range `share` reads (an empty one: none of it). A file that cannot
// be sized is read whole by part 0 (opening it then reports why).
std::vector<ByteRange> ranges_of(const std::vector<std::filesystem::path>& files, const ReadShare& share);

}  // namespace heed
