#pragma once
// Every user's ratings in time order, answering what a behaviour feature may know about a
// rating made at time t: only what the same user did STRICTLY before t. Ratings that share a
// timestamp are ordered by movie index, which is movie id order (see movielens_tables.h), so
// the result never depends on the order of the input files.
#include <cstdint>
#include <span>
#include <vector>

#include "prepare/recipes/movielens_tables.h"

namespace heed::recipes::movielens {

class UserTimelines {
 public:
  UserTimelines(std::span<const Rating> ratings, std::size_t user_count);

  // How many ratings (any number of stars) `user` made strictly before `time`.
  std::size_t ratings_before(std::uint32_t user, std::int64_t time) const;

  // The last `limit` movies `user` liked (is_liked) strictly before `time`, oldest first.
  std::span<const std::uint32_t> liked_before(std::uint32_t user, std::int64_t time,
                                              std::size_t limit) const;

  // Whether this exact rating (user, movie, time, stars) is on the timeline.
  bool contains(const Rating& rating) const;

 private:
  // Compressed rows: user u's entries are [offsets[u], offsets[u + 1]) of the arrays below.
  std::vector<std::size_t> rating_offsets_;
  std::vector<Rating> ratings_;  // by (user, timestamp, movie)
  std::vector<std::size_t> liked_offsets_;
  std::vector<std::int64_t> liked_times_;
  std::vector<std::uint32_t> liked_movies_;
};

}  // namespace heed::recipes::movielens
