// `heed explain` on the demo model: a full model (SENet, DIN, POSO) trained briefly on `heed
// synth` data, its explanation checked against the raw file and against direct forward passes
// and its page rendered by a real headless browser; escaping on a hand-made explanation; a
// plain DNN whose page says every module is off. (ctest runs each test in its own process, so
// the full model is trained once per test: the checks are grouped into few tests.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>

#include "../support/browser.h"
#include "../support/sanitizer_build.h"
#include "../support/test_files.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "core/sigmoid.h"
#include "data/dataset_loader.h"
#include "data/text_table.h"
#include "embedding/batch_builder.h"
#include "eval/evaluation.h"
#include "explain/explanation.h"
#include "explain/explanation_json.h"
#include "explain/html_report.h"
#include "prepare/synth/synth_generator.h"
#include "train/trainer.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kSource = HEED_SOURCE_DIR;
const fs::path kChromium = "/usr/bin/chromium";
// The demo data the suite trains on (smaller under sanitizers: see sanitizer_build.h); synth
// writes a tenth of it to test.tsv, and explain picks two thirds of those: every 1.5th row.
constexpr std::size_t kDataRows = testing::kSanitizerBuild ? 4500 : 30000;
constexpr std::size_t kTestRows = kDataRows / 10;
constexpr std::size_t kExplainedRows = kTestRows * 2 / 3;
constexpr std::size_t kSamples = 6;

std::string quoted(const fs::path& p) {
  std::string s = "'";  // appended: GCC 12 warns falsely about "literal" + std::string at -O3
  s += p.string();
  s += "'";
  return s;
}

std::string setting(const char* key, const fs::path& value) {
  std::string s = key;
  s += "=";
  s += value.string();
  return s;
}

// The data rows of a TSV file with a header, split into columns by name.
struct RawFile {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> lines;  // 1-based line of each row

  static std::vector<std::string> split(const std::string& line, char separator) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
      const std::size_t stop = line.find(separator, start);
      out.push_back(
          line.substr(start, stop == std::string::npos ? std::string::npos : stop - start));
      if (stop == std::string::npos) return out;
      start = stop + 1;
    }
  }
  explicit RawFile(const fs::path& path) {
    std::istringstream in(testing::read_file(path));
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (number == 1) {
        names = split(line, '\t');
      } else if (!line.empty()) {
        rows.push_back(split(line, '\t'));
        lines.push_back(number);
      }
    }
  }
  const std::string& at(std::size_t row, const std::string& column) const {
    const auto it = std::find(names.begin(), names.end(), column);
    return rows[row][static_cast<std::size_t>(it - names.begin())];
  }
};

// The rows explain picks: all, or kExplainedRows evenly spaced.
std::vector<std::size_t> picked_rows(std::size_t total) {
  std::vector<std::size_t> rows;
  if (total <= kExplainedRows) {
    rows.resize(total);
    std::iota(rows.begin(), rows.end(), std::size_t{0});
  } else {
    for (std::size_t i = 0; i < kExplainedRows; ++i) rows.push_back(i * total / kExplainedRows);
  }
  return rows;
}

class ExplainFullModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("explain");
    synth::Options data;
    data.out = dir_->path() / "data";
    // Under sanitizers a smaller, shorter run: the checks below are structural, except the
    // SENet ranking's, which is left to the Release suite there.
    data.rows = kDataRows;
    data.seed = 1;
    synth::generate(data);
    // The demo config as shipped, trained briefly.
    const char* epochs = testing::kSanitizerBuild ? "train.epochs=1" : "train.epochs=2";
    const Config config = load_config(kSource / "examples/synth/config.toml",
                                      {setting("data.dir", data.out), epochs,
                                       "train.threads=2", "train.progress=none"});
    TrainOptions run;
    run.run_dir = dir_->path() / "run";
    train(config, run);
    checkpoint_ = new Checkpoint(load_checkpoint(run.run_dir / "model"));
    explain::Options options;
    options.rows = kExplainedRows;
    options.samples = kSamples;
    options.seed = 7;
    options.threads = 2;
    explanation_ = new explain::Explanation(explain::explain(*checkpoint_->model, checkpoint_->meta,
                                                             (run.run_dir / "model").string(),
                                                             test_file(), options));
    json_ = new Json(Json::parse(explain::to_json(*explanation_).dump()));
    html_ = new std::string(explain::render_html(*explanation_));
    testing::write_file(dir_->path() / "report.html", *html_);
  }
  static void TearDownTestSuite() {
    delete html_;
    delete json_;
    delete explanation_;
    delete checkpoint_;
    delete dir_;
  }

  static fs::path test_file() { return dir_->path() / "data" / "test.tsv"; }
  static Model& model() { return *checkpoint_->model; }

  // The explained rows of test.tsv, as a Dataset.
  static Dataset explained_rows() {
    LoadOptions load;
    load.require_label = false;
    const Dataset file = load_dataset(test_file(), model().config(), model().schema(), load);
    return file.select(picked_rows(file.rows));
  }

  static testing::TempDir* dir_;
  static Checkpoint* checkpoint_;
  static explain::Explanation* explanation_;
  static Json* json_;
  static std::string* html_;
};

testing::TempDir* ExplainFullModel::dir_ = nullptr;
Checkpoint* ExplainFullModel::checkpoint_ = nullptr;
explain::Explanation* ExplainFullModel::explanation_ = nullptr;
Json* ExplainFullModel::json_ = nullptr;
std::string* ExplainFullModel::html_ = nullptr;

