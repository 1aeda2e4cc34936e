// The served scores (the model's per-user schedule behind /v1/score) equal the plain forward's
// (`heed predict`: every candidate a full row through Model::forward) to 1e-6 for every value
// of every model-shaping option. The variants are generated, not picked: the choices of each
// enumerated option are read from its declaration (src/config/options.cpp), and a coverage test
// fails when a model-shaping option, or a choice of one, has no variant here, so a new option
// cannot skip the comparison. Each variant is scored with the user's history shared, with a
// history per candidate, and with nothing shared, and in every scoring precision (fp32, bf16,
// int8: the reduced ones on this CPU's kernels, and once on the portable fallback).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "config/options.h"
#include "core/error.h"
#include "core/lowp.h"
#include "serve/request_scorer.h"
#include "serve/score_request.h"
#include "serve/served_model.h"
#include "serve_support.h"

namespace heed {
namespace {

using Json = nlohmann::json;
using Settings = std::vector<std::string>;

// One value of an option and the --set lines that build a valid model with it.
struct Value {
  std::string name;  // for an enumerated option: the choice as declared
  Settings settings;
};
struct ShapingOption {
  std::string key;  // a run option ("senet.axis") or a feature option ("features.pooling")
  std::vector<Value> values;
};

// The model-shaping options and their values. An enumerated option lists each declared choice.
const std::vector<ShapingOption>& shaping_options() {
  static const std::vector<ShapingOption> table = {
      {"embedding.dim", {{"3", {"embedding.dim=3"}}}},
      {"embedding.buckets", {{"0", {}}, {"hashed", {"embedding.buckets=64"}}}},
      {"embedding.unseen", {{"zero", {"embedding.unseen=\"zero\""}}, {"default", {"embedding.unseen=\"default\""}}}},
      {"embedding.multi_pooling",
       {{"sum", {"embedding.multi_pooling=\"sum\""}},
        {"mean", {"embedding.multi_pooling=\"mean\""}},
        {"sqrtn", {"embedding.multi_pooling=\"sqrtn\""}}}},
      {"embedding.sequence_pooling",
       {{"sum", {"embedding.sequence_pooling=\"sum\""}},
        {"mean", {"embedding.sequence_pooling=\"mean\""}},
        {"sqrtn", {"embedding.sequence_pooling=\"sqrtn\""}}}},
      {"model.hidden",
       {{"none", {"model.hidden=[]", "poso.enabled=false"}}, {"one", {"model.hidden=[6]"}}, {"two", {}}}},
      {"model.activation", {{"relu", {"model.activation=\"relu\""}}, {"prelu", {"model.activation=\"prelu\""}}}},
      {"senet.enabled", {{"on", {}}, {"off", {"senet.enabled=false"}}}},
      {"senet.axis",
       {{"field", {"senet.axis=\"field\""}}, {"dim", {"senet.axis=\"dim\""}}, {"element", {"senet.axis=\"element\""}}}},
      {"senet.squeeze",
       {{"mean", {"senet.squeeze=\"mean\""}},
        {"dense", {"senet.squeeze=\"dense\""}},
        {"dense, axis dim", {"senet.squeeze=\"dense\"", "senet.axis=\"dim\""}}}},
      {"senet.gate",
       {{"sigmoid", {"senet.gate=\"sigmoid\""}}, {"relu", {"senet.gate=\"relu\""}}, {"none", {"senet.gate=\"none\""}}}},
      {"senet.reduction", {{"1", {"senet.reduction=1"}}, {"5", {"senet.reduction=5"}}}},
      {"senet.fields",
       {{"all", {}},
        {"a subset", {"senet.fields=[\"item\", \"user\", \"count\"]"}},
        {"a subset, axis element", {"senet.fields=[\"user\", \"genres\"]", "senet.axis=\"element\""}}}},
      {"din.enabled", {{"on", {}}, {"off", {"din.enabled=false"}}}},
      {"din.hidden", {{"none", {"din.hidden=[]"}}, {"one", {"din.hidden=[5]"}}}},
      {"din.activation", {{"prelu", {"din.activation=\"prelu\""}}, {"dice", {"din.activation=\"dice\""}}}},
      {"din.normalize",
       {{"raw", {"din.normalize=\"raw\""}},
        {"softmax", {"din.normalize=\"softmax\""}},
        {"mean", {"din.normalize=\"mean\""}},
        {"sqrtn", {"din.normalize=\"sqrtn\""}}}},
      {"poso.enabled", {{"on", {}}, {"off", {"poso.enabled=false"}}}},
      {"poso.features",
       {{"the user's", {}},
        {"a dense-bucketized field", {"poso.features=[\"user\", \"count\"]"}},
        {"a candidate's", {"poso.features=[\"item\"]"}},
        {"an attention-pooled one", {"poso.features=[\"user\", \"history\"]"}}}},
      {"poso.layers", {{"all", {}}, {"the second", {"poso.layers=[1]"}}}},
      {"poso.gate_hidden", {{"2", {"poso.gate_hidden=2"}}}},
      {"poso.scale", {{"3", {"poso.scale=3.0"}}}},
      {"poso.all_fields", {{"off", {}}, {"on", {"poso.all_fields=true"}}, {"on, first layer", {"poso.all_fields=true", "poso.layers=[0]"}}}},
      // Read from the config here; every variant is also loaded in each precision below.
      {"scoring.precision",
       {{"fp32", {"scoring.precision=\"fp32\""}},
        {"bf16", {"scoring.precision=\"bf16\""}},
        {"int8", {"scoring.precision=\"int8\""}}}},
      // Feature options: the base schema holds a feature of every kind.
      {"features.kind", {{"categorical", {}}, {"multi", {}}, {"sequence", {}}, {"numeric", {}}}},
      {"features.pooling",
       {{"", {}},
        {"sum", {"features.genres.pooling=\"sum\""}},
        {"mean", {"features.genres.pooling=\"mean\"", "features.tags.pooling=\"mean\""}},
        {"sqrtn", {"features.genres.pooling=\"sqrtn\""}},
        {"din", {}}}},
      {"features.max_len", {{"unbounded", {"features.history.max_len=0"}}, {"short", {"features.history.max_len=4"}}}},
      {"features.transform",
       {{"none", {"features.price.transform=\"none\""}},
        {"log1p", {"features.price.transform=\"log1p\""}},
        {"standardize", {"features.price.transform=\"standardize\""}},
        {"minmax", {"features.price.transform=\"minmax\""}}}},
      {"features.bucketize",
       {{"", {"features.count.bucketize=\"\""}},
        {"log2", {"features.count.bucketize=\"log2\"", "poso.features=[\"user\", \"count\"]"}},
        {"boundaries", {"features.count.bucketize=\"boundaries\"", "features.count.boundaries=[3.0, 30.0, 300.0]"}},
        {"quantile", {"features.count.bucketize=\"quantile\"", "features.count.boundaries=[10.0, 100.0]"}}}},
      {"features.boundaries", {{"three", {"features.count.bucketize=\"boundaries\"", "features.count.boundaries=[1.0, 50.0, 500.0]"}}}},
      {"features.quantiles", {{"4", {"features.count.bucketize=\"quantile\"", "features.count.quantiles=4"}}}},
      {"features.query", {{"a pair", {}}}},
      {"features.attend_with",
       {{"none", {"features.history.attend_with=[]", "features.history.query=[\"item\"]"}}, {"aligned", {}}}},
      {"features.table", {{"shared with the query", {}}, {"a table of its own", {"features.history.table=\"history\""}}}},
  };
  return table;
}

// Options under the model's sections that do not change what a trained model computes.
const std::map<std::string, std::string>& not_shaping() {
  static const std::map<std::string, std::string> reasons = {
      {"embedding.init_std", "initial values only"},
      {"embedding.default_rate", "how training routes lookups to the default row"},
      {"model.dropout", "training only"},
      {"senet.weight_l1", "a training penalty"},
      {"features.column", "where a value is read from"},
      {"features.separator", "how a cell is split"},
      {"features.padding", "which of a cell's values are read"},
  };
  return reasons;
}

// Run options outside the model's sections: how data is read, how training and evaluation run.
// A section not listed here counts as model-shaping, so a new module's options need variants.
bool in_model_section(const std::string& key) {
  for (const char* section : {"data.", "optimizer.", "train.", "eval."})
    if (key.rfind(section, 0) == 0) return false;
  return true;
}

// The choices a string option declares, read from the error it gives for a value it cannot
// take; empty for an option that takes free text.
template <class Owner>
std::vector<std::string> declared_choices(const Option<Owner>& option) {
  if (!option.takes_string() && option.key != "kind") return {};
  Owner owner;
  option.reset(owner);
  std::string message;
  try {
    option.assign(owner, toml::value<std::string>("\x01not-a-choice"), option.key);
    return {};
  } catch (const Error& e) {
    message = e.what();
  }
  std::vector<std::string> choices;
  if (auto at = message.find("one of "); at != std::string::npos) {  // "must be one of "a", "b""
    for (std::size_t open = message.find('"', at); open != std::string::npos;) {
      const std::size_t close = message.find('"', open + 1);
      choices.push_back(message.substr(open + 1, close - open - 1));
      open = message.find('"', close + 1);
    }
  } else if (auto paren = message.find("kind ("); paren != std::string::npos) {  // "(a, b, c)"
    std::string list = message.substr(paren + 6, message.find(')', paren) - paren - 6);
    for (std::size_t start = 0; start <= list.size();) {
      const std::size_t comma = std::min(list.find(", ", start), list.size());
      choices.push_back(list.substr(start, comma - start));
      start = comma + 2;
    }
  }
  return choices;
}

TEST(ForwardParity, CoversEveryModelShapingOptionAndEveryDeclaredChoice) {
  std::map<std::string, const ShapingOption*> table;
  for (const ShapingOption& o : shaping_options()) {
    EXPECT_TRUE(table.emplace(o.key, &o).second) << o.key << " is listed twice";
    EXPECT_FALSE(not_shaping().count(o.key)) << o.key << " is listed as shaping and as not";
  }
  std::set<std::string> declared;
  auto check = [&](const std::string& key, const std::vector<std::string>& choices) {
    declared.insert(key);
    auto it = table.find(key);
    if (it == table.end()) {
      EXPECT_TRUE(not_shaping().count(key)) << key << ": add its values to shaping_options() (or, if it does not "
                                                      "change what a trained model computes, to not_shaping())";
      return;
    }
    if (choices.empty()) return;
    std::set<std::string> covered;
    for (const Value& v : it->second->values) covered.insert(v.name);
    for (const std::string& c : choices) EXPECT_TRUE(covered.count(c)) << key << ": no variant for choice \"" << c << "\"";
  };
  std::size_t enumerated = 0;
  for (const Option<Config>& o : run_options()) {
    if (!in_model_section(o.key)) continue;
    const auto choices = declared_choices(o);
    enumerated += !choices.empty();
    check(o.key, choices);
  }
  for (const Option<FeatureConfig>& o : feature_options()) {
    const auto choices = declared_choices(o);
    enumerated += !choices.empty();
    check("features." + o.key, choices);
  }
  // The choices were read: the declarations enumerate at least these (a reader that finds none
  // would let every enumerated option pass unchecked).
  EXPECT_GE(enumerated, 12u);
  for (const auto& [key, option] : table) EXPECT_TRUE(declared.count(key)) << key << " is not a declared option";
  for (const auto& [key, reason] : not_shaping()) EXPECT_TRUE(declared.count(key)) << key << " is not a declared option";
}

class ForwardParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("forward_parity");
    std::string rows = "user\titem\tcategory\tgenres\ttags\thistory\thist_cat\tprice\tcount\n";
    for (int i = 0; i < 200; ++i)
      rows += fmt::format("u{}\t{}\tc{}\tg{}|g{}\tt{}|t{}\t{}\tc{}\t{}\t{}\n", i % 10, i, i % 6, i % 7, i % 5 + 7, i % 4,
                          (i + 1) % 4, (i + 1) % 200, (i + 1) % 6, i % 13, i * 3);
    testing::write_file(dir_->path() / "rows.tsv", rows);
  }
  static void TearDownTestSuite() { delete dir_; }

