#include "prepare/recipes/movielens_split.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace heed::recipes::movielens {
namespace {

// How many of a user's `n` ratings go to test: ceil(fraction * n), clamped so that every user
// keeps at least one training rating and a user with two or more ratings has a test rating.
std::size_t test_count(std::size_t n, double fraction) {
  if (n < 2) return 0;
  // The epsilon keeps 0.1 * 30 = 3.0000000000000004 from rounding up to 4.
  const auto wanted = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9));
  return std::clamp<std::size_t>(wanted, 1, n - 1);
}

}  // namespace

Split split_by_time(std::vector<Rating> ratings, double fraction) {
  std::sort(ratings.begin(), ratings.end(), [](const Rating& a, const Rating& b) {
    return std::tie(a.user, a.timestamp, a.movie, a.stars) <
           std::tie(b.user, b.timestamp, b.movie, b.stars);
  });
  Split split;
  for (std::size_t first = 0; first < ratings.size();) {
    std::size_t last = first;
    while (last < ratings.size() && ratings[last].user == ratings[first].user) ++last;
    const std::size_t boundary = last - test_count(last - first, fraction);
    split.train.insert(split.train.end(), ratings.begin() + static_cast<std::ptrdiff_t>(first),
                       ratings.begin() + static_cast<std::ptrdiff_t>(boundary));
    split.test.insert(split.test.end(), ratings.begin() + static_cast<std::ptrdiff_t>(boundary),
                      ratings.begin() + static_cast<std::ptrdiff_t>(last));
    first = last;
  }
  return split;
}

}  // namespace heed::recipes::movielens