TEST_F(ExplainFullModel, JsonFollowsTheModelAndTheRawFile) {
  {  // every module, as configured
    const Json& j = *json_;
    for (const char* key : {"summary", "senet", "din", "poso"}) EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["summary"]["rows"], kExplainedRows);
    EXPECT_EQ(j["summary"]["file_rows"], kTestRows);
    EXPECT_EQ(j["summary"]["modules"], Json({{"senet", true}, {"din", true}, {"poso", true}}));
    EXPECT_EQ(j["senet"]["axis"], "field");
    EXPECT_TRUE(j["senet"]["fields"].is_array());
    EXPECT_EQ(j["din"]["attentions"].size(), 1u);
    EXPECT_EQ(j["din"]["attentions"][0]["feature"], "hist_item_ids");
    EXPECT_EQ(j["din"]["attentions"][0]["key_features"],
              Json({"hist_item_ids", "hist_categories"}));
    EXPECT_EQ(j["din"]["attentions"][0]["query_features"], Json({"item_id", "item_category"}));
    EXPECT_EQ(j["poso"]["features"], Json({"user_group"}));
    EXPECT_EQ(j["poso"]["layers"].size(), 2u);  // model.hidden = [256, 128], both gated
    for (const char* metric : {"auc", "logloss"})
      EXPECT_TRUE(j["summary"]["metrics"][metric].is_number()) << metric;
  }
  {  // SENet: every gated field once, ranked, sigmoid weights
    const Json& fields = (*json_)["senet"]["fields"];
    std::multiset<std::string> listed, expected;
    for (const Json& f : fields) listed.insert(f["name"].get<std::string>());
    for (const FeatureInfo& f : model().schema().features)
      if (f.field >= 0) expected.insert(f.name);
    EXPECT_EQ(listed, expected);
    EXPECT_EQ(fields.size(), 14u);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const std::string name = fields[i]["name"];
      if (i > 0) {
        EXPECT_GE(fields[i - 1]["mean"].get<double>(), fields[i]["mean"].get<double>()) << name;
      }
      EXPECT_GT(fields[i]["min"].get<double>(), 0.0) << name;
      EXPECT_LT(fields[i]["max"].get<double>(), 1.0) << name;
      EXPECT_GE(fields[i]["std"].get<double>(), 0.0) << name;
    }
  }
  {  // DIN: samples show their own line's raw values, and the weights of the row scored alone
    const Json& attention = (*json_)["din"]["attentions"][0];
    const Json& samples = attention["samples"];
    ASSERT_EQ(samples.size(), kSamples);
    const RawFile raw(test_file());
    const std::vector<std::size_t> picked = picked_rows(raw.rows.size());
    Model& m = model();
    const Dataset data = explained_rows();
    BatchBuilder builder(m.schema(), m.config().embedding);
    auto ws = m.make_workspace(1);
    Batch batch;
    std::size_t previous = 0;
    for (const Json& s : samples) {
      const std::size_t row = s["row"];
      if (&s != &samples[0]) {
        EXPECT_GT(row, previous) << "samples in row order, no repeats";
      }
      previous = row;
      // The line it names is the explained row's line in the file, and its values are that line's.
      const std::size_t file_row = picked[row];
      EXPECT_EQ(s["line"].get<std::size_t>(), raw.lines[file_row]);
      EXPECT_EQ(s["query"]["item_id"], raw.at(file_row, "item_id"));
      EXPECT_EQ(s["query"]["item_category"], raw.at(file_row, "item_category"));
      EXPECT_EQ(s["pc_value"], raw.at(file_row, "user_group"));
      EXPECT_EQ(s["label"].get<float>(), std::stof(raw.at(file_row, "label")));
      const std::vector<std::string> items = RawFile::split(raw.at(file_row, "hist_item_ids"), '|');
      const std::vector<std::string> categories =
          RawFile::split(raw.at(file_row, "hist_categories"), '|');
      const Json& history = s["history"];
      ASSERT_EQ(history.size(), items.size()) << "line " << s["line"];
      ASSERT_FALSE(history.empty());
      for (std::size_t j = 0; j < items.size(); ++j) {
        EXPECT_EQ(history[j]["values"]["hist_item_ids"], items[j]);
        EXPECT_EQ(history[j]["values"]["hist_categories"], categories[j]);
        EXPECT_TRUE(history[j]["weight"].is_number());
      }
      // The weights are those of the row scored on its own.
      std::vector<std::size_t> rows = {row};
      builder.build(data, rows, false, nullptr, m.tables(), m.normalizer(), batch);
      m.forward(batch, 0, 1, *ws, false);
      ASSERT_EQ(ws->din_offsets(0)[1], history.size());
      const float* weights = ws->din_weights(0);
      for (std::size_t j = 0; j < history.size(); ++j)
        EXPECT_NEAR(history[j]["weight"].get<double>(), weights[j], 1e-5);
      EXPECT_NEAR(s["score"].get<double>(), sigmoid(ws->logits()(0, 0)), 1e-5);
    }
    // Overall statistics: one weight per history item of every explained row.
    std::size_t items = 0;
    for (std::size_t r = 0; r < data.rows; ++r)
      items +=
          data.keys[static_cast<std::size_t>(m.schema().feature_index("hist_item_ids"))].count(r);
    EXPECT_EQ(attention["weight"]["count"].get<std::size_t>(), items);
    EXPECT_EQ(attention["by_recency"][0]["count"].get<std::size_t>(),
              data.rows - attention["empty_rows"].get<std::size_t>());
    const Json& matches = attention["matches"];
    ASSERT_EQ(matches.size(), 2u);  // both key features share the query's table
    EXPECT_EQ(matches[1]["match"]["count"].get<std::size_t>() +
                  matches[1]["other"]["count"].get<std::size_t>(),
              items);
  }
  {  // POSO: one entry per pc value seen
    const RawFile raw(test_file());
    std::map<std::string, std::size_t> counts;
    for (std::size_t r : picked_rows(raw.rows.size())) ++counts[raw.at(r, "user_group")];
    ASSERT_EQ(counts.size(), 2u);  // active, new
    for (const Json& layer : (*json_)["poso"]["layers"]) {
      ASSERT_TRUE(layer["gated"].get<bool>());
      std::map<std::string, std::size_t> listed;
      for (const Json& v : layer["values"]) {
        listed[v["value"].get<std::string>()] = v["rows"].get<std::size_t>();
        const Json& means = v["neuron_means"];
        ASSERT_EQ(means.size(), layer["width"].get<std::size_t>());
        double sum = 0;
        for (const Json& x : means) sum += x.get<double>();
        EXPECT_NEAR(sum / static_cast<double>(means.size()), v["mean"].get<double>(), 1e-9)
            << "the mean over neurons";
        const double scale = (*json_)["poso"]["scale"];
        EXPECT_GE(v["min"].get<double>(), 0.0);
        EXPECT_LE(v["max"].get<double>(), scale);
        EXPECT_LE(v["quantiles"]["p05"].get<double>(), v["quantiles"]["p95"].get<double>());
      }
      EXPECT_EQ(listed, counts);
      ASSERT_EQ(layer["differences"].size(), 1u);
      const Json& d = layer["differences"][0];
      EXPECT_EQ(d["a"], "active");
      EXPECT_EQ(d["b"], "new");
      // The mean |difference| of the two values' neuron means, recomputed.
      const Json &a = layer["values"][0]["neuron_means"], &b = layer["values"][1]["neuron_means"];
      double sum = 0;
      for (std::size_t n = 0; n < a.size(); ++n)
        sum += std::abs(a[n].get<double>() - b[n].get<double>());
      EXPECT_NEAR(d["mean_abs_diff"].get<double>(), sum / static_cast<double>(a.size()), 1e-9);
    }
  }
}

