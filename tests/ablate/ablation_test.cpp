// A tiny ablation end to end on `heed synth` data: the reports' structure, every figure traced
// back to its own variant's trained model, resuming without retraining finished runs, and the
// statistics the reports are built from.
#include "ablate/ablation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>
#include <nlohmann/json.hpp>

#include "../support/browser.h"
#include "../support/test_files.h"
#include "ablate/ablation_report.h"
#include "ablate/ablation_summary.h"
#include "ablate/seed_stats.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "data/dataset_loader.h"
#include "eval/evaluation.h"
#include "prepare/synth/synth_generator.h"

namespace heed::ablate {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

class AblationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("ablate");
    synth::generate({.out = dir_->path() / "data", .rows = 8000, .seed = 3});
  }
  static void TearDownTestSuite() { delete dir_; }

  // The demo config, made small and fast.
  static Config config(std::vector<std::string> overrides = {}) {
    std::vector<std::string> all = {"data.dir=" + (dir_->path() / "data").string(),
                                    "train.epochs=1",
                                    "model.hidden=[16]",
                                    "embedding.dim=4",
                                    "din.hidden=[8]",
                                    "poso.gate_hidden=8",
                                    "train.threads=1",
                                    "train.progress=none"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    return load_config(std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml", all);
  }

  static AblationOptions options(const std::string& out, std::vector<std::uint64_t> seeds,
                                 std::vector<std::string> variants) {
    AblationOptions o;
    o.out = dir_->path() / out;
    o.seeds = std::move(seeds);
    o.variants = std::move(variants);
    return o;
  }

  // Runs the ablation and writes its reports, as `heed ablate` does.
  static AblationResult ablate(const Config& c, const AblationOptions& o) {
    AblationResult result = run_ablation(c, o);
    write_ablation_reports(o.out, result, summarize(result));
    return result;
  }

  static testing::TempDir* dir_;
};

testing::TempDir* AblationTest::dir_ = nullptr;

TEST_F(AblationTest, ReportsFiguresOfEachVariantsOwnModel) {
  const AblationOptions o = options("e2e", {1, 2}, {"plain", "din", "full"});
  ablate(config(), o);

  // ablation.md: a row per variant with the columns, the other tables and the recommendation.
  const std::string md = testing::read_file(o.out / "ablation.md");
  EXPECT_THAT(
      md,
      HasSubstr("| variant | modules | test AUC | Δ AUC vs plain | test gAUC | Δ gAUC vs plain | "
                "test logloss | Δ logloss vs plain | valid AUC | valid logloss | train s | parameters |"));
  EXPECT_THAT(md, HasSubstr("| plain | plain | "));
  EXPECT_THAT(md, HasSubstr("| din | DIN | "));
  EXPECT_THAT(md, HasSubstr("| full | SENet + DIN + POSO | "));
  EXPECT_THAT(md, HasSubstr("## Test AUC per user_group"));
  EXPECT_THAT(md, HasSubstr("| user_group = active | Δ vs plain | user_group = new | Δ vs plain |"));
  EXPECT_THAT(md, HasSubstr("## Recommendation\n\nRecommendation: "));
  EXPECT_THAT(md, HasSubstr("95% paired Student-t"));

  const std::string html = testing::read_file(o.out / "ablation.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("stroke-dasharray"));  // the plain model's line
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);

  const Json j = Json::parse(testing::read_file(o.out / "ablation.json"));
  EXPECT_EQ(j["seeds"], Json::array({1, 2}));
  EXPECT_EQ(j["slice"], "user_group");
  ASSERT_EQ(j["variants"].size(), 3u);
  std::vector<std::string> names;
  for (const Json& v : j["variants"]) names.push_back(v["name"]);
  EXPECT_THAT(names, ElementsAre("plain", "din", "full"));

  const fs::path test_file = dir_->path() / "data" / "test.tsv";
  std::map<std::string, std::int64_t> dense_parameters;
  for (const Json& v : j["variants"]) {
    const std::string name = v["name"];
    SCOPED_TRACE(name);
    ASSERT_EQ(v["runs"].size(), 2u);
    std::vector<double> aucs;
    for (const Json& run : v["runs"]) {
      const std::uint64_t seed = run["seed"];
      const fs::path run_dir = o.out / name / ("seed-" + std::to_string(seed));
      EXPECT_EQ(run["dir"], name + "/seed-" + std::to_string(seed));
      EXPECT_EQ(run["status"], "trained");
      // The figure is this run's own model's, recomputed from scratch on the test file.
      Checkpoint cp = load_checkpoint(run_dir / "model");
      EXPECT_EQ(cp.model->config().train.seed, seed);
      const Dataset test = load_dataset(test_file, cp.model->config(), cp.model->schema());
      const Evaluation e = evaluate_dataset(*cp.model, test, 1);
      EXPECT_EQ(run["test"]["auc"].get<double>(), e.overall.auc);
      EXPECT_EQ(run["test"]["gauc"].get<double>(), e.overall.gauc);
      EXPECT_EQ(run["test"]["logloss"].get<double>(), e.overall.logloss);
      ASSERT_EQ(e.slices.size(), 2u);
      for (const auto& [value, m] : e.slices)
        EXPECT_EQ(run["slice_auc"][value].get<double>(), m.auc);
      // One epoch of a 4-wide model on 6,400 rows ranks at chance (validation AUC 0.47-0.57 over
      // these runs, under either pooling default), so the figures are checked as the run's own.
      EXPECT_GT(run["valid"]["auc"].get<double>(), 0.0);
      EXPECT_LT(run["valid"]["auc"].get<double>(), 1.0);
      {  // validation AUC and logloss, which the recommendation weighs, are the run's own metrics.json's
        const Json metrics = Json::parse(testing::read_file(run_dir / "metrics.json"));
        EXPECT_EQ(run["valid"]["auc"].get<double>(), metrics["valid"]["auc"].get<double>());
        EXPECT_EQ(run["valid"]["logloss"].get<double>(), metrics["valid"]["logloss"].get<double>());
      }
      EXPECT_GT(run["train_seconds"].get<double>(), 0.0);
      const std::int64_t dense = cp.model->params().count();
      std::int64_t rows = 0;
      for (const auto& t : cp.model->tables()) rows += static_cast<std::int64_t>(t.rows());
      EXPECT_EQ(run["dense_parameters"].get<std::int64_t>(), dense);
      EXPECT_EQ(run["parameters"].get<std::int64_t>(), dense + rows * 4);
      dense_parameters[name] = dense;
      // The modules are really there (or not).
      EXPECT_EQ(cp.model->senet() != nullptr, name == "full");
      EXPECT_EQ(cp.model->poso() != nullptr, name == "full");
      EXPECT_EQ(!cp.model->din().empty(), name != "plain");
      aucs.push_back(e.overall.auc);
    }
    // Mean and spread over the seeds, and the difference to plain paired by seed.
    EXPECT_DOUBLE_EQ(v["test"]["auc"]["mean"].get<double>(), (aucs[0] + aucs[1]) / 2);
    EXPECT_NEAR(v["test"]["auc"]["std"].get<double>(), std::abs(aucs[0] - aucs[1]) / std::sqrt(2.0),
                1e-12);
    EXPECT_EQ(v["test"]["auc"]["min"].get<double>(), std::min(aucs[0], aucs[1]));
    EXPECT_EQ(v["test"]["auc"]["max"].get<double>(), std::max(aucs[0], aucs[1]));
    EXPECT_EQ(v["test"]["gauc"]["n"], 2);
    EXPECT_EQ(v["test"]["logloss"]["n"], 2);
    EXPECT_TRUE(v["slice_auc"].contains("new"));
    EXPECT_TRUE(v["slice_auc"].contains("active"));
    EXPECT_GT(v["train_seconds"]["mean"].get<double>(), 0.0);
    EXPECT_GT(v["parameters"].get<double>(), 0.0);
    if (name == "plain") {
      EXPECT_TRUE(v["vs_reference"].is_null());
    } else {
      const Json& d = v["vs_reference"]["test_auc"];
      const Json& plain_runs = j["variants"][0]["runs"];
      const double d1 = aucs[0] - plain_runs[0]["test"]["auc"].get<double>();
      const double d2 = aucs[1] - plain_runs[1]["test"]["auc"].get<double>();
      EXPECT_EQ(d["n"], 2);
      EXPECT_DOUBLE_EQ(d["mean"].get<double>(), (d1 + d2) / 2);
      const double half = 12.706 * (std::abs(d1 - d2) / std::sqrt(2.0)) / std::sqrt(2.0);
      EXPECT_NEAR(d["low"].get<double>(), (d1 + d2) / 2 - half, 1e-12);
      EXPECT_NEAR(d["high"].get<double>(), (d1 + d2) / 2 + half, 1e-12);
      EXPECT_TRUE(v["vs_reference"]["test_gauc"]["mean"].is_number());
      EXPECT_TRUE(v["vs_reference"]["test_logloss"]["mean"].is_number());
      EXPECT_TRUE(v["vs_reference"]["valid_logloss"]["mean"].is_number());
    }
  }
  EXPECT_LT(dense_parameters["plain"], dense_parameters["din"]);
  EXPECT_LT(dense_parameters["din"], dense_parameters["full"]);

  const Json& rec = j["recommendation"];
  EXPECT_THAT(rec["variant"].get<std::string>(), AnyOf("plain", "din", "full"));
  EXPECT_THAT(rec["best"].get<std::string>(), AnyOf("plain", "din", "full"));
  EXPECT_THAT(rec["text"].get<std::string>(),
              HasSubstr("Recommendation: " + rec["variant"].get<std::string>()));
}

TEST_F(AblationTest, RunningAgainReusesFinishedRuns) {
  // No validation file and no fraction: the ablation carves one from train.
  const Config c = config({"data.valid=", "data.valid_fraction=0"});
  const AblationOptions o = options("resume", {1}, {"full"});
  const AblationResult first = ablate(c, o);
  ASSERT_EQ(first.variants.size(), 2u) << "plain is added as the reference";
  EXPECT_THAT(first.notes.front(), HasSubstr("no validation split"));
  EXPECT_EQ(first.base.data.valid_fraction, kDefaultValidFraction);
  const Json plain_metrics = Json::parse(testing::read_file(o.out / "plain/seed-1/metrics.json"));
  EXPECT_GT(plain_metrics["valid"]["rows"].get<int>(), 500);

  const auto plain_model = o.out / "plain/seed-1/model";
  const auto full_model = o.out / "full/seed-1/model";
  const auto plain_time = fs::last_write_time(plain_model);
  const Json full_before = Json::parse(testing::read_file(o.out / "ablation.json"));

  // A deleted run folder is trained again, the other run is reused as it is.
  fs::remove_all(o.out / "full");
  const AblationResult second = ablate(c, o);
  EXPECT_EQ(second.variants[0].runs[0].status, "reused");
  EXPECT_EQ(second.variants[1].runs[0].status, "trained");
  EXPECT_EQ(fs::last_write_time(plain_model), plain_time);
  EXPECT_TRUE(fs::exists(full_model));
  const Json full_after = Json::parse(testing::read_file(o.out / "ablation.json"));
  EXPECT_EQ(full_after["variants"][1]["runs"][0]["test"],
            full_before["variants"][1]["runs"][0]["test"])
      << "the same seed and threads train the same model";

  // A run interrupted after its last epoch (no metrics.json yet) resumes from its checkpoint.
  const auto full_time = fs::last_write_time(full_model);
  fs::remove(o.out / "full/seed-1/metrics.json");
  const AblationResult third = ablate(c, o);
  EXPECT_EQ(third.variants[0].runs[0].status, "reused");
  EXPECT_EQ(third.variants[1].runs[0].status, "resumed");
  EXPECT_EQ(fs::last_write_time(full_model), full_time);
  EXPECT_EQ(fs::last_write_time(plain_model), plain_time);
  EXPECT_EQ(third.variants[1].runs[0].test_auc, second.variants[1].runs[0].test_auc);

  // Another config for the same folder is refused before anything is trained.
  const std::string message = HEED_ERROR_MESSAGE(
      run_ablation(config({"data.valid=", "data.valid_fraction=0", "model.hidden=[8]"}), o), Error);
  EXPECT_THAT(message, HasSubstr("holds a run of a different config"));
  EXPECT_THAT(message, HasSubstr("hidden"));
  EXPECT_THAT(message, HasSubstr("pick another --out or delete"));
  EXPECT_EQ(fs::last_write_time(plain_model), plain_time);
  // Only what is printed may change.
  EXPECT_NO_THROW(
      run_ablation(config({"data.valid=", "data.valid_fraction=0", "train.progress=log"}), o));
}

TEST_F(AblationTest, CommandLine) {
  const std::string base =
      testing::heed_binary() + " ablate " + HEED_SOURCE_DIR +
      "/examples/synth/config.toml --set data.dir=" + (dir_->path() / "data").string() +
      " --set train.epochs=1 --set model.hidden=[16] --set embedding.dim=4 --set din.hidden=[8]"
      " --set poso.enabled=false --set train.progress=none --threads 1";
  const testing::CommandResult bad = testing::run_command(
      base + " --out " + (dir_->path() / "cli").string() + " --variants plain,dien", dir_->path());
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(
      bad.err,
      HasSubstr("unknown variant 'dien'; valid variants: plain, senet, din, poso, no-senet"));
  const testing::CommandResult bad_reference = testing::run_command(
      base + " --out " + (dir_->path() / "cli").string() + " --reference dien", dir_->path());
  EXPECT_EQ(bad_reference.status, 1);
  EXPECT_THAT(bad_reference.err, HasSubstr("unknown variant 'dien'"));

  const testing::CommandResult ok = testing::run_command(
      base + " --out " + (dir_->path() / "cli").string() + " --seed-list 5 --variants din",
      dir_->path());
  ASSERT_EQ(ok.status, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("| variant | modules | test AUC |"));
  EXPECT_THAT(ok.out, HasSubstr("| din | DIN |"));
  EXPECT_THAT(ok.out, HasSubstr("Recommendation: "));
  EXPECT_THAT(ok.out, HasSubstr("(no interval: 1 seed)"));
  EXPECT_THAT(ok.err, HasSubstr("ablate: [1/2] plain (plain), seed 5: training into"));
  EXPECT_TRUE(fs::exists(dir_->path() / "cli/din/seed-5/model"));
  EXPECT_TRUE(fs::exists(dir_->path() / "cli/ablation.html"));
}

TEST(AblationStatistics, SpreadAndPairedInterval) {
  const Spread s = spread_of({1.0, 2.0, 3.0, std::nan("")});
  EXPECT_EQ(s.n, 3u);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.std, 1.0);
  EXPECT_EQ(s.min, 1.0);
  EXPECT_EQ(s.max, 3.0);
  EXPECT_TRUE(std::isnan(spread_of({0.5}).std));

  const PairedDiff d = paired_diff({0.80, 0.82, 0.81}, {0.79, 0.80, 0.80});
  EXPECT_EQ(d.n, 3u);
  EXPECT_NEAR(d.mean, 0.0133333333, 1e-9);
  const double sd =
      std::sqrt(((0.01 - d.mean) * (0.01 - d.mean) + (0.02 - d.mean) * (0.02 - d.mean) +
                 (0.01 - d.mean) * (0.01 - d.mean)) /
                2);
  EXPECT_NEAR(d.half_width, 4.303 * sd / std::sqrt(3.0), 1e-12);
  EXPECT_TRUE(d.has_interval());
  EXPECT_FALSE(paired_diff({0.8}, {0.7}).has_interval());

  EXPECT_DOUBLE_EQ(t_quantile_975(1), 12.706);
  EXPECT_DOUBLE_EQ(t_quantile_975(30), 2.042);
  EXPECT_NEAR(t_quantile_975(40), 2.021, 1e-3);
  EXPECT_NEAR(t_quantile_975(1000000), 1.960, 1e-3);
}

