// Training on other inputs than a plain in-memory TSV: a gzip'd or zstd'd copy gives the same
// metrics as the plain file, and streamed training (data.stream = "on") learns, is reproducible,
// and does not depend on the number of parsing threads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../support/compressed_text.h"
#include "../support/synthetic_data.h"
#include "config/config_loader.h"
#include "train/trainer.h"

namespace heed {
namespace {

using Json = nlohmann::json;

class InputsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("inputs");
    files_ = new testing::SyntheticFiles(testing::write_synthetic_data(dir_->path()));
    for (const char* name : {"train.tsv", "test.tsv"}) {
      const std::string text = testing::read_file(dir_->path() / name);
      testing::write_file(dir_->path() / (std::string(name) + ".gz"), testing::gzip(text));
      testing::write_file(dir_->path() / (std::string(name) + ".zst"), testing::zstd(text));
    }
  }
  static void TearDownTestSuite() {
    delete files_;
    delete dir_;
  }
  static Json run(const std::string& name, const std::vector<std::string>& overrides) {
    TrainOptions options;
    options.run_dir = dir_->path() / name;
    Json m = train(load_config(files_->config, overrides), options);
    for (auto& entry : m["history"]) {
      entry.erase("seconds");
      entry.erase("samples_per_second");
    }
    return m;
  }
  static testing::TempDir* dir_;
  static testing::SyntheticFiles* files_;
};
testing::TempDir* InputsTest::dir_ = nullptr;
testing::SyntheticFiles* InputsTest::files_ = nullptr;

TEST_F(InputsTest, CompressedInputTrainsLikeThePlainFile) {
  const Json plain = run("plain", {});
  const Json gz = run("gz", {"data.train=train.tsv.gz", "data.test=test.tsv.gz"});
  const Json zst = run("zst", {"data.train=train.tsv.zst", "data.test=test.tsv.zst"});
  EXPECT_EQ(gz, plain);
  EXPECT_EQ(zst, plain);
}

TEST_F(InputsTest, StreamedTrainingLearnsReproduciblyWhateverTheParserThreads) {
  const std::vector<std::string> stream = {"data.stream=on", "data.shuffle_buffer=500"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), stream.begin(), stream.end());
    return more;
  };
  const Json a = run("stream_a", with({"data.parser_threads=1"}));
  const Json b = run("stream_b", with({"data.parser_threads=3"}));
  const Json gz = run("stream_gz", with({"data.parser_threads=2", "data.train=train.tsv.gz"}));
  EXPECT_EQ(a, b);
  EXPECT_EQ(gz, a);
  EXPECT_TRUE(a["streamed"].get<bool>());
  const Json memory = run("memory", {});
  // The same rows trained and held out as in memory, in another order, learning as well.
  EXPECT_EQ(a["train_rows"], memory["train_rows"]);
  EXPECT_EQ(a["valid"]["rows"], memory["valid"]["rows"]);
  EXPECT_GT(a["test"]["auc"].get<double>(), 0.75);
  EXPECT_NEAR(a["test"]["auc"].get<double>(), memory["test"]["auc"].get<double>(), 0.03);
}

}  // namespace
}  // namespace heed