// test.tsv held in memory as a table, as the Python module hands over a DataFrame.
struct FileAsTable {
  RawFile file;
  TextTable table;
  explicit FileAsTable(const fs::path& path) : file(path) {
    table.name = "explain DataFrame";
    table.columns = file.names;
    table.rows = file.rows.size();
    table.cells.resize(file.names.size());
    for (const auto& row : file.rows)
      for (std::size_t c = 0; c < row.size(); ++c) table.cells[c].push_back(row[c]);
  }
};

TEST_F(ExplainFullModel, ATableExplainsAsTheFileItHolds) {
  const FileAsTable rows(test_file());
  explain::Options options;
  options.rows = kExplainedRows;
  options.samples = kSamples;
  options.seed = 7;
  options.threads = 2;
  Json table = Json::parse(explain::to_json(explain::explain(model(), checkpoint_->meta, (*json_)["summary"]["model"].get<std::string>(),
                                                             rows.table, options)).dump());
  EXPECT_EQ(table["summary"]["data"], "explain DataFrame");
  // The same report, raw values (DIN's candidates and histories, POSO's values) included; a
  // sampled row is named by its table row, which is its file line less the header's.
  Json expected = *json_;
  expected["summary"]["data"] = "explain DataFrame";
  for (Json& attention : expected["din"]["attentions"])
    for (Json& sample : attention["samples"]) sample["line"] = sample["line"].get<std::size_t>() - 1;
  ASSERT_FALSE(expected["din"]["attentions"][0]["samples"].empty());
  EXPECT_EQ(table, expected);
}

