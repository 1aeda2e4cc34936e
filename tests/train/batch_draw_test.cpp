// Each rank's share of a batch (distributed/data_parallel.h), with a stand-in for the ranks:
// the shares of every batch size cover its rows once, in rank order, and differ by at most one
// row; one process keeps the whole batch (what keeps `-np 1` a plain run).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "distributed/data_parallel.h"

namespace heed {
namespace {

// Rank `rank` of `size`, with no one to talk to: only share_of's arithmetic is under test.
class RankOf final : public Communicator {
 public:
  RankOf(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float>) override {}
  void sum(std::span<double>) override {}
  void broadcast(std::string&, int) override {}
  void barrier() override {}
  std::vector<std::string> all_to_all(std::vector<std::string> to_each) override { return to_each; }
  std::uint64_t bytes_sent() const override { return 0; }

 private:
  int rank_, size_;
};

TEST(ShareOf, TheRanksSharesCoverTheBatchOnceInRankOrder) {
  for (int ranks : {1, 2, 3, 7}) {
    for (std::size_t rows : {0ul, 1ul, 2ul, 5ul, 1024ul, 1025ul}) {
      Index next = 0, smallest = static_cast<Index>(rows), largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const BatchShare share = share_of(rows, RankOf(r, ranks), /*threads=*/4);
        EXPECT_EQ(share.begin, next) << rows << " rows, rank " << r << " of " << ranks;
        EXPECT_GE(share.end, share.begin);
        EXPECT_EQ(share.first_stream, r * 4);
        smallest = std::min(smallest, share.end - share.begin);
        largest = std::max(largest, share.end - share.begin);
        next = share.end;
      }
      EXPECT_EQ(next, static_cast<Index>(rows)) << rows << " rows over " << ranks << " ranks";
      EXPECT_LE(largest - smallest, 1) << rows << " rows over " << ranks << " ranks";
    }
  }
}

TEST(ShareOf, OneProcessTrainsOnTheWholeBatch) {
  const auto alone = single_process();
  const BatchShare share = share_of(513, *alone, 3);
  EXPECT_EQ(share.begin, 0);
  EXPECT_EQ(share.end, 513);
  EXPECT_EQ(share.first_stream, 0);
}

}  // namespace
}  // namespace heed
