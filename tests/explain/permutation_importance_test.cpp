// Permutation importance against a brute force: a tiny model trained on `heed synth` data, every
// field's shuffle redone by hand on the raw file (its column's values moved between lines), the
// rewritten file scored, AUC counted over every (positive, negative) pair and logloss summed
// directly. Also: determinism (thread count, seed) and the report's measures side by side.
#include "explain/permutation_importance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/test_files.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "data/dataset_loader.h"
#include "explain/explanation.h"
#include "explain/explanation_json.h"
#include "explain/html_report.h"
#include "model/scorer.h"
#include "prepare/synth/synth_generator.h"
#include "train/trainer.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t stop = line.find('\t', start);
    out.push_back(line.substr(start, stop == std::string::npos ? std::string::npos : stop - start));
    if (stop == std::string::npos) return out;
    start = stop + 1;
  }
}

// AUC as the share of (positive, negative) pairs ordered right, ties counting half.
double brute_auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  double right = 0, pairs = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    for (std::size_t j = 0; j < scores.size(); ++j)
      if (labels[i] > 0.5f && labels[j] < 0.5f) {
        ++pairs;
        right += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
      }
  return right / pairs;
}

double brute_logloss(const std::vector<float>& scores, const std::vector<float>& labels) {
  double sum = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double p = std::clamp(static_cast<double>(scores[i]), 1e-7, 1 - 1e-7);
    sum -= labels[i] > 0.5f ? std::log(p) : std::log(1 - p);
  }
  return sum / static_cast<double>(scores.size());
}

class PermutationImportance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("permutation");
    synth::generate({.out = dir_->path() / "data", .rows = 3000, .seed = 5});
    const Config config = load_config(
        std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml",
        {"data.dir=" + (dir_->path() / "data").string(), "train.epochs=1", "model.hidden=[16]",
         "embedding.dim=4", "din.hidden=[8]", "poso.gate_hidden=8", "train.threads=1",
         "train.progress=none"});
    TrainOptions run;
    run.run_dir = dir_->path() / "run";
    train(config, run);
    checkpoint_ = new Checkpoint(load_checkpoint(run.run_dir / "model"));
  }
  static void TearDownTestSuite() {
    delete checkpoint_;
    delete dir_;
  }
  static fs::path test_file() { return dir_->path() / "data" / "test.tsv"; }
  static Model& model() { return *checkpoint_->model; }
  static explain::Explanation explain_with(int threads, std::uint64_t seed) {
    explain::Options options;
    options.rows = 0;  // every row
    options.shuffles = 2;
    options.seed = seed;
    options.threads = threads;
    return explain::explain(model(), checkpoint_->meta, "model", test_file(), options);
  }
  // The file's rows scored.
  static std::vector<float> scores_of(const fs::path& file, std::vector<float>& labels) {
    const Dataset data = load_dataset(file, model().config(), model().schema(), {});
    labels.assign(data.labels.begin(), data.labels.end());
    return score_dataset(model(), data, 1);
  }

  static testing::TempDir* dir_;
  static Checkpoint* checkpoint_;
};
testing::TempDir* PermutationImportance::dir_ = nullptr;
Checkpoint* PermutationImportance::checkpoint_ = nullptr;