  // Every module on, a feature of every kind: DIN over the history with its aligned categories
  // (the candidate's item and category as the query), SENet on every field, POSO fed by the user.
  static std::string config_text() {
    return fmt::format(
        "[data]\ndir = \"{}\"\ntrain = \"train.tsv\"\ntest = \"test.tsv\"\n"
        "[features.user]\n[features.item]\n[features.category]\n"
        "[features.genres]\nkind = \"multi\"\n"
        "[features.tags]\nkind = \"sequence\"\n"
        "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 12\npooling = \"din\"\n"
        "query = [\"item\", \"category\"]\nattend_with = [\"hist_cat\"]\n"
        "[features.hist_cat]\nkind = \"sequence\"\ntable = \"category\"\n"
        "[features.price]\nkind = \"numeric\"\ntransform = \"standardize\"\n"
        "[features.count]\nkind = \"numeric\"\nbucketize = \"log2\"\n"
        "[embedding]\ndim = 4\ninit_std = 0.5\n"
        "[din]\nhidden = [6, 4]\nactivation = \"dice\"\n"
        "[senet]\nenabled = true\n"
        "[poso]\nenabled = true\nfeatures = [\"user\"]\n"
        "[model]\nhidden = [8, 6]\n"
        "[train]\nepochs = 1\nthreads = 1\nprogress = \"none\"\n",
        dir_->path().string());
  }

