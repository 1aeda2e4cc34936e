#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <tuple>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/recipes/movielens.h"

namespace heed::recipes {
namespace {

using ::testing::HasSubstr;
using heed::testing::read_file;
using heed::testing::TempDir;
using heed::testing::write_file;

const std::filesystem::path kSample = HEED_SOURCE_DIR "/../shared/datasets/tiny/movielens_sample.txt";
const char* const kHeader =
    "label\tuser_id\titem_id\trating\ttimestamp\tage\tgender\toccupation\tzip\tgenres\tgenre_set\t"
    "release_year\thist_item_ids\thist_genres\tuser_activity";

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split(const std::string& text, char delimiter) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t cut = text.find(delimiter, start);
    parts.push_back(text.substr(start, cut == std::string::npos ? cut : cut - start));
    if (cut == std::string::npos) return parts;
    start = cut + 1;
  }
}

MovieLensOptions options_for(const TempDir& dir) {
  MovieLensOptions options;
  options.source = dir / "ml-1m";
  options.out = dir / "out";
  options.split = "time";
  return options;
}

// Three users, four movies; user 1 rates movies 10 and 20 in the same second.
void write_small(const TempDir& dir) {
  std::filesystem::create_directories(dir / "ml-1m");
  write_file(dir / "ml-1m" / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n");
  write_file(dir / "ml-1m" / "movies.dat",
             "10::GoldenEye (1995)::Action|Adventure|Thriller\n"
             "20::Star Wars: Episode IV - A New Hope (1977)::Action|Sci-Fi\n"
             "30::Caf\xe9 au lait (1993)::Comedy\n"
             "40::Untitled::\n");
  write_file(dir / "ml-1m" / "ratings.dat",
             "1::30::5::100\n1::20::4::200\n1::10::5::200\n1::40::2::300\n1::30::3::400\n"
             "2::10::1::50\n2::20::5::60\n3::40::4::10\n");
}

TEST(MovieLens1mRecipe, SmallFilesInTheMl1mLayout) {
  TempDir dir("ml1m");
  write_small(dir);
  MovieLensOptions options = options_for(dir);
  options.time_test_fraction = 0.4;
  const PrepareSummary summary = prepare_movielens_1m(options);
  // User 1: 5 ratings -> 2 test; user 2: 2 -> 1; user 3: 1 -> stays in train.
  EXPECT_EQ(summary.train_rows, 5u);
  EXPECT_EQ(summary.test_rows, 3u);
  EXPECT_EQ(read_file(dir / "out" / "train.tsv"),
            std::string(kHeader) + "\n" +
                "1\t1\t30\t5\t100\t1\tF\t10\t48067\tComedy\tComedy\t1993\t\t\t0\n"
                "1\t1\t10\t5\t200\t1\tF\t10\t48067\tAction|Adventure|Thriller\tAction,Adventure,Thriller\t1995\t30\tComedy\t1-4\n"
                "1\t1\t20\t4\t200\t1\tF\t10\t48067\tAction|Sci-Fi\tAction,Sci-Fi\t1977\t30\tComedy\t1-4\n"
                "0\t2\t10\t1\t50\t56\tM\t16\t70072\tAction|Adventure|Thriller\tAction,Adventure,Thriller\t1995\t\t\t0\n"
                "1\t3\t40\t4\t10\t25\tM\t15\t55117\tunknown\tunknown\t\t\t\t0\n");
  EXPECT_EQ(read_file(dir / "out" / "test.tsv"),
            std::string(kHeader) + "\n" +
                // Same-second likes enter the history by item id: 10 before 20.
                "0\t1\t40\t2\t300\t1\tF\t10\t48067\tunknown\tunknown\t\t30|10|20\tComedy|Action,Adventure,Thriller|Action,Sci-Fi\t1-4\n"
                "0\t1\t30\t3\t400\t1\tF\t10\t48067\tComedy\tComedy\t1993\t30|10|20\tComedy|Action,Adventure,Thriller|Action,Sci-Fi\t1-4\n"
                "1\t2\t20\t5\t60\t56\tM\t16\t70072\tAction|Sci-Fi\tAction,Sci-Fi\t1977\t\t\t1-4\n");
  EXPECT_THAT(read_file(dir / "out" / "prepare.json"), HasSubstr("\"dataset\": \"ml-1m\""));
}

std::string error_for(const std::string& file, const std::string& text) {
  TempDir dir("ml1m_bad");
  write_small(dir);
  write_file(dir / "ml-1m" / file, text);
  return HEED_ERROR_MESSAGE(prepare_movielens_1m(options_for(dir)), ParseError);
}

TEST(MovieLens1mRecipeErrors, NameFileLineAndColumn) {
  EXPECT_THAT(error_for("ratings.dat", "1::30::5::100\n1:20:4:200\n"),
              HasSubstr("ratings.dat:2: column 2 (item_id): expected 4 fields separated by '::', found 1"));
  EXPECT_THAT(error_for("ratings.dat", "1::30::6::100\n"),
              HasSubstr("ratings.dat:1: column 3 (rating): expected an integer in [1, 5], found 6"));
  EXPECT_THAT(error_for("ratings.dat", "1::30::5::100\n1::99::5::100\n"),
              HasSubstr("ratings.dat:2: column 2 (item_id): id 99 is not in movies.dat"));
  EXPECT_THAT(error_for("ratings.dat", "7::30::5::100\n"),
              HasSubstr("ratings.dat:1: column 1 (user_id): id 7 is not in users.dat"));
  EXPECT_THAT(error_for("users.dat", "1::F::old::10::48067\n"),
              HasSubstr("users.dat:1: column 3 (age): expected an integer, found 'old'"));
  EXPECT_THAT(error_for("users.dat", "1::F::1::10::48067\n1::M::1::10::48067\n"),
              HasSubstr("users.dat:2: column 1 (user_id): id 1 was already defined on line 1"));
  EXPECT_THAT(error_for("movies.dat", "10::GoldenEye (1995)::Action||Thriller\n"),
              HasSubstr("movies.dat:1: column 3 (genres): empty genre name"));
  EXPECT_THAT(error_for("movies.dat", "10::GoldenEye (1995)::Action,Thriller\n"),
              HasSubstr("movies.dat:1: column 3 (genres): genres 'Action,Thriller' contain ','"));
  EXPECT_THAT(error_for("ratings.dat", ""), HasSubstr("ratings.dat:1: column 1 (user_id): the file is empty"));
}

TEST(MovieLens1mRecipeErrors, OnlyTheTimeSplit) {
  TempDir dir("ml1m_split");
  write_small(dir);
  MovieLensOptions options = options_for(dir);
  options.split = "u1";
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_movielens_1m(options), Error),
              HasSubstr("unknown MovieLens-1M split 'u1'; valid splits: time"));
  options = options_for(dir);
  options.source = dir / "nowhere";
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_movielens_1m(options), Error), HasSubstr("does not exist"));
}