// test.tsv with its two histories laid out one value per column (as public DIN logs are: every
// column of one name, empty cells where a row's history is shorter): the same rows read, so the
// same report, the histories' raw values joined across the columns.
TEST_F(ExplainFullModel, AHistorySpreadOverColumnsExplainsAsTheJoinedFile) {
  const RawFile file(test_file());
  const std::vector<std::string> spread = {"hist_item_ids", "hist_categories"};
  std::size_t width = 0;
  for (std::size_t r = 0; r < file.rows.size(); ++r)
    width = std::max(width, RawFile::split(file.at(r, spread[0]), '|').size());
  ASSERT_GT(width, 1u);
  std::string text;
  auto add_row = [&](auto cell_of) {
    std::string line;
    for (const std::string& name : file.names) {
      const bool spread_column = std::find(spread.begin(), spread.end(), name) != spread.end();
      for (std::size_t k = 0; k < (spread_column ? width : 1); ++k) {
        if (!line.empty()) line.push_back('\t');
        line.append(cell_of(name, k));
      }
    }
    text.append(line);
    text.push_back('\n');
  };
  add_row([](const std::string& name, std::size_t) { return name; });
  for (std::size_t r = 0; r < file.rows.size(); ++r)
    add_row([&](const std::string& name, std::size_t k) {
      if (std::find(spread.begin(), spread.end(), name) == spread.end()) return file.at(r, name);
      const std::vector<std::string> values = file.at(r, name).empty() ? std::vector<std::string>{}
                                                                        : RawFile::split(file.at(r, name), '|');
      return k < values.size() ? values[k] : std::string();
    });
  const fs::path path = dir_->path() / "spread.tsv";
  testing::write_file(path, text);
  explain::Options options;
  options.rows = kExplainedRows;
  options.samples = kSamples;
  options.seed = 7;
  options.threads = 2;
  Json report = Json::parse(explain::to_json(explain::explain(model(), checkpoint_->meta,
                                                              (*json_)["summary"]["model"].get<std::string>(),
                                                              path, options)).dump());
  Json expected = *json_;
  expected["summary"]["data"] = path.string();
  ASSERT_FALSE(expected["din"]["attentions"][0]["samples"].empty());
  EXPECT_EQ(report, expected);
}

TEST_F(ExplainFullModel, NumbersMatchADirectForwardPass) {
  {  // metrics: those of eval on the same rows
    const Evaluation e = evaluate_dataset(model(), explained_rows(), 1);
    EXPECT_DOUBLE_EQ((*json_)["summary"]["metrics"]["auc"].get<double>(), e.overall.auc);
    EXPECT_DOUBLE_EQ((*json_)["summary"]["metrics"]["logloss"].get<double>(), e.overall.logloss);
  }
  {  // SENet: mean and std of every field
    // Every explained row scored directly, the weights kept, mean and std computed in two passes.
    Model& m = model();
    const Dataset data = explained_rows();
    BatchBuilder builder(m.schema(), m.config().embedding);
    auto ws = m.make_workspace(256);
    const Senet& senet = *m.senet();
    const auto n = senet.gated_fields().size();
    std::vector<std::vector<double>> weights(n);
    Batch batch;
    std::vector<std::size_t> rows;
    for (std::size_t start = 0; start < data.rows; start += 256) {
      rows.resize(std::min<std::size_t>(256, data.rows - start));
      std::iota(rows.begin(), rows.end(), start);
      builder.build(data, rows, false, nullptr, m.tables(), m.normalizer(), batch);
      m.forward(batch, 0, static_cast<Index>(rows.size()), *ws, false);
      const ConstMatrixView w = ws->senet_weights();
      for (Index i = 0; i < w.rows(); ++i)
        for (std::size_t g = 0; g < n; ++g) weights[g].push_back(w(i, static_cast<Index>(g)));
    }
    std::map<std::string, const Json*> listed;
    for (const Json& f : (*json_)["senet"]["fields"]) listed[f["name"].get<std::string>()] = &f;
    for (std::size_t g = 0; g < n; ++g) {
      const std::vector<double>& v = weights[g];
      const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
      double squares = 0;
      for (double x : v) squares += (x - mean) * (x - mean);
      const double stddev = std::sqrt(squares / static_cast<double>(v.size()));
      std::string name;
      for (const FeatureInfo& f : m.schema().features)
        if (f.field == senet.gated_fields()[g]) name = f.name;
      ASSERT_TRUE(listed.count(name)) << name;
      EXPECT_NEAR((*listed[name])["mean"].get<double>(), mean, 1e-9) << name;
      EXPECT_NEAR((*listed[name])["std"].get<double>(), stddev, 1e-9) << name;
      EXPECT_DOUBLE_EQ((*listed[name])["min"].get<double>(), *std::min_element(v.begin(), v.end()))
          << name;
    }
    // Row 0 on its own gives the same weights as in its chunk (up to rounding).
    rows = {0};
    builder.build(data, rows, false, nullptr, m.tables(), m.normalizer(), batch);
    m.forward(batch, 0, 1, *ws, false);
    for (std::size_t g = 0; g < n; ++g)
      EXPECT_NEAR(ws->senet_weights()(0, static_cast<Index>(g)), weights[g][0], 1e-5);
  }
}

