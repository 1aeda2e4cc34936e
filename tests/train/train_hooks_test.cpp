// The trainer's hooks for callers other than the CLI (the Python module): splits read from
// memory (TrainOptions::rows) and the news of every batch and epoch (TrainOptions::on_update).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/synthetic_data.h"
#include "config/config_loader.h"
#include "data/text_table.h"
#include "train/trainer.h"

namespace heed {
namespace {


using Json = nlohmann::json;
namespace fs = std::filesystem;

Json without_timings(Json metrics) {
  for (auto& entry : metrics["history"]) {
    entry.erase("seconds");
    entry.erase("samples_per_second");
  }
  return metrics;
}

// A TSV file's cells held in memory as a table.
struct MemoryTable {
  std::vector<std::string> lines;
  TextTable table;

  MemoryTable(const fs::path& path, const std::string& name) {
    std::istringstream in(testing::read_file(path));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    table.name = name;
    auto split = [](std::string_view line) {
      std::vector<std::string_view> cells;
      for (std::size_t start = 0;;) {
        const std::size_t tab = line.find('\t', start);
        cells.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
        if (tab == std::string_view::npos) return cells;
        start = tab + 1;
      }
    };
    for (std::string_view name : split(lines[0])) table.columns.emplace_back(name);
    table.cells.resize(table.columns.size());
    for (std::size_t r = 1; r < lines.size(); ++r) {
      const auto cells = split(lines[r]);
      for (std::size_t c = 0; c < cells.size(); ++c) table.cells[c].push_back(cells[c]);
    }
    table.rows = lines.size() - 1;
  }
};

class TrainHooksTest : public ::testing::Test {
 protected:
  void SetUp() override { files_ = testing::write_synthetic_data(dir_.path()); }
  Config config() const { return load_config(files_.config, {"train.epochs=2", "train.threads=2"}); }
  Json metrics(const std::string& run) const {
    return without_timings(Json::parse(testing::read_file(dir_ / run / "metrics.json")));
  }

  testing::TempDir dir_{"train_hooks"};
  testing::SyntheticFiles files_;
};

TEST_F(TrainHooksTest, SplitsFromMemoryTrainAsTheirFiles) {
  train(config(), TrainOptions{dir_ / "files", false});
  const MemoryTable train_rows(files_.train, "train rows"), test_rows(files_.test, "test rows");
  TrainOptions options{dir_ / "memory", false};
  std::vector<std::string> asked;
  options.rows = [&](const std::string& split, const Config& c, const Schema& schema, const LoadOptions& load) {
    asked.push_back(split);
    return load_table(split == "train" ? train_rows.table : test_rows.table, c, schema, load);
  };
  train(config(), options);
  EXPECT_EQ(asked, (std::vector<std::string>{"train", "test"}));  // valid is carved from train
  EXPECT_EQ(metrics("memory"), metrics("files"));
}

TEST_F(TrainHooksTest, OnUpdateSeesBatchesAndEpochs) {
  TrainOptions options{dir_ / "news", false};
  std::vector<TrainingUpdate> updates;
  std::vector<std::int64_t> epochs_ended;
  options.on_update = [&](const TrainingUpdate& u) {
    updates.push_back(u);
    if (u.epoch_end) epochs_ended.push_back(u.epoch_end->at("epoch").get<std::int64_t>());
    return true;
  };
  train(config(), options);
  EXPECT_EQ(epochs_ended, (std::vector<std::int64_t>{1, 2}));
  ASSERT_GT(updates.size(), 4u);
  EXPECT_EQ(updates.front().step, 1);
  EXPECT_EQ(updates.front().epochs, 2);
  EXPECT_GT(updates.front().rows_done, 0u);
  EXPECT_GT(updates.front().train_logloss, 0.0);
}

// Stopping through on_update and resuming: TrainerTest.ABatchCallbackHearsEveryStepAndCanStopForAResume.

}  // namespace
}  // namespace heed
