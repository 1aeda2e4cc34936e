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

#include "prepare/recipes/movielens_tables.h"
#include "prepare/recipes/recipe_output.h"
#include "prepare/recipes/user_timelines.h"

namespace heed::recipes::movielens {

inline constexpr std::array<Column, 15> kColumns = {{
    {"label", "1 if rating >= 4, else 0"},
    {"user_id", "user id (u.user / users.dat)"},
    {"item_id", "movie id (u.item / movies.dat)"},
    {"rating", "1..5 stars; kept for reference, it is the label's source, not a feature"},
    {"timestamp", "unix seconds of the rating"},
    {"age", "age as the users file gives it (ML-100K: years; ML-1M: the age-group code)"},
    {"gender", "M or F"},
    {"occupation", "occupation as the users file gives it (ML-100K: a name; ML-1M: a code)"},
    {"zip", "zip code as given (a string)"},
    {"genres", "the movie's genres joined by '|' (multi-valued); 'unknown' if unclassified"},
    {"genre_set", "the same genres joined by ',' as one token: the DIN query for hist_genres"},
    {"release_year", "year of release (ML-100K: the release date; ML-1M: the title's '(1995)'), empty when unknown"},
    {"hist_item_ids",
     "ids of the movies the user rated >= 4 strictly before this rating, oldest first, most "
     "recent last, at most max_history; same-second ratings by item id; joined by '|'"},
    {"hist_genres", "genre_set of each hist_item_ids movie, position by position, joined by '|'"},
    {"user_activity",
     "bucket of the user's ratings (any stars) strictly before this one: 0, 1-4, 5-19, 20-49, "
     "50-99, 100-199, 200+"},
}};

// Writes the header and one row per rating, in the given order, to `path` (through a temporary
// file renamed at the end, so a failed run never leaves a half-written TSV behind).
TsvStats write_tsv(const std::filesystem::path& path, std::span<const Rating> ratings,
                   const Catalog& catalog, const UserTimelines& timelines, std::size_t max_history);

}  // namespace heed::recipes::movielens
