#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/recipes/avazu.h"

namespace heed::recipes {
namespace {

using ::testing::HasSubstr;
using heed::testing::read_file;
using heed::testing::TempDir;
using heed::testing::write_file;

const std::filesystem::path kShared = HEED_SOURCE_DIR "/../shared/datasets";
const char* const kSourceHeader =
    "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,"
    "device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21\n";
const char* const kHeader =
    "label\thour_of_day\tweekday\tC1\tbanner_pos\tsite_id\tsite_domain\tsite_category\tapp_id\t"
    "app_domain\tapp_category\tdevice_id\tdevice_ip\tdevice_model\tdevice_type\tdevice_conn_type\t"
    "C14\tC15\tC16\tC17\tC18\tC19\tC20\tC21";

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string row(const std::string& id, const std::string& click, const std::string& hour) {
  return fmt::format("{},{},{}", id, click, hour) +
         ",1005,0,1fbe01fe,f3845767,28905ebd,ecad2386,7801e8d9,07d7df22,a99f214a,ddd2926e,44956a24,"
         "1,2,15706,320,50,1722,0,35,-1,79\n";
}
const char* const kRest =
    "\t1005\t0\t1fbe01fe\tf3845767\t28905ebd\tecad2386\t7801e8d9\t07d7df22\ta99f214a\tddd2926e\t"
    "44956a24\t1\t2\t15706\t320\t50\t1722\t0\t35\t-1\t79";

TEST(AvazuRecipe, HourBecomesHourOfDayAndWeekdayAndTheIdIsDropped) {
  TempDir dir("avazu");
  std::filesystem::create_directories(dir / "source");
  // 2014-10-21 was a Tuesday, 2014-10-30 a Thursday, 2016-02-29 a Monday.
  write_file(dir / "source" / "train.csv",
             std::string(kSourceHeader) + row("10001", "1", "14102100") + row("10002", "0", "14103023"));
  write_file(dir / "source" / "test.csv", row("10003", "0", "16022907"));  // no header, as in the heads
  const PrepareSummary summary = prepare_avazu({dir / "source", dir / "out", {}, {}});
  EXPECT_EQ(summary.train_rows, 2u);
  EXPECT_EQ(summary.valid_rows, 0u);
  EXPECT_EQ(summary.test_rows, 1u);
  EXPECT_EQ(read_file(dir / "out" / "train.tsv"),
            fmt::format("{}\n1\t00\tTue{}\n0\t23\tThu{}\n", kHeader, kRest, kRest));
  EXPECT_EQ(read_file(dir / "out" / "test.tsv"), fmt::format("{}\n0\t07\tMon{}\n", kHeader, kRest));
}

TEST(AvazuRecipe, OneFileIsSplitByTheImpressionId) {
  TempDir dir("avazu_one");
  std::string text = kSourceHeader;
  for (int i = 0; i < 300; ++i) text += row(std::to_string(1000 + i), i % 4 == 0 ? "1" : "0", "14102205");
  write_file(dir / "train", text);  // Kaggle's name, no extension
  const PrepareSummary summary = prepare_avazu({dir.path(), dir / "out", {0.2, 0.1}, {}});
  EXPECT_EQ(summary.train_rows + summary.valid_rows + summary.test_rows, 300u);
  EXPECT_GT(summary.valid_rows, 35u);
  EXPECT_LT(summary.valid_rows, 90u);
  EXPECT_GT(summary.test_rows, 12u);
  EXPECT_LT(summary.test_rows, 50u);
  // The same ids go to the same side whatever the rest of the file holds.
  write_file(dir / "train", std::string(kSourceHeader) + row("1000", "1", "14102205") + row("1001", "0", "14102205"));
  prepare_avazu({dir.path(), dir / "two", {0.2, 0.1}, {}});
  for (const char* file : {"train.tsv", "valid.tsv", "test.tsv"}) {
    const auto small = lines_of(dir / "two" / file);
    const auto big = lines_of(dir / "out" / file);
    for (std::size_t i = 1; i < small.size(); ++i) {
      EXPECT_NE(std::find(big.begin(), big.end(), small[i]), big.end()) << file;
    }
  }
}

TEST(AvazuRecipe, SharedHeadKeepsItsSplit) {
  if (!std::filesystem::exists(kShared / "avazu-head" / "train.csv")) {
    GTEST_SKIP() << "../shared/datasets/avazu-head is absent";
  }
  TempDir dir("avazu_head");
  const PrepareSummary summary = prepare_avazu({kShared / "avazu-head", dir / "out", {}, {}});
  EXPECT_EQ(summary.train_rows, 8087u);
  EXPECT_EQ(summary.valid_rows, 480u);
  EXPECT_EQ(summary.test_rows, 432u);
  const auto lines = lines_of(dir / "out" / "valid.tsv");
  ASSERT_EQ(lines.size(), 481u);
  EXPECT_EQ(lines[0], kHeader);
  // 10001868339616595934,0,14102100,1005,1,e151e245,... : Tuesday, hour 00.
  EXPECT_EQ(lines[1].substr(0, 30), "0\t00\tTue\t1005\t1\te151e245\t7e091");
}

TEST(AvazuRecipe, SharedTinySample) {
  const auto sample = kShared / "tiny" / "avazu_sample.txt";
  if (!std::filesystem::exists(sample)) GTEST_SKIP() << "../shared/datasets/tiny is absent";
  TempDir dir("avazu_tiny");
  const PrepareSummary summary = prepare_avazu({sample, dir / "out", {0.1, 0.1}, {}});
  EXPECT_EQ(summary.train_rows + summary.valid_rows + summary.test_rows, 100u);
}

std::string error_for(const std::string& text) {
  TempDir dir("avazu_bad");
  write_file(dir / "train.csv", text);
  return HEED_ERROR_MESSAGE(prepare_avazu({dir / "train.csv", dir / "out", {}, {}}), ParseError);
}

TEST(AvazuRecipeErrors, NameFileLineAndColumn) {
  const std::string head = std::string(kSourceHeader) + row("1", "0", "14102100");
  EXPECT_THAT(error_for(head + row("2", "yes", "14102100")),
              HasSubstr("train.csv:3: column 2 (click): expected click 0 or 1, found 'yes'"));
  EXPECT_THAT(error_for(head + row("2", "1", "14133100")),
              HasSubstr("train.csv:3: column 3 (hour): expected an hour YYMMDDHH (e.g. 14102100), found '14133100'"));
  EXPECT_THAT(error_for(head + row("2", "1", "14102124")), HasSubstr("found '14102124'"));
  EXPECT_THAT(error_for(head + row("2", "1", "1410210")), HasSubstr("found '1410210'"));
  EXPECT_THAT(error_for(head + "3,1,14102100\n"), HasSubstr("train.csv:3: column 4 (C1): expected 24 fields"));
  std::string header = kSourceHeader;
  header.replace(header.find("site_id"), 7, "siteid");
  EXPECT_THAT(error_for(header), HasSubstr("train.csv:1: column 6 (site_id): expected the header to name"));
  EXPECT_THAT(error_for(kSourceHeader), HasSubstr("the file is empty"));
}

}  // namespace
}  // namespace heed::recipes