  // The model file of a variant; load() it in a precision.
  static std::filesystem::path model_file(const Settings& settings, const std::string& name) {
    const Config config = parse_config(config_text(), "parity.toml", settings);
    const auto path = dir_->path() / name;
    testing::write_keyed_model(path, config, dir_->path() / "rows.tsv");
    return path;
  }

  // Served and plain scores of every layout agree to 1e-6; returns the served scores, layout
  // after layout.
  static std::vector<float> check_parity(const serve::ServedModel& model) {
    std::vector<float> all;
    serve::RequestScorer scorer(model.model());
    for (const auto& [layout, body] : requests()) {
      SCOPED_TRACE(layout);
      const serve::ScoreRequest request = serve::parse_score_request(body.dump(), model, serve::Limits{});
      serve::Explanation explanation;
      const std::vector<float> served = scorer.score(serve::encode_request(request, model), &explanation);
      const std::vector<float> plain = serve::score_plain(request, model);
      EXPECT_EQ(served.size(), plain.size());
      if (served.size() != plain.size()) return all;
      for (std::size_t i = 0; i < served.size(); ++i) EXPECT_NEAR(served[i], plain[i], 1e-6) << "candidate " << i;
      const auto [lo, hi] = std::minmax_element(plain.begin(), plain.end());
      EXPECT_GT(*hi - *lo, 1e-4) << "the candidates should score differently";
      EXPECT_EQ(scorer.score(serve::encode_request(request, model)), served) << "the scorer reused";
      all.insert(all.end(), served.begin(), served.end());
    }
    return all;
  }