TEST_F(PermutationImportance, EveryFieldMatchesABruteForceShuffleOfTheRawFile) {
  const explain::Explanation e = explain_with(1, 3);
  const explain::PermutationReport& r = e.importance;
  ASSERT_TRUE(r.available) << r.reason;
  EXPECT_EQ(r.shuffles, 2u);

  // The raw file: a header and the data lines.
  std::istringstream in(testing::read_file(test_file()));
  std::string header;
  std::getline(in, header);
  const std::vector<std::string> names = split(header);
  std::vector<std::vector<std::string>> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(split(line));

  std::vector<float> labels;
  const std::vector<float> base = scores_of(test_file(), labels);
  const double base_auc = brute_auc(base, labels), base_logloss = brute_logloss(base, labels);
  EXPECT_NEAR(r.auc, base_auc, 1e-9);
  EXPECT_NEAR(r.logloss, base_logloss, 1e-6);

  const std::vector<explain::ShuffleUnit> units = explain::shuffle_units(model().schema());
  // Every feature once; the history and its attend_with companion as one unit.
  EXPECT_EQ(units.size(), model().schema().features.size() - 1);
  ASSERT_EQ(r.fields.size(), units.size());
  bool history_seen = false;
  for (std::size_t u = 0; u < units.size(); ++u) {
    if (units[u].name == "hist_item_ids + hist_categories") history_seen = true;
    const explain::FieldImportance* got = nullptr;
    for (const explain::FieldImportance& f : r.fields)
      if (f.name == units[u].name) got = &f;
    ASSERT_NE(got, nullptr) << units[u].name;
    ASSERT_EQ(got->auc_drop.size(), 2u);
    for (std::size_t s = 0; s < 2; ++s) {
      // Line i takes the unit's columns from line order[i].
      const std::vector<std::size_t> order = explain::shuffle_order(lines.size(), 3, u, s);
      std::string text = header + "\n";
      for (std::size_t i = 0; i < lines.size(); ++i) {
        std::vector<std::string> cells = lines[i];
        for (int f : units[u].features) {
          const std::string& column = model().schema().features[static_cast<std::size_t>(f)].column;
          const auto c = static_cast<std::size_t>(
              std::find(names.begin(), names.end(), column) - names.begin());
          cells[c] = lines[order[i]][c];
        }
        for (std::size_t c = 0; c < cells.size(); ++c) text += (c ? "\t" : "") + cells[c];
        text += "\n";
      }
      const fs::path shuffled = dir_->path() / "shuffled.tsv";
      testing::write_file(shuffled, text);
      std::vector<float> same_labels;
      const std::vector<float> scores = scores_of(shuffled, same_labels);
      EXPECT_NEAR(got->auc_drop[s], base_auc - brute_auc(scores, labels), 1e-9)
          << units[u].name << " shuffle " << s;
      EXPECT_NEAR(got->logloss_rise[s], brute_logloss(scores, labels) - base_logloss, 1e-6)
          << units[u].name << " shuffle " << s;
    }
    const double mean = (got->auc_drop[0] + got->auc_drop[1]) / 2;
    EXPECT_NEAR(got->auc_drop_mean, mean, 1e-12);
    EXPECT_NEAR(got->auc_drop_std, std::abs(got->auc_drop[0] - got->auc_drop[1]) / std::sqrt(2.0),
                1e-12);
  }
  EXPECT_TRUE(history_seen);
  for (std::size_t i = 1; i < r.fields.size(); ++i)
    EXPECT_GE(r.fields[i - 1].auc_drop_mean, r.fields[i].auc_drop_mean) << "ranked by AUC drop";
}

TEST_F(PermutationImportance, SameSeedSameNumbersWhateverTheThreads) {
  const Json one = Json::parse(explain::to_json(explain_with(1, 9)).dump())["importance"];
  const Json two = Json::parse(explain::to_json(explain_with(2, 9)).dump())["importance"];
  ASSERT_TRUE(one["available"].get<bool>());
  EXPECT_EQ(one, two);
  // Another seed shuffles differently.
  const Json other = Json::parse(explain::to_json(explain_with(1, 10)).dump())["importance"];
  EXPECT_NE(one["fields"], other["fields"]);
}

TEST_F(PermutationImportance, ReportShowsBothMeasuresAndSaysWhichToRead) {
  const explain::Explanation e = explain_with(1, 3);
  const std::string page = explain::render_html(e);
  EXPECT_THAT(page, HasSubstr("id=\"importance\""));
  EXPECT_THAT(page, HasSubstr("Which measure to read for what"));
  EXPECT_THAT(page, HasSubstr("SENet mean weight"));
  const Json j = Json::parse(explain::to_json(e).dump());
  for (const Json& f : j["importance"]["fields"]) {
    EXPECT_TRUE(f["auc_drop"]["mean"].is_number()) << f["name"];
    EXPECT_EQ(f["auc_drop"]["per_shuffle"].size(), 2u);
    // SENet's weight beside it for every single gated field.
    if (f["features"].size() == 1) {
      EXPECT_TRUE(f["senet_weight"].is_number()) << f["name"];
    }
  }
  // Without labels there is nothing to lose: said, not faked.
  std::istringstream in(testing::read_file(test_file()));
  std::string text, line;
  std::getline(in, line);
  const std::vector<std::string> names = split(line);
  const auto label = static_cast<std::size_t>(std::find(names.begin(), names.end(), "label") -
                                              names.begin());
  for (bool first = true; first || std::getline(in, line); first = false) {
    std::vector<std::string> cells = split(line);
    if (line.empty()) continue;
    cells.erase(cells.begin() + static_cast<std::ptrdiff_t>(label));
    for (std::size_t c = 0; c < cells.size(); ++c) text += (c ? "\t" : "") + cells[c];
    text += "\n";
  }
  const fs::path unlabeled = dir_->path() / "unlabeled.tsv";
  testing::write_file(unlabeled, text);
  explain::Options options;
  options.rows = 0;
  const explain::Explanation u =
      explain::explain(model(), checkpoint_->meta, "model", unlabeled, options);
  EXPECT_FALSE(u.importance.available);
  EXPECT_THAT(u.importance.reason, HasSubstr("no label column"));
}

}  // namespace
}  // namespace heed