TEST_F(ExplainFullModel, SenetRanksThePlantedNoiseFieldsInTheBottomHalf) {
  // Measured (docs/synth.md plants noise_a/b/c, 10, 100 and 1000 values, read by nothing): after
  // this short training every weight is still near the 0.5 the sigmoid starts at, and noise_a
  // and noise_b rank in the bottom half under every seed tried. noise_c, whose 1000 values
  // can memorize the training labels, does not reliably: ranks 5 to 9 of 14 over train.seed 1-3
  // (rank 9 of 14 on a 200k-row, 4-epoch demo run). It is reported, not asserted.
  if (testing::kSanitizerBuild) GTEST_SKIP() << "what the model learned needs the full run (Release suite)";
  const Json& fields = (*json_)["senet"]["fields"];
  std::map<std::string, std::size_t> rank;
  for (std::size_t i = 0; i < fields.size(); ++i)
    rank[fields[i]["name"].get<std::string>()] = i + 1;
  for (const char* noise : {"noise_a", "noise_b"})
    EXPECT_GT(rank[noise], fields.size() / 2)
        << noise << " ranks " << rank[noise] << " of " << fields.size();
  RecordProperty("noise_c_rank", std::to_string(rank["noise_c"]));
}

// Permutation importance on the demo model: the planted noise fields, read by nothing in
// docs/synth.md's process, lose next to nothing when shuffled, far less than the fields the
// process reads; the page shows it beside SENet's weight.
TEST_F(ExplainFullModel, PermutationImportancePutsThePlantedNoiseFarBelowTheSignal) {
  const Json& imp = (*json_)["importance"];
  ASSERT_TRUE(imp["available"].get<bool>());
  EXPECT_EQ(imp["shuffles"], 3);
  std::map<std::string, double> drop;
  for (const Json& f : imp["fields"]) drop[f["name"].get<std::string>()] = f["auc_drop"]["mean"];
  EXPECT_EQ(drop.size(), 13u);  // 14 features, the history and its companion shuffled together
  if (testing::kSanitizerBuild) GTEST_SKIP() << "what the model learned needs the full run";
  const double top = imp["fields"][0]["auc_drop"]["mean"];
  EXPECT_GT(top, 0.01);
  for (const char* noise : {"noise_a", "noise_b", "noise_c"})
    EXPECT_LT(drop[noise], top / 10) << noise;
  EXPECT_THAT(*html_, HasSubstr("Field importance by permutation"));
}

// Every page fits the two common screen widths: no horizontal scrolling, no SVG label drawn
// over another or cut off, nothing on the browser console.
TEST_F(ExplainFullModel, PageFitsA1400And1920PixelScreen) {
  if (!testing::have_chromium())
    GTEST_SKIP() << testing::kChromium << " not found: install Debian's chromium";
  testing::expect_page_fits_common_screens(dir_->path() / "report.html", dir_->path() / "layout");
}

// A hand-made explanation: rendering alone, no model needed.
explain::Explanation small_explanation() {
  explain::Explanation e;
  e.summary.model_path = "runs/<demo>/model";
  e.summary.data_path = "data/test.tsv";
  e.summary.rows = e.summary.file_rows = 3;
  e.summary.senet = e.summary.din = e.summary.poso = true;
  e.senet.enabled = true;
  e.senet.axis = "field";
  e.senet.gate = "sigmoid";
  e.senet.fields = {{"item", 0.7, 0.1, 0.5, 0.9, {}}, {"noise", 0.3, 0.05, 0.2, 0.4, {}}};
  explain::DinReport din;
  din.name = "history";
  din.key_features = {"history"};
  din.query_features = {"item"};
  din.weight.add(0.5);
  din.by_recency.resize(1);
  din.by_recency[0].add(0.5);
  explain::DinSample sample;
  sample.line = 2;
  sample.query = {"<script>alert(1)</script>"};
  sample.history = {{{"a&b\"c'd"}, 0.5}};
  sample.pc_value = "<i>new</i>";
  din.samples.push_back(sample);
  e.din.push_back(din);
  e.poso.enabled = true;
  e.poso.features = {"group"};
  e.poso.scale = 2;
  explain::PosoLayer layer;
  layer.width = 2;
  layer.gated = true;
  explain::PosoValue value;
  value.value = "<b>new</b>";
  value.rows = 1;
  value.gate.add(0.8);
  value.gate.add(1.2);
  value.histogram = explain::Histogram(0, 2, 100);
  value.histogram.add(0.8);
  value.histogram.add(1.2);
  value.neuron_means = {0.8, 1.2};
  layer.values.push_back(value);
  e.poso.layers.push_back(layer);
  return e;
}

