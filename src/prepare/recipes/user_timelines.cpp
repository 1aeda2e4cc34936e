#include "prepare/recipes/user_timelines.h"

#include <algorithm>
#include <tuple>

namespace heed::recipes::movielens {
namespace {

bool before(const Rating& a, const Rating& b) {
  return std::tie(a.user, a.timestamp, a.movie, a.stars) <
         std::tie(b.user, b.timestamp, b.movie, b.stars);
}

// Offsets of each user's first rating in `sorted` (sorted by user), plus the end.
std::vector<std::size_t> user_offsets(const std::vector<Rating>& sorted, std::size_t user_count) {
  std::vector<std::size_t> offsets(user_count + 1, 0);
  for (const Rating& r : sorted) ++offsets[r.user + 1];
  for (std::size_t u = 0; u < user_count; ++u) offsets[u + 1] += offsets[u];
  return offsets;
}

}  // namespace

UserTimelines::UserTimelines(std::span<const Rating> ratings, std::size_t user_count)
    : ratings_(ratings.begin(), ratings.end()) {
  std::sort(ratings_.begin(), ratings_.end(), before);
  rating_offsets_ = user_offsets(ratings_, user_count);

  std::vector<Rating> liked;
  std::copy_if(ratings_.begin(), ratings_.end(), std::back_inserter(liked), is_liked);
  liked_offsets_ = user_offsets(liked, user_count);
  liked_times_.reserve(liked.size());
  liked_movies_.reserve(liked.size());
  for (const Rating& r : liked) {
    liked_times_.push_back(r.timestamp);
    liked_movies_.push_back(r.movie);
  }
}

std::size_t UserTimelines::ratings_before(std::uint32_t user, std::int64_t time) const {
  const auto first = ratings_.begin() + static_cast<std::ptrdiff_t>(rating_offsets_[user]);
  const auto last = ratings_.begin() + static_cast<std::ptrdiff_t>(rating_offsets_[user + 1]);
  const auto cut =
      std::partition_point(first, last, [time](const Rating& r) { return r.timestamp < time; });
  return static_cast<std::size_t>(cut - first);
}

std::span<const std::uint32_t> UserTimelines::liked_before(std::uint32_t user, std::int64_t time,
                                                           std::size_t limit) const {
  const std::size_t first = liked_offsets_[user];
  const std::size_t last = liked_offsets_[user + 1];
  const auto times = liked_times_.begin();
  const auto cut =
      static_cast<std::size_t>(std::lower_bound(times + static_cast<std::ptrdiff_t>(first),
                                                times + static_cast<std::ptrdiff_t>(last), time) -
                               times);
  const std::size_t count = std::min(limit, cut - first);
  return std::span<const std::uint32_t>(liked_movies_).subspan(cut - count, count);
}

bool UserTimelines::contains(const Rating& rating) const {
  const auto first = ratings_.begin() + static_cast<std::ptrdiff_t>(rating_offsets_[rating.user]);
  const auto last =
      ratings_.begin() + static_cast<std::ptrdiff_t>(rating_offsets_[rating.user + 1]);
  return std::binary_search(first, last, rating, before);
}

}  // namespace heed::recipes::movielens