  static Json history(int length, int offset) {
    Json h = Json::array();
    for (int j = 0; j < length; ++j) h.push_back(j == 5 ? "never-seen" : std::to_string((offset + 7 * j) % 200));
    return h;
  }
  static Json hist_cat(int length, int offset) {
    Json h = Json::array();
    for (int j = 0; j < length; ++j) h.push_back(fmt::format("c{}", (offset + j) % 6));
    return h;
  }
  // Candidate i's own fields; `with` adds the named user-side fields to every candidate.
  static Json candidate(int i) {
    return Json{{"item", i == 3 ? "unknown-item" : std::to_string((i * 37) % 200)},
                {"category", fmt::format("c{}", i % 6)},
                {"genres", i % 4 == 0 ? Json::array() : Json::array({fmt::format("g{}", i % 7), "g9"})},
                {"tags", Json::array({fmt::format("t{}", i % 4)})},
                {"price", i % 5 == 1 ? Json(nullptr) : Json(i * 0.75)}};
  }
  static Json user_fields(int length) {
    return Json{{"user", "u4"}, {"history", history(length, 3)}, {"hist_cat", hist_cat(length, 3)}, {"count", 12}};
  }

  // The three layouts of one user's 40 candidates.
  static std::vector<std::pair<std::string, Json>> requests() {
    std::vector<std::pair<std::string, Json>> out;
    Json shared{{"user", user_fields(20)}, {"candidates", Json::array()}};
    for (int i = 0; i < 40; ++i) shared["candidates"].push_back(candidate(i));
    out.emplace_back("the user's history shared", shared);

    Json per_candidate{{"user", {{"user", "u7"}, {"price", 2.5}}}, {"candidates", Json::array()}};
    for (int i = 0; i < 40; ++i) {
      Json c = candidate(i);
      c.erase("price");
      c["history"] = history(i % 9, i);
      c["hist_cat"] = hist_cat(i % 9, i);
      c["count"] = i * 5;
      per_candidate["candidates"].push_back(c);
    }
    out.emplace_back("a history per candidate", per_candidate);

    Json nothing_shared{{"user", Json::object()}, {"candidates", Json::array()}};
    for (int i = 0; i < 40; ++i) {
      Json c = candidate(i);
      c.update(user_fields(i % 15));
      nothing_shared["candidates"].push_back(c);
    }
    out.emplace_back("nothing shared", nothing_shared);
    return out;
  }