TEST(ExplainReport, EveryRawStringIsEscaped) {
  const std::string page = explain::render_html(small_explanation());
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(page, HasSubstr("a&amp;b&quot;c&#39;d"));
  EXPECT_THAT(page, HasSubstr("&lt;b&gt;new&lt;/b&gt;"));
  EXPECT_THAT(page, HasSubstr("&lt;i&gt;new&lt;/i&gt;"));
  EXPECT_THAT(page, HasSubstr("runs/&lt;demo&gt;/model"));
}

// Real logs name their fields at length (new_user_class_level, ...): the features table wraps
// a long name rather than spill out of its card.
TEST(ExplainReport, LongFeatureNamesStayInsideTheirCard) {
  if (!testing::have_chromium()) GTEST_SKIP() << testing::kChromium << " not found: install Debian's chromium";
  explain::Explanation e = small_explanation();
  for (const char* name : {"user_id", "new_user_class_level", "historical_category_sequence_of_the_user_by_day",
                           "advertisement_campaign_identifier"})
    e.summary.features.push_back({name, "categorical", name, name, "", static_cast<int>(e.summary.features.size())});
  testing::TempDir dir("explain_long_names");
  testing::write_file(dir.path() / "report.html", explain::render_html(e));
  testing::expect_page_fits_common_screens(dir.path() / "report.html", dir.path() / "layout");
}

TEST(ExplainReport, SenetAxisDimShowsDimensionsAndNoFieldRanking) {
  explain::Explanation e = small_explanation();
  e.senet.axis = "dim";
  e.senet.fields.clear();
  e.senet.dims = {{"dim 0", 0.6, 0.1, 0.4, 0.8, {}}, {"dim 1", 0.4, 0.1, 0.2, 0.6, {}}};
  const std::string page = explain::render_html(e);
  EXPECT_THAT(page, HasSubstr("axis = dim"));
  EXPECT_THAT(page, HasSubstr(">dim 0</text>"));
  EXPECT_THAT(page, HasSubstr("no per-field importance"));
  const Json j = Json::parse(explain::to_json(e).dump());
  EXPECT_EQ(j["senet"]["dims"].size(), 2u);
  EXPECT_TRUE(j["senet"]["fields"].empty());
}

