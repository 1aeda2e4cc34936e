#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/recipes/frappe.h"

namespace heed::recipes {
namespace {

using ::testing::HasSubstr;
using heed::testing::read_file;
using heed::testing::TempDir;
using heed::testing::write_file;

const std::filesystem::path kShared = HEED_SOURCE_DIR "/../shared/datasets/frappe";
const char* const kHeader =
    "label\tuser\titem\tdaytime\tweekday\tisweekend\thomework\tcost\tweather\tcountry\tcity\n";

PrepareSummary prepare(const TempDir& dir) {
  return prepare_frappe({dir / "source", dir / "out", {}});
}

TEST(FrappeRecipe, TurnsOneHotIndicesIntoNamedFieldCodes) {
  TempDir dir("frappe");
  std::filesystem::create_directories(dir / "source");
  // Block starts: user 0, item 957, daytime 5039, weekday 5046, isweekend 5053, homework 5055,
  // cost 5058, weather 5060, country 5069, city 5149 (the last index is 5381).
  write_file(dir / "source" / "frappe.test.libfm",
             "-1 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1\r\n"
             "1 956:1 957:1 5045:1 5052:1 5054:1 5057:1 5059:1 5068:1 5148:1 5381:1\r\n");
  const PrepareSummary summary = prepare(dir);
  EXPECT_EQ(summary.test_rows, 2u);
  EXPECT_EQ(summary.train_rows, 0u);
  EXPECT_EQ(read_file(dir / "out" / "test.tsv"),
            std::string(kHeader) + "0\t204\t3841\t2\t0\t0\t0\t0\t0\t4\t34\n" +
                "1\t956\t0\t6\t6\t1\t2\t1\t8\t79\t232\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "train.tsv"));
  const std::string json = read_file(dir / "out" / "prepare.json");
  EXPECT_THAT(json, HasSubstr("\"frappe.train.libfm\""));  // listed as missing
  EXPECT_THAT(json, HasSubstr("\"positive_rate\": 0.5"));
}

std::string error_for(const std::string& line) {
  TempDir dir("frappe_bad");
  std::filesystem::create_directories(dir / "source");
  write_file(dir / "source" / "frappe.validation.libfm",
             fmt::format("1 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1\n{}\n", line));
  const std::string message = HEED_ERROR_MESSAGE(prepare(dir), ParseError);
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "valid.tsv"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "valid.tsv.partial"));
  return message;
}

TEST(FrappeRecipeErrors, NameFileLineAndColumn) {
  EXPECT_THAT(error_for("2 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"),
              HasSubstr("frappe.validation.libfm:2: column 1 (label): expected a label 1, -1 or 0, found '2'"));
  EXPECT_THAT(error_for("1 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1"),
              HasSubstr("frappe.validation.libfm:2: column 11 (city): expected 11 fields"));
  EXPECT_THAT(error_for("1 204:1 4798 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"),
              HasSubstr(":2: column 3 (item): expected 'index:1', found '4798'"));
  EXPECT_THAT(error_for("1 204:1 4798:0.5 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"),
              HasSubstr(":2: column 3 (item): expected a one-hot value 1"));
  // A daytime index where the weekday belongs: the fields are out of order.
  EXPECT_THAT(error_for("1 204:1 4798:1 5041:1 5041:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"),
              HasSubstr(":2: column 5 (weekday): index 5041 is not a weekday (indices 5046..5052"));
  EXPECT_THAT(error_for("1 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5382:1"),
              HasSubstr("column 11 (city): index 5382 is not a city"));
}

TEST(FrappeRecipeErrors, MissingFilesAreNamed) {
  TempDir dir("frappe_none");
  std::filesystem::create_directories(dir / "source");
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare(dir), Error),
              HasSubstr("none of frappe.train.libfm, frappe.validation.libfm, frappe.test.libfm"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_frappe({dir / "nowhere", dir / "out", {}}), Error),
              HasSubstr("does not exist"));
}

TEST(FrappeRecipe, SharedCopy) {
  if (!std::filesystem::exists(kShared / "frappe.test.libfm")) {
    GTEST_SKIP() << "../shared/datasets/frappe is absent: the shared Frappe copy is not here";
  }
  TempDir dir("frappe_shared");
  const PrepareSummary summary = prepare_frappe({kShared, dir / "out", {}});
  EXPECT_EQ(summary.valid_rows, 57722u);
  EXPECT_EQ(summary.test_rows, 28860u);
  EXPECT_EQ(summary.train_rows, 0u);  // the NFM train file is not in the shared copy
  const std::string test = read_file(dir / "out" / "test.tsv");
  EXPECT_EQ(test.substr(0, test.find('\n', std::string(kHeader).size()) + 1),
            std::string(kHeader) + "0\t204\t3841\t2\t0\t0\t0\t0\t0\t4\t34\n");
  // One positive for two sampled negatives.
  const std::string json = read_file(dir / "out" / "prepare.json");
  EXPECT_THAT(json, HasSubstr("\"positive_rate\": 0.33"));
}

}  // namespace
}  // namespace heed::recipes
