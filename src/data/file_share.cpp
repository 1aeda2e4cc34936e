#include "data/file_share.h"

#include <cstring>

#include "data/compressed_input.h"

namespace heed {
namespace {

bool is_compressed(const std::filesystem::path& file) {
  try {
    return std::strcmp(open_compressed_input(file)->kind(), "plain") != 0;
  } catch (const Error&) {
    return false;  // unreadable: reading it says why
  }
}

}  // namespace

std::vector<ByteRange> ranges_of(const std::vector<std::filesystem::path>& files, const ReadShare& share) {
  std::vector<ByteRange> ranges(files.size());
  if (share.whole()) return ranges;
  std::vector<std::uint64_t> sizes(files.size(), 0);
  std::uint64_t total = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    std::error_code error;
    const auto size = std::filesystem::file_size(files[f], error);
    sizes[f] = error ? 0 : static_cast<std::uint64_t>(size);
    total += sizes[f];
  }
  // Part p's bytes of the run: [total·p/parts, total·(p+1)/parts), in 128-bit arithmetic.
  const auto cut = [&](int p) {
    return static_cast<std::uint64_t>(static_cast<unsigned __int128>(total) * static_cast<unsigned>(p) /
                                      static_cast<unsigned>(share.parts));
  };
  const std::uint64_t mine_begin = cut(share.part), mine_end = cut(share.part + 1);
  std::uint64_t start = 0;  // the file's first byte in the run
  for (std::size_t f = 0; f < files.size(); ++f) {
    const std::uint64_t size = sizes[f];
    if (size == 0) {
      ranges[f] = share.part == 0 ? ByteRange{} : ByteRange{0, 0};  // empty, or unsized: nothing to cut
    } else if (is_compressed(files[f])) {
      ranges[f] = start >= mine_begin && start < mine_end ? ByteRange{} : ByteRange{0, 0};
    } else {
      // The run's [mine_begin, mine_end) in this file's offsets; the file's last part runs to its end.
      const std::uint64_t begin = mine_begin > start ? mine_begin - start : 0;
      const std::uint64_t end = mine_end >= start + size ? std::numeric_limits<std::uint64_t>::max()
                                : mine_end > start    ? mine_end - start
                                                      : 0;
      ranges[f] = begin >= size ? ByteRange{0, 0} : ByteRange{begin, end};
    }
    start += size;
  }
  return ranges;
}

}  // namespace heed