  static testing::TempDir* dir_;
};

testing::TempDir* ForwardParityTest::dir_ = nullptr;

TEST_F(ForwardParityTest, ServedScoresEqualThePlainForwardForEveryValueOfEveryShapingOption) {
  int variants = 0;
  for (const ShapingOption& option : shaping_options()) {
    for (const Value& value : option.values) {
      SCOPED_TRACE(option.key + " = " + value.name);
      const auto path = model_file(value.settings, fmt::format("model{}", variants++));
      const auto model = serve::ServedModel::load(path);  // the config's precision
      const std::vector<float> configured = check_parity(*model);
      std::vector<float> fp32;
      for (const char* precision : {"fp32", "bf16", "int8"}) {
        SCOPED_TRACE(precision);
        const auto loaded = serve::ServedModel::load(path, precision);
        EXPECT_EQ(choice_name(loaded->model().precision()), std::string(precision));
        const std::vector<float> scores = check_parity(*loaded);
        if (choice_name(model->model().precision()) == std::string(precision)) {
          EXPECT_EQ(scores, configured) << "--precision names the config's precision";
        }
        if (std::string(precision) == "fp32") {
          fp32 = scores;
          continue;
        }
        // Reduced precision changes the numbers, a little (the products are really reduced).
        float largest = 0.0f;
        for (std::size_t i = 0; i < scores.size() && i < fp32.size(); ++i)
          largest = std::max(largest, std::abs(scores[i] - fp32[i]));
        EXPECT_GT(largest, 0.0f);
        EXPECT_LT(largest, 0.05f);
      }
    }
  }
  EXPECT_GE(variants, 60);
}

// The portable kernels (a CPU without AVX512-BF16/VNNI, or HEED_LOWP_ISA=portable) keep the
// parity, and compute what this CPU's units do: int8 sums are exact; bf16 products follow
// vdpbf16ps; the sigmoid is exact there and within 5e-7 here.
TEST_F(ForwardParityTest, ThePortableKernelsKeepTheParityAndTheScores) {
  const auto path = model_file({}, "portable");
  for (const char* precision : {"bf16", "int8"}) {
    SCOPED_TRACE(precision);
    const auto model = serve::ServedModel::load(path, precision);
    const std::vector<float> native = check_parity(*model);
    lowp::force_portable(true);
    const std::vector<float> portable = check_parity(*model);
    lowp::force_portable(false);
    ASSERT_EQ(native.size(), portable.size());
    for (std::size_t i = 0; i < native.size(); ++i) EXPECT_NEAR(native[i], portable[i], 1e-5) << i;
  }
}

TEST(ScoringPrecision, ANameThatIsNotAPrecisionIsRefusedNamingTheChoices) {
  EXPECT_EQ(scoring_precision(Config{}, ""), Precision::kFp32);
  EXPECT_EQ(scoring_precision(Config{}, "bf16"), Precision::kBf16);
  EXPECT_EQ(scoring_precision(Config{}, "int8"), Precision::kInt8);
  Config bf16;
  bf16.scoring.precision = Precision::kBf16;
  EXPECT_EQ(scoring_precision(bf16, ""), Precision::kBf16);
  EXPECT_EQ(scoring_precision(bf16, "fp32"), Precision::kFp32);
  try {
    scoring_precision(Config{}, "fp16");
    FAIL() << "fp16 accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--precision: 'fp16' is not a precision; choose fp32, bf16 or int8");
  }
}

}  // namespace
}  // namespace heed