TEST(ExplainPlainDnn, PageSaysEveryModuleIsOff) {
  testing::TempDir dir("explain_plain");
  // Every module off: no SENet, no POSO, and the history mean-pooled (its companion then
  // loses its DIN role and takes the default pooling of a sequence).
  synth::Options data;
  data.out = dir.path() / "small";
  data.rows = 4000;
  data.seed = 2;
  synth::generate(data);
  const Config config = load_config(
      kSource / "examples/synth/config.toml",
      {setting("data.dir", data.out), "train.epochs=1", "train.threads=2", "train.progress=none",
       "senet.enabled=false", "poso.enabled=false", "features.hist_item_ids.pooling=mean",
       "features.hist_item_ids.query=[]", "features.hist_item_ids.attend_with=[]"});
  TrainOptions run;
  run.run_dir = dir.path() / "plain";
  train(config, run);

  // Through the command line, which writes the JSON beside the page.
  const fs::path page = dir.path() / "plain_report" / "page.html";
  const auto r = testing::run_command(
      testing::heed_binary() + " explain " + quoted(run.run_dir / "model") + " --data " +
          quoted(data.out / "test.tsv") + " --out " + quoted(page) + " --threads 1",
      dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string html = testing::read_file(page);
  const Json j = Json::parse(testing::read_file(dir.path() / "plain_report" / "page.json"));
  EXPECT_THAT(html, HasSubstr("SENet is off"));
  EXPECT_THAT(html, HasSubstr("DIN is off"));
  EXPECT_THAT(html, HasSubstr("POSO is off"));
  EXPECT_EQ(j["summary"]["modules"], Json({{"senet", false}, {"din", false}, {"poso", false}}));
  EXPECT_EQ(j["senet"], Json({{"enabled", false}}));
  EXPECT_EQ(j["din"], Json({{"enabled", false}, {"attentions", Json::array()}}));
  EXPECT_EQ(j["poso"], Json({{"enabled", false}}));
  EXPECT_EQ(j["summary"]["rows"], 400);
}

// The page as a browser shows it: Debian's chromium, headless, with a fresh profile and no
// network use of its own.
std::string chromium(const fs::path& profile) {
  std::string c = "timeout 90 ";
  c += kChromium.string();
  c += " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
       "--disable-background-networking"
       " --disable-component-update --disable-sync --user-data-dir=";
  c += quoted(profile);
  c += " ";
  return c;
}

TEST_F(ExplainFullModel, PageRendersInAHeadlessBrowserWithTheRankedFieldsAndCharts) {
  for (const char* section :
       {"id=\"summary\"", "id=\"senet\"", "id=\"din\"", "id=\"poso\"", "<svg"})
    EXPECT_THAT(*html_, HasSubstr(section));
  for (const char* external : {"<script", "<link", "<img", "@import", "url(", "https://"})
    EXPECT_THAT(*html_, Not(HasSubstr(external))) << "the page loads nothing: " << external;
  if (!fs::exists(kChromium))
    GTEST_SKIP()
        << kChromium
        << " not found: install Debian's chromium (scripts/install-deps.sh does) to render "
        << "the explain report in a headless browser";
  const fs::path page = dir_->path() / "report.html";
  std::string file_url = "file://";
  file_url += page.string();
  const fs::path url = file_url;

  auto r = testing::run_command(
      chromium(dir_->path() / "profile_dom") + "--dump-dom " + quoted(url), dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string& dom = r.out;
  EXPECT_THAT(dom, HasSubstr("SENet field importance"));
  std::size_t svgs = 0;
  for (std::size_t at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1))
    ++svgs;
  EXPECT_GE(svgs, 5u) << "SENet bars, DIN positions, POSO strips, histograms and profiles";
  // The SENet chart names the fields in rank order.
  const std::size_t senet = dom.find("id=\"senet\""), din = dom.find("id=\"din\"");
  ASSERT_NE(senet, std::string::npos);
  ASSERT_NE(din, std::string::npos);
  const std::string section = dom.substr(senet, din - senet);
  std::size_t last = 0;
  for (const Json& f : (*json_)["senet"]["fields"]) {
    std::string label = ">";
    label += f["name"].get<std::string>();
    label += "</text>";
    const std::size_t at = section.find(label);
    ASSERT_NE(at, std::string::npos) << label;
    EXPECT_GT(at, last) << label << " out of rank order";
    last = at;
  }

  const fs::path shot = dir_->path() / "shot.png";
  std::string command = chromium(dir_->path() / "profile_shot");
  command += "--window-size=1200,2000 --screenshot=";
  command += quoted(shot);
  command += " ";
  command += quoted(url);
  r = testing::run_command(command, dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string png = testing::read_file(shot);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 3]));
  };
  EXPECT_EQ(be32(16), 1200u);  // IHDR width
  EXPECT_EQ(be32(20), 2000u);  // IHDR height
  EXPECT_GT(png.size(), 50'000u) << "a drawn page, not a blank one";
}

}  // namespace
}  // namespace heed
