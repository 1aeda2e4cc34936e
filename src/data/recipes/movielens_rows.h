#pragma once
// The rows of heed's MovieLens TSVs: one rating joined with its user, its movie and the user's
// behaviour before it. The column list is declared once; the header line, prepare.json and the
// writer all come from it.
#include <array>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "data/recipes/movielens_tables.h"
#include "data/recipes/user_timelines.h"

namespace heed::recipes::movielens {

struct Column {
  std::string_view name;
  std::string_view description;
};

inline constexpr std::array<Column, 15> kColumns = {{
    {"label", "1 if rating >= 4, else 0"},
    {"user_id", "u.user id"},
    {"item_id", "u.item id"},
    {"rating", "1..5 stars; kept for reference, it is the label's source, not a feature"},
    {"timestamp", "unix seconds of the rating"},
    {"age", "age in years, from u.user"},
    {"gender", "M or F, from u.user"},
    {"occupation", "from u.user"},
    {"zip", "zip code as given in u.user (a string)"},
    {"genres", "the movie's genres joined by '|' (multi-valued); 'unknown' if unclassified"},
    {"genre_set", "the same genres joined by ',' as one token: the DIN query for hist_genres"},
    {"release_year", "year of the release date, empty when u.item has none"},
    {"hist_item_ids",
     "ids of the movies the user rated >= 4 strictly before this rating, oldest first, most "
     "recent last, at most max_history; same-second ratings by item id; joined by '|'"},
    {"hist_genres", "genre_set of each hist_item_ids movie, position by position, joined by '|'"},
    {"user_activity",
     "bucket of the user's ratings (any stars) strictly before this one: 0, 1-4, 5-19, 20-49, "
     "50-99, 100-199, 200+"},
}};

// The user_activity bucket of a user with `earlier_ratings` ratings before this one.
std::string_view activity_bucket(std::size_t earlier_ratings);

struct TsvStats {
  std::size_t rows = 0;
  std::size_t positives = 0;
};

// Writes the header and one row per rating, in the given order, to `path` (through a temporary
// file renamed at the end, so a failed run never leaves a half-written TSV behind).
TsvStats write_tsv(const std::filesystem::path& path, std::span<const Rating> ratings,
                   const Catalog& catalog, const UserTimelines& timelines, std::size_t max_history);

}  // namespace heed::recipes::movielens