// The recommendation reads validation AUC only and takes the smallest variant within the noise.
TEST(AblationStatistics, RecommendationRule) {
  const std::vector<Variant> variants = derive_variants(load_config(
      std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml", {"poso.enabled=false"}));
  AblationResult result;
  result.seeds = {1, 2};
  // valid AUC per seed, test AUC per seed (the test AUC says "full" loudly; it must not matter)
  const std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> figures = {
      {"plain", {{0.700, 0.702}, {0.70, 0.70}}},
      {"senet", {{0.745, 0.751}, {0.70, 0.70}}},
      {"din", {{0.748, 0.752}, {0.70, 0.70}}},
      {"full", {{0.750, 0.754}, {0.99, 0.99}}}};
  for (const Variant& v : variants) {
    VariantResult vr{v, {}};
    for (std::size_t s = 0; s < 2; ++s) {
      RunResult r;
      r.seed = s + 1;
      r.valid_auc = figures.at(v.name).first[s];
      r.test_auc = figures.at(v.name).second[s];
      r.test_gauc = r.test_logloss = std::nan("");
      r.parameters = v.name == "senet" ? 1000
                     : v.name == "din" ? 900
                                       : 800 + 200 * static_cast<int>(v.modules.size());
      vr.runs.push_back(r);
    }
    result.variants.push_back(vr);
  }
  const AblationSummary summary = summarize(result);
  const Recommendation& rec = summary.recommendation;
  ASSERT_TRUE(rec.available);
  EXPECT_EQ(result.variants[rec.best].variant.name, "full");
  // senet (0.748 ± 0.0042) and din (0.750 ± 0.0028) are within max(std) of full's 0.752; plain is
  // not. Both have one module; din has fewer parameters.
  EXPECT_EQ(result.variants[rec.variant].variant.name, "din");
  EXPECT_EQ(rec.in_noise.size(), 3u);
  EXPECT_THAT(rec.text, HasSubstr("Recommendation: din (DIN; 1 module, 900 parameters)"));
  EXPECT_THAT(rec.text, HasSubstr("within the noise of the best, full"));
  EXPECT_FALSE(summary.variants[summary.reference].has_diff);
  EXPECT_TRUE(std::isnan(summary.variants[1].test_gauc.mean));
}


// --reference: every difference, the per-slice ones included, is variant - reference paired by
// seed, and the reports name the reference instead of plain.
TEST(AblationStatistics, DifferencesToAChosenReference) {
  const std::vector<Variant> variants = derive_variants(
      load_config(std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml", {}));
  AblationResult result;
  result.seeds = {1, 2, 3};
  result.slice = "user_group";
  result.reference = "no-poso";
  // test AUC of the new users per seed; every other figure is a constant
  const std::map<std::string, std::vector<double>> new_users = {
      {"plain", {0.60, 0.61, 0.62}}, {"no-poso", {0.70, 0.71, 0.69}}, {"full", {0.71, 0.73, 0.70}}};
  for (const Variant& v : select_variants(variants, {"plain", "no-poso", "full"})) {
    VariantResult vr{v, {}};
    for (std::size_t s = 0; s < 3; ++s) {
      RunResult r;
      r.seed = s + 1;
      r.valid_auc = r.test_auc = r.test_gauc = 0.75;
      r.test_logloss = 0.5;
      r.slice_auc = {{"active", 0.8}, {"new", new_users.at(v.name)[s]}};
      vr.runs.push_back(r);
    }
    result.variants.push_back(vr);
  }
  const AblationSummary summary = summarize(result);
  ASSERT_TRUE(summary.has_reference);
  EXPECT_EQ(result.variants[summary.reference].variant.name, "no-poso");
  EXPECT_FALSE(summary.variants[summary.reference].has_diff);
  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    const std::string& name = result.variants[i].variant.name;
    if (name == "no-poso") continue;
    const VariantSummary& s = summary.variants[i];
    ASSERT_TRUE(s.has_diff) << name;
    ASSERT_EQ(s.diff_slice_auc.size(), 2u);
    EXPECT_EQ(s.diff_slice_auc[1].first, "new");
    // brute force: the mean and the t interval of the three paired differences
    std::vector<double> d;
    for (std::size_t k = 0; k < 3; ++k)
      d.push_back(new_users.at(name)[k] - new_users.at("no-poso")[k]);
    const double mean = (d[0] + d[1] + d[2]) / 3;
    double ss = 0;
    for (double x : d) ss += (x - mean) * (x - mean);
    const double half = 4.303 * std::sqrt(ss / 2) / std::sqrt(3.0);
    const PairedDiff& got = s.diff_slice_auc[1].second;
    EXPECT_NEAR(got.mean, mean, 1e-12) << name;
    EXPECT_NEAR(got.low, mean - half, 1e-12) << name;
    EXPECT_NEAR(got.high, mean + half, 1e-12) << name;
    EXPECT_NEAR(s.diff_slice_auc[0].second.mean, 0.0, 1e-12);  // active: equal everywhere
    EXPECT_NEAR(s.diff_test_auc.mean, 0.0, 1e-12);
  }

  const std::string md = ablation_markdown(result, summary);
  EXPECT_THAT(md, HasSubstr("| Δ AUC vs no-poso |"));
  EXPECT_THAT(md, HasSubstr("| user_group = active | Δ vs no-poso | user_group = new | Δ vs no-poso |"));
  EXPECT_THAT(md, HasSubstr("| no-poso | 0.80000 ± 0.00000 | (reference) |"));
  EXPECT_EQ(md.find("vs plain"), std::string::npos);
  const auto j = ablation_json(result, summary);
  EXPECT_EQ(j["reference"], "no-poso");
  EXPECT_TRUE(j["variants"][1]["vs_reference"].is_null());
  EXPECT_NEAR(j["variants"][2]["vs_reference"]["slice_auc"]["new"]["mean"].get<double>(),
              (0.01 + 0.02 + 0.01) / 3, 1e-12);
}

// Logloss counts: a variant on par in validation AUC but with a validation logloss worse than
// the noise is passed over and named; when every variant on par is worse, the pick says so.
TEST(AblationStatistics, RecommendationWeighsLogloss) {
  const std::vector<Variant> variants = derive_variants(load_config(
      std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml", {"poso.enabled=false"}));
  // valid AUC: 0.75 + 0.002 per seed for every variant (all within the noise of each other)
  // except those in `low_auc`, 0.05 lower.
  auto result_with = [&](const std::map<std::string, std::vector<double>>& logloss,
                         const std::set<std::string>& low_auc = {}) {
    AblationResult result;
    result.seeds = {1, 2, 3};
    for (const Variant& v : variants) {
      VariantResult vr{v, {}};
      for (std::size_t s = 0; s < 3; ++s) {
        RunResult r;
        r.seed = s + 1;
        r.valid_auc = 0.75 + 0.002 * static_cast<double>(s) - (low_auc.count(v.name) ? 0.05 : 0);
        r.test_auc = r.valid_auc;
        r.test_gauc = std::nan("");
        r.valid_logloss = r.test_logloss = logloss.at(v.name)[s];
        r.parameters = 800 + 200 * static_cast<int>(v.modules.size());
        vr.runs.push_back(r);
      }
      result.variants.push_back(vr);
    }
    return result;
  };
  {  // plain and din: logloss far worse (Frappe's plain had 0.415 against SENet's 0.305)
    const AblationResult result = result_with({{"plain", {0.41, 0.42, 0.415}},
                                               {"senet", {0.305, 0.31, 0.30}},
                                               {"din", {0.36, 0.37, 0.365}},
                                               {"full", {0.306, 0.309, 0.302}}});
    const AblationSummary summary = summarize(result);
    const Recommendation& rec = summary.recommendation;
    ASSERT_TRUE(rec.available);
    EXPECT_EQ(rec.in_noise.size(), 4u);
    EXPECT_EQ(result.variants[rec.lowest_logloss].variant.name, "senet");
    // Without logloss the pick would be plain (fewest modules); it is passed over, and named.
    EXPECT_EQ(result.variants[rec.variant].variant.name, "senet");
    EXPECT_THAT(rec.text, HasSubstr("passed over for a logloss worse than the noise: plain "
                                    "(validation logloss 0.4150 ± 0.0050)"));
    EXPECT_EQ(rec.text.find("din (validation"), std::string::npos) << "din is not smaller";
    const auto j = ablation_json(result, summary);
    EXPECT_EQ(j["recommendation"]["worse_logloss"].get<std::vector<std::string>>(),
              (std::vector<std::string>{"plain", "din"}));
  }
  {  // every variant on par in AUC has a worse logloss than plain, which trails on AUC: the
     // smallest of them is still named, with the warning in the line
    const AblationResult result = result_with({{"plain", {0.30, 0.301, 0.299}},
                                               {"senet", {0.40, 0.41, 0.405}},
                                               {"din", {0.40, 0.41, 0.405}},
                                               {"full", {0.40, 0.41, 0.405}}},
                                              {"plain"});
    const Recommendation& rec = summarize(result).recommendation;
    EXPECT_EQ(rec.in_noise.size(), 3u);
    EXPECT_EQ(result.variants[rec.variant].variant.name, "senet");
    EXPECT_THAT(rec.text, HasSubstr("WORSE than plain's 0.3000 ± 0.0010 by more than the noise"));
  }
  {  // a logloss gap inside the noise changes nothing, but the line still shows both
    const AblationResult result = result_with({{"plain", {0.32, 0.30, 0.34}},
                                               {"senet", {0.305, 0.31, 0.30}},
                                               {"din", {0.31, 0.30, 0.32}},
                                               {"full", {0.306, 0.309, 0.302}}});
    const Recommendation& rec = summarize(result).recommendation;
    EXPECT_EQ(result.variants[rec.variant].variant.name, "plain");
    EXPECT_THAT(rec.text,
                HasSubstr("validation logloss 0.3200 ± 0.0200 (lowest: senet, 0.3050 ± 0.0050)"));
    EXPECT_EQ(rec.text.find("passed over"), std::string::npos);
  }
}

// Every variant of the demo config, three seeds, a slice of six values: the whole page.
AblationResult demo_result() {
  AblationResult result;
  result.seeds = {1, 2, 3};
  result.slice = "user_activity";
  result.reference = "plain";
  const std::vector<std::string> values = {"0", "1-4", "5-19", "20-49", "50-99", "100-199"};
  std::size_t k = 0;
  for (const Variant& v : derive_variants(
           load_config(std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml", {}))) {
    VariantResult vr{v, {}};
    for (std::size_t s = 0; s < 3; ++s) {
      RunResult r;
      r.seed = s + 1;
      const double shift = 0.0011 * static_cast<double>(k) + 0.0007 * static_cast<double>(s);
      r.valid_auc = 0.5993 + shift;
      r.test_auc = 0.6012 + shift * 0.9;
      r.test_gauc = 0.58 + shift;
      r.valid_logloss = 0.4 - shift;
      r.test_logloss = 0.41 - shift;
      for (std::size_t x = 0; x < values.size(); ++x)
        r.slice_auc.emplace_back(values[x], 0.55 + 0.01 * static_cast<double>(x) + shift);
      r.train_seconds = 123.4;
      r.parameters = 12345678;
      r.dir = v.name + "/seed-" + std::to_string(s + 1);
      r.status = "trained";
      vr.runs.push_back(r);
    }
    result.variants.push_back(vr);
    ++k;
  }
  return result;
}

TEST(AblationPage, PlotsWhatTheRecommendationReadsAndTheDifferencesWithTheirIntervals) {
  const AblationResult result = demo_result();
  ASSERT_EQ(result.variants.size(), 8u);
  const AblationSummary summary = summarize(result);
  const std::string html = ablation_html(result, summary);
  EXPECT_THAT(html, HasSubstr("validation AUC (the recommendation reads it)"));
  EXPECT_THAT(html, HasSubstr("test AUC (reported only)"));
  EXPECT_THAT(html, HasSubstr("<h2>Difference to plain</h2>"));
  // Each variant's Δ with its paired interval, as the table computes it.
  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    const VariantSummary& s = summary.variants[i];
    if (!s.has_diff) continue;
    EXPECT_THAT(html, HasSubstr(fmt::format(">{:+.5f} [{:+.5f}, {:+.5f}]</text>",
                                            s.diff_test_auc.mean, s.diff_test_auc.low,
                                            s.diff_test_auc.high)))
        << result.variants[i].variant.name;
  }
  // Axis ticks at round values: equal steps of 1, 2 or 5 times a power of ten, each a multiple.
  const std::string first_plot = html.substr(0, html.find("</svg>"));
  std::regex tick("class=\"tick\"[^>]*>([-0-9.]+)</text>");
  std::vector<double> ticks;
  for (auto it = std::sregex_iterator(first_plot.begin(), first_plot.end(), tick);
       it != std::sregex_iterator(); ++it)
    ticks.push_back(std::stod((*it)[1]));
  ASSERT_GE(ticks.size(), 3u);
  const double step = ticks[1] - ticks[0];
  const double magnitude = std::pow(10.0, std::floor(std::log10(step)));
  const double mantissa = step / magnitude;
  EXPECT_TRUE(std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 ||
              std::abs(mantissa - 5) < 1e-6)
      << step;
  for (double t : ticks) {
    EXPECT_NEAR(t / step, std::round(t / step), 1e-6) << t;
  }
  EXPECT_EQ(first_plot.find(">0.5993<"), std::string::npos);
}

TEST(AblationPage, FitsA1400And1920PixelScreenWithoutCollidingLabels) {
  if (!testing::have_chromium())
    GTEST_SKIP() << testing::kChromium << " not found: install Debian's chromium";
  testing::TempDir dir("ablation_page");
  const AblationResult result = demo_result();
  testing::write_file(dir.path() / "ablation.html", ablation_html(result, summarize(result)));
  testing::expect_page_fits_common_screens(dir.path() / "ablation.html", dir.path() / "layout");
}

}  // namespace
}  // namespace heed::ablate