// Splits a CSV line whose fields may be double-quoted (titles with commas).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// The shared 200-rating sample of ML-1M (joined, CSV) written back into ML-1M's three files; every
// row's history and activity are recomputed here from the sample by brute force.
TEST(MovieLens1mRecipe, SharedSampleAgainstABruteForceReference) {
  if (!std::filesystem::exists(kSample)) GTEST_SKIP() << "../shared/datasets/tiny is absent";
  TempDir dir("ml1m_sample");
  std::filesystem::create_directories(dir / "ml-1m");
  struct Rating {
    int user, item, stars;
    long time;
  };
  std::vector<Rating> ratings;
  std::map<int, std::string> users, movies, genres_of;
  const auto lines = lines_of(kSample);
  ASSERT_EQ(csv_fields(lines[0]).size(), 10u);  // user_id,movie_id,rating,timestamp,title,genres,gender,age,occupation,zip
  std::string ratings_text;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto f = csv_fields(lines[i]);
    ASSERT_EQ(f.size(), 10u) << lines[i];
    ratings.push_back({std::stoi(f[0]), std::stoi(f[1]), std::stoi(f[2]), std::stol(f[3])});
    users[std::stoi(f[0])] = fmt::format("{}::{}::{}::{}::{}", f[0], f[6], f[7], f[8], f[9]);
    movies[std::stoi(f[1])] = fmt::format("{}::{}::{}", f[1], f[4], f[5]);
    genres_of[std::stoi(f[1])] = f[5];
    ratings_text += fmt::format("{}::{}::{}::{}\n", f[0], f[1], f[2], f[3]);
  }
  std::string users_text, movies_text;
  for (const auto& [id, text] : users) users_text += text + "\n";
  for (const auto& [id, text] : movies) movies_text += text + "\n";
  write_file(dir / "ml-1m" / "users.dat", users_text);
  write_file(dir / "ml-1m" / "movies.dat", movies_text);
  write_file(dir / "ml-1m" / "ratings.dat", ratings_text);

  MovieLensOptions options = options_for(dir);
  options.max_history = 3;
  const PrepareSummary summary = prepare_movielens_1m(options);
  EXPECT_EQ(summary.train_rows + summary.test_rows, 200u);

  std::map<int, long> latest_train, earliest_test;
  std::size_t checked = 0;
  for (const char* file : {"train.tsv", "test.tsv"}) {
    const auto rows = lines_of(dir / "out" / file);
    for (std::size_t r = 1; r < rows.size(); ++r) {
      const auto cell = split(rows[r], '\t');
      ASSERT_EQ(cell.size(), 15u);
      const int user = std::stoi(cell[1]), item = std::stoi(cell[2]);
      const long time = std::stol(cell[4]);
      EXPECT_EQ(cell[0], std::stoi(cell[3]) >= 4 ? "1" : "0");
      EXPECT_EQ(cell[9], genres_of[item]);
      // Brute force: the user's liked items strictly before `time`, by (time, item), last 3.
      std::vector<std::pair<long, int>> liked;
      std::size_t earlier = 0;
      for (const Rating& x : ratings) {
        if (x.user != user || x.time >= time) continue;
        ++earlier;
        if (x.stars >= 4) liked.emplace_back(x.time, x.item);
      }
      std::sort(liked.begin(), liked.end());
      if (liked.size() > 3) liked.erase(liked.begin(), liked.end() - 3);
      std::string items;
      for (const auto& [t, i] : liked) items += fmt::format("{}{}", items.empty() ? "" : "|", i);
      EXPECT_EQ(cell[12], items) << rows[r];
      EXPECT_EQ(cell[14], activity_bucket(earlier));
      if (std::string(file) == "train.tsv") {
        latest_train[user] = std::max(latest_train[user], time);
      } else {
        earliest_test[user] = earliest_test.count(user) ? std::min(earliest_test[user], time) : time;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 200u);
  for (const auto& [user, time] : earliest_test) EXPECT_GE(time, latest_train[user]) << "user " << user;
}

}  // namespace
}  // namespace heed::recipes
