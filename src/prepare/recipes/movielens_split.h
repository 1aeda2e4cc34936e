#pragma once
// The time split shared by the MovieLens recipes: each user's latest ratings are held out.
#include <vector>

#include "prepare/recipes/movielens_tables.h"

namespace heed::recipes::movielens {

struct Split {
  std::vector<Rating> train;
  std::vector<Rating> test;
};

// Each user's ratings in (timestamp, item id) order; the latest ceil(fraction * n) go to test,
// clamped to [1, n - 1] (a user with a single rating stays in train). Both parts are ordered by
// (user, timestamp, item).
Split split_by_time(std::vector<Rating> ratings, double fraction);

}  // namespace heed::recipes::movielens
