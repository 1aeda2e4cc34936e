// NaN and Inf during training: a bad value planted in one layer's weights is reported at that
// layer, with the step and the source lines of the rows that carried it, and nothing is saved
// over the last good checkpoint. Gradient clipping bounds a step's global norm.
#include "train/divergence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>

#include "../support/synthetic_data.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "hashing/feature_hash.h"
#include "train/trainer.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class DivergenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("divergence");
    files_ = new testing::SyntheticFiles(testing::write_synthetic_data(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete files_;
    delete dir_;
  }
  static Config config(const std::vector<std::string>& overrides = {}) { return load_config(files_->config, overrides); }

  // One epoch into run folder `name`; returns its checkpoint's path.
  static fs::path train_one_epoch(const std::string& name) {
    TrainOptions options;
    options.run_dir = dir_->path() / name;
    train(config({"train.epochs=1"}), options);
    return options.run_dir / "checkpoint";
  }

  // Rewrites the checkpoint at `path` after `edit` changed its model (the checksums stay valid:
  // this is a model gone bad, not a damaged file).
  template <class Edit>
  static void edit_checkpoint(const fs::path& path, Edit edit) {
    Checkpoint cp = load_checkpoint(path);
    edit(*cp.model);
    save_checkpoint(path, *cp.model, cp.meta, cp.optimizer, &*cp.trainer, cp.row_optimizer);
  }

  static std::string resume_error(const fs::path& run_dir) {
    TrainOptions options;
    options.run_dir = run_dir;
    options.resume = true;
    return HEED_ERROR_MESSAGE(train(config({"train.epochs=2"}), options), Error);
  }

  // The line numbers of train.tsv the message cites.
  static std::vector<std::size_t> cited_lines(const std::string& message) {
    std::vector<std::size_t> lines;
    const std::regex cite(std::regex_replace(files_->train.string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                          ":([0-9]+)");
    for (auto it = std::sregex_iterator(message.begin(), message.end(), cite); it != std::sregex_iterator(); ++it)
      lines.push_back(std::stoul((*it)[1]));
    return lines;
  }

  static std::vector<std::string> columns_of_line(std::size_t number) {
    std::istringstream in(testing::read_file(files_->train));
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n)
      if (n == number) {
        std::vector<std::string> cells;
        std::istringstream row(line);
        for (std::string cell; std::getline(row, cell, '\t');) cells.push_back(cell);
        return cells;
      }
    return {};
  }

  static testing::TempDir* dir_;
  static testing::SyntheticFiles* files_;
};

testing::TempDir* DivergenceTest::dir_ = nullptr;
testing::SyntheticFiles* DivergenceTest::files_ = nullptr;

ParamId param_named(const ParamSet& params, const std::string& name) {
  for (ParamId i = 0; i < params.size(); ++i)
    if (params.param(i).name == name) return i;
  ADD_FAILURE() << "no parameter " << name;
  return 0;
}

TEST_F(DivergenceTest, NanInADenseLayerIsReportedAtThatLayerAndStep) {
  const fs::path checkpoint = train_one_epoch("dense_nan");
  std::int64_t saved_step = 0;
  edit_checkpoint(checkpoint, [&](Model& model) {
    model.params()[param_named(model.params(), "mlp.1.weight")](2, 3) = NAN;
  });
  saved_step = (*load_checkpoint(checkpoint).trainer)["step"].get<std::int64_t>();
  const std::string before = testing::read_file(checkpoint);

  const std::string message = resume_error(checkpoint.parent_path());
  EXPECT_THAT(message, HasSubstr(fmt::format("step {} ", saved_step + 1)));
  EXPECT_THAT(message, HasSubstr("output of mlp.1 (dense layer)"));
  EXPECT_THAT(message, HasSubstr("last good checkpoint is " + checkpoint.string()));
  // Every row goes through mlp.1, so the first rows of the batch are cited.
  EXPECT_EQ(cited_lines(message).size(), 5u) << message;
  EXPECT_EQ(testing::read_file(checkpoint), before) << "nothing was saved over the last good checkpoint";
}

TEST_F(DivergenceTest, NanInOneEmbeddingRowNamesTheRowsThatReadIt) {
  const fs::path checkpoint = train_one_epoch("row_nan");
  edit_checkpoint(checkpoint, [&](Model& model) {
    for (EmbeddingTable& table : model.tables())
      if (table.name() == "item") {
        const std::int32_t row = table.find(hash_value("5", table_seed("item")));
        ASSERT_GE(row, 0);
        table.row(static_cast<std::uint32_t>(row))[1] = INFINITY;
      }
  });
  const std::string message = resume_error(checkpoint.parent_path());
  EXPECT_THAT(message, HasSubstr("embedding rows of 'item' (table 'item', pooled)"));
  const auto lines = cited_lines(message);
  ASSERT_FALSE(lines.empty()) << message;
  for (std::size_t line : lines) EXPECT_EQ(columns_of_line(line).at(2), "5") << "line " << line << " has item 5";
}

TEST_F(DivergenceTest, ExplodingLearningRateStopsTraining) {
  TrainOptions options;
  options.run_dir = dir_->path() / "exploding";
  const std::string message =
      HEED_ERROR_MESSAGE(train(config({"train.epochs=1", "optimizer.lr=1e37", "optimizer.embedding_lr=1e37"}), options), Error);
  EXPECT_THAT(message, HasSubstr("training diverged at step"));
  EXPECT_THAT(message, HasSubstr("no checkpoint had been written yet"));
  EXPECT_FALSE(fs::exists(options.run_dir / "model"));
}

TEST_F(DivergenceTest, ClippingBoundsTheGlobalNorm) {
  Model model(config());
  auto ws = model.make_workspace(4);
  for (std::size_t i = 0; i < ws->gradients().size(); ++i) ws->gradients()[i].setConstant(0.5f);
  ws->table_gradients().assign(model.tables().size(), std::vector<float>(16, -2.0f));
  double squares = 0;
  for (std::size_t i = 0; i < ws->gradients().size(); ++i) squares += 0.25 * static_cast<double>(ws->gradients()[i].size());
  squares += 4.0 * 16 * static_cast<double>(model.tables().size());
  EXPECT_NEAR(clip_gradients(*ws, 1.0), std::sqrt(squares), 1e-6 * std::sqrt(squares));
  double after = 0;
  for (std::size_t i = 0; i < ws->gradients().size(); ++i) after += ws->gradients()[i].cast<double>().squaredNorm();
  for (const auto& g : ws->table_gradients())
    for (float v : g) after += static_cast<double>(v) * v;
  EXPECT_NEAR(std::sqrt(after), 1.0, 1e-5);
  // Below the bound nothing changes.
  const float kept = ws->gradients()[0](0, 0);
  EXPECT_NEAR(clip_gradients(*ws, 10.0), 1.0, 1e-5);
  EXPECT_EQ(ws->gradients()[0](0, 0), kept);
}

TEST_F(DivergenceTest, ClippedTrainingLearns) {
  TrainOptions options;
  options.run_dir = dir_->path() / "clipped";
  const auto report = train(config({"train.epochs=2", "optimizer.clip_norm=0.5"}), options);
  EXPECT_GT(report["test"]["auc"].get<double>(), 0.65);
}

}  // namespace
}  // namespace heed
