// Every recipe under --on-error skip: malformed lines mixed into good sources are left out,
// counted and written to rejected_lines.txt, and the TSVs are byte for byte those of the clean
// sources; under fail the first one stops the recipe at its file and line; and too many of them
// stop it under skip too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/recipes/avazu.h"
#include "prepare/recipes/criteo.h"
#include "prepare/recipes/frappe.h"
#include "prepare/recipes/movielens.h"
#include "prepare/recipes/taobao.h"

namespace heed::recipes {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using heed::testing::read_file;
using heed::testing::TempDir;
using heed::testing::write_file;

const fs::path kShared = HEED_SOURCE_DIR "/../shared/datasets";

// A source file as lines, so bad ones can be slipped in between.
struct SourceFile {
  std::string name;
  std::vector<std::string> lines;
};

// A malformed line placed before line `before` (0-based, in the clean file) of `file`.
struct BadLine {
  std::string file;
  std::size_t before;
  std::string text;
};

using Recipe = std::function<PrepareSummary(const fs::path& source, const fs::path& out,
                                            const BadLinePolicy& errors)>;

std::vector<std::string> head_lines(const fs::path& path, std::size_t count) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; lines.size() < count && std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Writes the sources into `folder`, with `bad` lines slipped in when given.
void write_sources(const fs::path& folder, const std::vector<SourceFile>& sources,
                   const std::vector<BadLine>& bad) {
  fs::create_directories(folder);
  for (const SourceFile& source : sources) {
    std::string text;
    for (std::size_t i = 0; i <= source.lines.size(); ++i) {
      for (const BadLine& line : bad) {
        if (line.file == source.name && line.before == i) text += line.text + "\n";
      }
      if (i < source.lines.size()) text += source.lines[i] + "\n";
    }
    write_file(folder / source.name, text);
  }
}

// The 1-based line a bad line lands on in its dirty file.
std::uint64_t dirty_line_number(const BadLine& line, const std::vector<BadLine>& bad) {
  std::uint64_t number = line.before + 1;
  for (const BadLine& other : bad) {
    if (&other != &line && other.file == line.file && other.before <= line.before) ++number;
  }
  return number;
}

void expect_skipped_exactly(const Recipe& recipe, const std::vector<SourceFile>& sources,
                            const std::vector<BadLine>& bad) {
  ASSERT_FALSE(bad.empty());
  TempDir dir("recipe_bad_lines");
  write_sources(dir / "clean", sources, {});
  write_sources(dir / "dirty", sources, bad);

  const PrepareSummary clean = recipe(dir / "clean", dir / "clean_out", {});
  EXPECT_FALSE(fs::exists(dir / "clean_out" / "rejected_lines.txt"));
  BadLinePolicy skip{OnError::kSkip, 0.5};
  const PrepareSummary dirty = recipe(dir / "dirty", dir / "dirty_out", skip);

  // The same rows, byte for byte.
  EXPECT_EQ(dirty.train_rows, clean.train_rows);
  EXPECT_EQ(dirty.valid_rows, clean.valid_rows);
  EXPECT_EQ(dirty.test_rows, clean.test_rows);
  for (const char* file : {"train.tsv", "valid.tsv", "test.tsv"}) {
    ASSERT_EQ(fs::exists(dir / "dirty_out" / file), fs::exists(dir / "clean_out" / file)) << file;
    if (!fs::exists(dir / "clean_out" / file)) continue;
    EXPECT_EQ(read_file(dir / "dirty_out" / file), read_file(dir / "clean_out" / file)) << file;
  }

  // Counted, reported, and every bad line kept where the user can find it.
  const auto json = nlohmann::json::parse(read_file(dir / "dirty_out" / "prepare.json"));
  EXPECT_EQ(json.value("skipped_lines", 0u), bad.size());
  EXPECT_FALSE(nlohmann::json::parse(read_file(dir / "clean_out" / "prepare.json")).contains("skipped_lines"));
  EXPECT_THAT(dirty.notes, Contains(HasSubstr(fmt::format("skipped {} of", bad.size()))));
  const std::string rejected = read_file(dir / "dirty_out" / "rejected_lines.txt");
  for (const BadLine& line : bad) {
    EXPECT_THAT(rejected, HasSubstr("\n" + line.text + "\n")) << line.text;
    EXPECT_THAT(rejected, HasSubstr(fmt::format("{}:{}", line.file, dirty_line_number(line, bad))));
  }

  // Under fail the first bad line read stops the recipe at its file and line.
  try {
    recipe(dir / "dirty", dir / "fail_out", {});
    ADD_FAILURE() << "no error under on_error = fail";
  } catch (const ParseError& error) {
    const auto first = std::find_if(bad.begin(), bad.end(), [&](const BadLine& line) {
      return fs::path(error.where().file).filename() == line.file &&
             error.where().line == dirty_line_number(line, bad);
    });
    EXPECT_NE(first, bad.end()) << error.what();
  }

  // More bad lines than allowed stop a skipping recipe too.
  skip.max_skip_fraction = 0.0;
  EXPECT_THAT(HEED_ERROR_MESSAGE(recipe(dir / "dirty", dir / "strict_out", skip), Error),
              HasSubstr("skipped"));
}

TEST(RecipeBadLines, Criteo) {
  if (!fs::exists(kShared / "criteo-head")) GTEST_SKIP() << "no ../shared/datasets/criteo-head";
  const std::vector<SourceFile> sources = {
      {"train.csv", head_lines(kShared / "criteo-head" / "train.csv", 300)},
      {"dev.csv", head_lines(kShared / "criteo-head" / "dev.csv", 50)},
      {"test.csv", head_lines(kShared / "criteo-head" / "test.csv", 50)}};
  const std::string good = sources[0].lines[5];
  const std::string unlabelled = "2" + good.substr(1);
  const std::string short_line = good.substr(0, good.rfind('\t'));
  const std::string bad_number = "1\tx" + good.substr(good.find('\t', 2));
  expect_skipped_exactly(
      [](const fs::path& source, const fs::path& out, const BadLinePolicy& errors) {
        return prepare_criteo({source, out, {}, errors});
      },
      sources,
      {{"train.csv", 1, unlabelled}, {"train.csv", 200, short_line}, {"dev.csv", 10, bad_number},
       {"test.csv", 50, "1"}});
}

TEST(RecipeBadLines, Avazu) {
  if (!fs::exists(kShared / "avazu-head")) GTEST_SKIP() << "no ../shared/datasets/avazu-head";
  const std::vector<SourceFile> sources = {
      {"train.csv", head_lines(kShared / "avazu-head" / "train.csv", 300)},
      {"dev.csv", head_lines(kShared / "avazu-head" / "dev.csv", 50)}};
  const std::string good = sources[0].lines[5];
  const std::size_t hour = good.find(',', good.find(',') + 1) + 1;
  const std::string bad_hour = good.substr(0, hour) + "14133100" + good.substr(good.find(',', hour));
  // The last cell is checked after the first ones would be written: a skipped line must not
  // leave half a row behind.
  const std::string tab_in_last_cell = good + "\t1";
  expect_skipped_exactly(
      [](const fs::path& source, const fs::path& out, const BadLinePolicy& errors) {
        return prepare_avazu({source, out, {}, errors});
      },
      sources,
      {{"train.csv", 1, bad_hour}, {"train.csv", 100, tab_in_last_cell}, {"dev.csv", 0, "1,2,3"}});
}

TEST(RecipeBadLines, Frappe) {
  if (!fs::exists(kShared / "frappe")) GTEST_SKIP() << "no ../shared/datasets/frappe";
  const std::vector<SourceFile> sources = {
      {"frappe.validation.libfm", head_lines(kShared / "frappe" / "frappe.validation.libfm", 300)},
      {"frappe.test.libfm", head_lines(kShared / "frappe" / "frappe.test.libfm", 100)}};
  // The last field out of its block: found after nine good fields.
  const std::string out_of_block =
      "1 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 9999:1";
  expect_skipped_exactly(
      [](const fs::path& source, const fs::path& out, const BadLinePolicy& errors) {
        return prepare_frappe({source, out, errors});
      },
      sources,
      {{"frappe.validation.libfm", 7, out_of_block},
       {"frappe.validation.libfm", 8, "2 204:1 4798:1"},
       {"frappe.test.libfm", 100, "-1 204:2 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"}});
}

MovieLensOptions movielens_options(const fs::path& source, const fs::path& out,
                                   const BadLinePolicy& errors, const std::string& split) {
  MovieLensOptions options;
  options.source = source;
  options.out = out;
  options.split = split;
  options.errors = errors;
  return options;
}

// Always runs (no shared data needed): the MovieLens-1M layout in a few lines.
TEST(RecipeBadLines, MovieLens1m) {
  const std::vector<SourceFile> sources = {
      {"users.dat", {"1::F::1::10::48067", "2::M::56::16::70072", "3::M::25::15::55117"}},
      {"movies.dat",
       {"10::GoldenEye (1995)::Action|Adventure|Thriller", "20::Star Wars (1977)::Action|Sci-Fi",
        "30::Cafe au lait (1993)::Comedy"}},
      {"ratings.dat",
       {"1::30::5::100", "1::20::4::200", "1::10::5::200", "1::30::3::400", "2::10::1::50",
        "2::20::5::60", "3::30::4::10", "3::10::4::20"}}};
  for (const char* task : {"rating", "next-item"}) {
    SCOPED_TRACE(task);
    expect_skipped_exactly(
        [task](const fs::path& source, const fs::path& out, const BadLinePolicy& errors) {
          MovieLensOptions options = movielens_options(source, out, errors, "time");
          options.task = task;
          return prepare_movielens_1m(options);
        },
        sources,
        {{"users.dat", 3, "2::M::56::16::70072"},  // a second user 2: the first one stays
         {"users.dat", 0, "4::X::old::16::70072"},
         {"movies.dat", 1, "40::Bad genres::Action||Drama"},
         {"ratings.dat", 2, "1::99::5::100"},  // an unknown movie
         {"ratings.dat", 8, "3::10::6::30"}});
  }
}

TEST(RecipeBadLines, MovieLens100kWithItsSplitFiles) {
  const fs::path original = kShared / "ml-100k" / "original";
  if (!fs::exists(original / "u.data")) GTEST_SKIP() << "no ../shared/datasets/ml-100k";
  std::vector<SourceFile> sources;
  for (const char* name : {"u.genre", "u.user", "u.item", "u.data", "u1.base", "u1.test"}) {
    sources.push_back({name, head_lines(original / name, 200'000)});
  }
  // u.genre ends with an empty line the recipe skips; keep the file as GroupLens ships it.
  expect_skipped_exactly(
      [](const fs::path& source, const fs::path& out, const BadLinePolicy& errors) {
        return prepare_movielens_100k(movielens_options(source, out, errors, "u1"));
      },
      sources,
      {{"u.user", 10, "944|twenty|M|student|00000"},
       {"u.item", 0, "1700|Nothing (1999)|01-Jan-1999||http://x|0|0"},
       {"u.data", 5000, "1\t1\t9\t874965758"},
       {"u1.base", 10, "1\t1\t5\t1"}});  // not in u.data
}

TEST(RecipeBadLines, TaobaoUsesTheSameOptions) {
  TempDir dir("taobao_bad_lines");
  write_file(dir / "UserBehavior.csv", "1,10,100,pv,1511600000\n1,10,100,buy,1511600100\nbroken\n");
  TaobaoOptions options;
  options.source = dir / "UserBehavior.csv";
  options.out = dir / "out";
  options.errors = {OnError::kSkip, 0.5};
  const PrepareSummary summary = prepare_taobao(options);
  EXPECT_THAT(summary.notes, Contains(HasSubstr("skipped 1 of 3")));
  options.errors = {OnError::kFail, 0.5};
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), ParseError), HasSubstr("UserBehavior.csv:3"));
}

}  // namespace
}  // namespace heed::recipes
