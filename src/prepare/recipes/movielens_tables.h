#pragma once
// The raw MovieLens tables read into memory and checked, field by field: MovieLens-100K's
// u.genre, u.user, u.item, u.data and split files, and MovieLens-1M's users.dat, movies.dat and
// ratings.dat ('::'-separated). Users and movies are kept sorted by id, so ordering by a
// dense index is the same as ordering by the id it stands for.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/delimited_file.h"

namespace heed::recipes::movielens {

struct User {
  std::uint32_t id = 0;
  std::string id_text;
  std::string age;
  std::string gender;
  std::string occupation;
  std::string zip;  // as given: some are Canadian postcodes such as "T8H1N"
};

struct Movie {
  std::uint32_t id = 0;
  std::string id_text;
  std::string genres;        // "Action|Comedy": one token per genre
  std::string genre_set;     // "Action,Comedy": the whole set as one token
  std::string release_year;  // "1995", or empty when u.item has no release date
};

// One rating; `user` and `movie` are dense indices into Catalog's tables.
struct Rating {
  std::uint32_t user = 0;
  std::uint32_t movie = 0;
  std::int64_t timestamp = 0;  // unix seconds
  std::int32_t stars = 0;      // 1..5
};

// The label of a rating and the test for entering a behaviour sequence: "liked" is 4 or 5 stars.
inline bool is_liked(const Rating& rating) {
  return rating.stars >= 4;
}

// Users and movies, joined to ratings by id.
struct Catalog {
  std::vector<User> users;                                       // sorted by id
  std::vector<Movie> movies;                                     // sorted by id
  std::unordered_map<std::uint32_t, std::uint32_t> user_index;   // id -> position in users
  std::unordered_map<std::uint32_t, std::uint32_t> movie_index;  // id -> position in movies
  std::string users_file = "u.user";   // names used in error messages
  std::string movies_file = "u.item";
};

// Genre names in the order of u.item's flag columns. Names must not contain ',' '|' or TAB,
// the separators of the genre columns. Its lines are never skipped: they define u.item's columns.
// The other readers leave out malformed lines under a skipping policy, so a rating of a user or
// movie left out is itself left out (unknown_id).
std::vector<std::string> read_genres(const std::filesystem::path& file);
std::vector<User> read_users(const std::filesystem::path& file, BadLines& bad_lines);
std::vector<Movie> read_movies(const std::filesystem::path& file, BadLines& bad_lines,
                               const std::vector<std::string>& genres);

// u.genre, u.user and u.item of `folder`.
Catalog read_catalog(const std::filesystem::path& folder, BadLines& bad_lines);

// Called for each rating read, with the reader positioned on its line so that a failed check
// can name it: reader.fail(DelimitedFile::kWholeLine, ...).
using RatingCheck = std::function<void(const Rating&, const DelimitedFile& reader)>;

// u.data or a split file (u1.base, ...): TAB-separated user, item, rating, timestamp; or
// ML-1M's ratings.dat with `delimiter` "::". An empty file and an id missing from the catalog
// are errors.
std::vector<Rating> read_ratings(const std::filesystem::path& file, const Catalog& catalog,
                                 BadLines& bad_lines, const RatingCheck& check = {},
                                 const std::string& delimiter = "\t");

// MovieLens-1M: users.dat (UserID::Gender::Age::Occupation::Zip-code) and movies.dat
// (MovieID::Title::Genres, genres '|'-separated; the release year is the title's "(1995)").
std::vector<User> read_users_1m(const std::filesystem::path& file, BadLines& bad_lines);
std::vector<Movie> read_movies_1m(const std::filesystem::path& file, BadLines& bad_lines);
// users.dat and movies.dat of `folder`.
Catalog read_catalog_1m(const std::filesystem::path& folder, BadLines& bad_lines);

}  // namespace heed::recipes::movielens
