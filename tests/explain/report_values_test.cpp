// The explain page's handling of values a person reads: POSO keeps every pc value (the rare
// ones too), in numeric order, each in its own colour; SENet's chart warns when its weights
// barely differ.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "../support/test_files.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "explain/explanation.h"
#include "explain/explanation_json.h"
#include "explain/html_report.h"
#include "explain/value_order.h"
#include "prepare/synth/synth_generator.h"
#include "train/trainer.h"

namespace heed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
namespace fs = std::filesystem;

TEST(ValueOrder, NumbersReadAsNumbers) {
  std::vector<std::string> buckets = {"100-199", "20-49", "0", "1-4", "5-19", "200+", "50-99"};
  std::sort(buckets.begin(), buckets.end(), [](const auto& a, const auto& b) {
    return explain::natural_less(a, b);
  });
  EXPECT_THAT(buckets, ElementsAre("0", "1-4", "5-19", "20-49", "50-99", "100-199", "200+"));
  std::vector<std::string> words = {"new", "active", "b2", "b10", "b1"};
  std::sort(words.begin(), words.end(),
            [](const auto& a, const auto& b) { return explain::natural_less(a, b); });
  EXPECT_THAT(words, ElementsAre("active", "b1", "b2", "b10", "new"));
  EXPECT_FALSE(explain::natural_less("7", "7"));
}

// POSO gated by the hour (24 values, some rarer than others): every value is kept and shown.
TEST(ExplainPosoValues, EveryValueInNumericOrderEachInItsOwnColour) {
  testing::TempDir dir("explain_values");
  synth::generate({.out = dir.path() / "data", .rows = 3000, .seed = 4});
  const Config config = load_config(
      std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml",
      {"data.dir=" + (dir.path() / "data").string(), "train.epochs=1", "model.hidden=[16]",
       "embedding.dim=4", "din.hidden=[8]", "poso.gate_hidden=8", "poso.features=[\"hour\"]",
       "train.threads=1", "train.progress=none"});
  TrainOptions run;
  run.run_dir = dir.path() / "run";
  train(config, run);
  const Checkpoint cp = load_checkpoint(run.run_dir / "model");
  explain::Options options;
  options.rows = 0;
  options.shuffles = 0;
  const explain::Explanation e =
      explain::explain(*cp.model, cp.meta, "model", dir.path() / "data" / "test.tsv", options);

  // The hours in the file, counted.
  std::map<int, std::size_t> hours;
  {
    const std::string text = testing::read_file(dir.path() / "data" / "test.tsv");
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    std::size_t column = 0;
    for (std::size_t at = 0, c = 0;; ++c) {
      const std::size_t stop = line.find('\t', at);
      if (line.substr(at, stop - at) == "hour") column = c;
      if (stop == std::string::npos) break;
      at = stop + 1;
    }
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      std::size_t at = 0;
      for (std::size_t c = 0; c < column; ++c) at = line.find('\t', at) + 1;
      ++hours[std::stoi(line.substr(at, line.find('\t', at) - at))];
    }
  }
  ASSERT_GT(hours.size(), 12u) << "more values than the old cap of 12";
  std::vector<std::string> expected;
  for (const auto& [hour, count] : hours) expected.push_back(std::to_string(hour));  // 0, 1, 2, ...

  const std::string page = explain::render_html(e);
  for (const explain::PosoLayer& layer : e.poso.layers) {
    std::vector<std::string> listed;
    for (const explain::PosoValue& v : layer.values) {
      listed.push_back(v.value);
      EXPECT_EQ(v.rows, hours[std::stoi(v.value)]) << v.value;
    }
    EXPECT_EQ(listed, expected);
  }
  EXPECT_EQ(e.poso.pooled_values, 0u);
  EXPECT_THAT(page, Not(HasSubstr("(other)")));
  // Every value has its own small chart of neuron means (one <title> per value) ...
  for (const std::string& v : expected)
    EXPECT_THAT(page, HasSubstr("<title>POSO mean gate per neuron, " + v + "</title>")) << v;
  // ... and the table's swatches are all different colours, in the values' order.
  const std::string poso = page.substr(page.find("id=\"poso\""));
  const std::string first_layer = poso.substr(0, poso.find("Hidden layer 1"));
  std::regex swatch("class=\"swatch\" style=\"background:([^\"]+)\"></span><b>([^<]+)</b>");
  std::set<std::string> colours;
  std::vector<std::string> rows;
  for (auto it = std::sregex_iterator(first_layer.begin(), first_layer.end(), swatch);
       it != std::sregex_iterator(); ++it) {
    colours.insert((*it)[1]);
    rows.push_back((*it)[2]);
  }
  EXPECT_EQ(rows, expected);
  EXPECT_EQ(colours.size(), expected.size()) << "two values share a colour";
}

explain::Explanation senet_only(std::vector<explain::WeightStat> fields) {
  explain::Explanation e;
  e.summary.rows = e.summary.file_rows = 10;
  e.summary.senet = true;
  e.senet.enabled = true;
  e.senet.axis = "field";
  e.senet.gate = "sigmoid";
  e.senet.fields = std::move(fields);
  return e;
}

TEST(ExplainSenet, CautionWhenEveryWeightLiesInANarrowBand) {
  // ml-100k's weights: 0.456 to 0.564, a band of 0.108 under a largest weight of 0.564.
  const explain::Explanation narrow = senet_only(
      {{"user_activity", 0.564, 0.02, 0.5, 0.6, {}}, {"movie_id", 0.51, 0.02, 0.45, 0.55, {}},
       {"gender", 0.456, 0.01, 0.43, 0.48, {}}});
  EXPECT_THAT(explain::render_html(narrow), HasSubstr("class=\"caution\""));
  EXPECT_THAT(explain::render_html(narrow), HasSubstr("between 0.456 and 0.564"));
  EXPECT_TRUE(Json::parse(explain::to_json(narrow).dump())["senet"]["narrow_band"].get<bool>());
  // The demo's 0.408 to 0.630 is a spread the gate made: no caution.
  const explain::Explanation wide = senet_only(
      {{"item_category", 0.630, 0.05, 0.5, 0.7, {}}, {"noise_a", 0.408, 0.03, 0.35, 0.45, {}}});
  EXPECT_THAT(explain::render_html(wide), Not(HasSubstr("class=\"caution\"")));
  EXPECT_FALSE(Json::parse(explain::to_json(wide).dump())["senet"]["narrow_band"].get<bool>());
}

}  // namespace
}  // namespace heed
