#include "prepare/recipes/movielens_rows.h"

#include <charconv>

#include "core/error.h"

namespace heed::recipes::movielens {
namespace {

void append_integer(std::string& out, std::int64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

// Writes one TSV row for `rating`; the column order is kColumns'.
void write_row(TsvWriter& out, const Rating& rating, const Catalog& catalog,
               const UserTimelines& timelines, std::size_t max_history) {
  const User& user = catalog.users[rating.user];
  const Movie& movie = catalog.movies[rating.movie];
  out.cell(is_liked(rating) ? "1" : "0");
  out.cell(user.id_text);
  out.cell(movie.id_text);
  append_integer(out.open_cell(), rating.stars);
  append_integer(out.open_cell(), rating.timestamp);
  for (const std::string* text : {&user.age, &user.gender, &user.occupation, &user.zip,
                                  &movie.genres, &movie.genre_set, &movie.release_year}) {
    out.cell(*text);
  }

  const auto history = timelines.liked_before(rating.user, rating.timestamp, max_history);
  std::string& items = out.open_cell();
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (i > 0) items += '|';
    items += catalog.movies[history[i]].id_text;
  }
  std::string& genres = out.open_cell();
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (i > 0) genres += '|';
    genres += catalog.movies[history[i]].genre_set;
  }
  out.cell(activity_bucket(timelines.ratings_before(rating.user, rating.timestamp)));
  out.end_row(is_liked(rating));
}

}  // namespace

TsvStats write_tsv(const std::filesystem::path& path, std::span<const Rating> ratings,
                   const Catalog& catalog, const UserTimelines& timelines,
                   std::size_t max_history) {
  TsvWriter writer(path, kColumns);
  for (const Rating& rating : ratings) write_row(writer, rating, catalog, timelines, max_history);
  return writer.finish();
}

}  // namespace heed::recipes::movielens
