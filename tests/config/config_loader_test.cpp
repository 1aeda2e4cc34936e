// Loading a run's config: declared defaults, every --set form, unknown keys with their
// suggestion and location, type and value checks, the cross-key checks of features, the
// resolved round trip and the order of features.
#include "config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "config/options.h"
#include "config/schema.h"
#include "core/error.h"

namespace heed {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

// The smallest valid config: one categorical feature.
const char* const kMinimal = "[features.item]\n";

Config parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_config(text, "run.toml", overrides);
}

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return HEED_ERROR_MESSAGE(parse(text, overrides), Error);
}

TEST(ConfigDefaults, RunKeysTakeTheirDeclaredDefaults) {
  const Config c = parse(kMinimal);
  EXPECT_EQ(c.data.dir, "");
  EXPECT_EQ(c.data.train, "train.tsv");
  EXPECT_EQ(c.data.valid, "");
  EXPECT_EQ(c.data.test, "test.tsv");
  EXPECT_EQ(c.data.format, DataFormat::kTsv);
  EXPECT_TRUE(c.data.header);
  EXPECT_TRUE(c.data.columns.empty());
  EXPECT_EQ(c.data.label, "label");
  EXPECT_DOUBLE_EQ(c.data.valid_fraction, 0.1);
  EXPECT_EQ(c.embedding.dim, 16);
  EXPECT_EQ(c.embedding.buckets, 0);
  EXPECT_DOUBLE_EQ(c.embedding.init_std, 0.05);
  EXPECT_EQ(c.embedding.unseen, UnseenPolicy::kZero);
  EXPECT_EQ(c.model.hidden, (std::vector<std::int64_t>{256, 128}));
  EXPECT_EQ(c.model.activation, ActivationKind::kRelu);
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.0);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 1e-3);
  EXPECT_EQ(c.optimizer.embedding, EmbeddingOptimizer::kAdam);
  EXPECT_DOUBLE_EQ(c.optimizer.beta2, 0.999);
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.train.batch_size, 1024);
  EXPECT_EQ(c.train.threads, 0);
  EXPECT_EQ(c.train.seed, 1u);
  EXPECT_TRUE(c.train.shuffle);
  EXPECT_EQ(c.train.early_stop_metric, EarlyStopMetric::kAuc);
  EXPECT_EQ(c.train.patience, 2);
  EXPECT_EQ(c.eval.group, "");
  EXPECT_EQ(c.eval.batch_size, 4096);
}

TEST(ConfigDefaults, DeclaredDefaultTextIsTheValueAFreshConfigHolds) {
  // `heed config --keys` prints default_text; it must be what a config without the key gets.
  const Config c = parse(kMinimal);
  for (const auto& o : run_options()) {
    EXPECT_EQ(toml_value_text(*o.current(c)), o.default_text) << o.key;
  }
}

// Floats print in their shortest exact form (0.1, not 0.10000000000000001), and read back to
// the same double.
TEST(ConfigDefaults, FloatsPrintShortAndReadBackExactly) {
  for (const double v : {0.1, 0.05, 0.9, 1e-5, 2.0, -0.3, 1.0 / 3.0}) {
    const std::string text = toml_value_text(toml::value<double>(v));
    EXPECT_EQ(toml::parse("x = " + text)["x"].value<double>(), v) << text;
    EXPECT_LE(text.size(), 18u) << text;
  }
  EXPECT_EQ(toml_value_text(toml::value<double>(0.1)), "0.1");
  EXPECT_EQ(toml_value_text(toml::value<double>(2.0)), "2.0");
}

TEST(ConfigDefaults, FeatureDefaultsFollowTheKind) {
  const Config c = parse(
      "[features.item]\n"
      "[features.genres]\nkind = \"multi\"\n"
      "[features.history]\nkind = \"sequence\"\ntable = \"item\"\n"
      "[features.price]\nkind = \"numeric\"\n");
  ASSERT_EQ(c.features.size(), 4u);
  const FeatureConfig& item = c.features[0];
  EXPECT_EQ(item.kind, FeatureKind::kCategorical);
  EXPECT_EQ(item.column, "item");
  EXPECT_EQ(item.table, "item");
  EXPECT_EQ(item.pooling, std::nullopt);
  EXPECT_EQ(c.features[1].pooling, Pooling::kSqrtN);
  EXPECT_EQ(c.features[1].separator, "|");
  EXPECT_EQ(c.features[2].pooling, Pooling::kSqrtN);
  EXPECT_EQ(c.features[2].table, "item");
  EXPECT_EQ(c.features[3].table, "");  // dense numeric inputs have no table
  EXPECT_EQ(c.features[3].transform, NumericTransform::kNone);
}

TEST(ConfigOverrides, EveryValueForm) {
  const Config c =
      parse(kMinimal, {
                          "train.epochs=7", "optimizer.lr=0.25", "train.shuffle=false",
                          "model.hidden=[64, 32, 8]", "data.dir=some/path", "data.label=click",
                          "data.columns=[\"a\", \"b\"]",
                          "embedding.init_std=1",  // an integer where a float is declared
                      });
  EXPECT_EQ(c.train.epochs, 7);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.25);
  EXPECT_FALSE(c.train.shuffle);
  EXPECT_EQ(c.model.hidden, (std::vector<std::int64_t>{64, 32, 8}));
  EXPECT_EQ(c.data.dir, "some/path");
  EXPECT_EQ(c.data.label, "click");
  EXPECT_EQ(c.data.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_DOUBLE_EQ(c.embedding.init_std, 1.0);
}

TEST(ConfigOverrides, ReplaceWhatTheFileSaysAndApplyInOrder) {
  const Config c =
      parse("[train]\nepochs = 3\n[features.item]\n", {"train.epochs=4", "train.epochs=9"});
  EXPECT_EQ(c.train.epochs, 9);
}

TEST(ConfigOverrides, FeatureKeysAndNewFeatures) {
  const Config c = parse(
      "[features.item]\n[features.genres]\nkind = \"multi\"\n",
      {"features.genres.pooling=mean", "features.genres.max_len=5", "features.brand.kind=multi",
       "features.brand.column=brand_ids", "features.brand.separator=,"});
  const FeatureConfig* genres = c.find_feature("genres");
  ASSERT_NE(genres, nullptr);
  EXPECT_EQ(genres->pooling, Pooling::kMean);
  EXPECT_EQ(genres->max_len, 5);
  const FeatureConfig* brand = c.find_feature("brand");
  ASSERT_NE(brand, nullptr) << "--set features.NAME.KEY creates the feature";
  EXPECT_EQ(brand->kind, FeatureKind::kMulti);
  EXPECT_EQ(brand->column, "brand_ids");
  EXPECT_EQ(brand->separator, ",");
  EXPECT_EQ(brand->pooling, Pooling::kSqrtN);
  // Features the file declares come first; --set ones after them.
  ASSERT_EQ(c.features.size(), 3u);
  EXPECT_EQ(c.features[2].name, "brand");
}

TEST(ConfigOverrides, MalformedAssignmentsAreErrors) {
  EXPECT_THAT(error_of(kMinimal, {"train.epochs"}), HasSubstr("key=value"));
  EXPECT_THAT(error_of(kMinimal, {"=3"}), HasSubstr("key=value"));
  EXPECT_THAT(error_of(kMinimal, {"train.epochs=three"}), HasSubstr("not a TOML value"));
  EXPECT_THAT(error_of(kMinimal, {"features.item=3"}), HasSubstr("features.NAME.KEY"));
}

TEST(ConfigUnknownKeys, InTheFileNamesKeyLocationAndSuggestion) {
  const std::string message = error_of("[features.item]\n\n[train]\nepoch = 3\n");
  EXPECT_THAT(message, HasSubstr("run.toml:4"));
  EXPECT_THAT(message, HasSubstr("'train.epoch'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'train.epochs'"));
  EXPECT_THAT(message, HasSubstr("heed config --keys lists every key"));
}

TEST(ConfigUnknownKeys, FeatureKeyInTheFile) {
  const std::string message =
      error_of("[features.item]\n[features.genres]\nkind = \"multi\"\npoling = \"mean\"\n");
  EXPECT_THAT(message, HasSubstr("run.toml:4"));
  EXPECT_THAT(message, HasSubstr("'features.genres.poling'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'features.genres.pooling'"));
}

TEST(ConfigUnknownKeys, InOverrides) {
  EXPECT_THAT(error_of(kMinimal, {"train.epoch=3"}), HasSubstr("did you mean 'train.epochs'"));
  EXPECT_THAT(error_of("[features.genres]\nkind = \"multi\"\n", {"features.genres.poling=mean"}),
              HasSubstr("did you mean 'features.genres.pooling'"));
  EXPECT_THAT(error_of(kMinimal, {"optimiser.lr=0.1"}), HasSubstr("did you mean 'optimizer.lr'"));
}

TEST(ConfigUnknownKeys, ABareKeyFindsItsSection) {
  // closest_key compares against each candidate's last component too.
  EXPECT_THAT(error_of(kMinimal, {"epochs=3"}), HasSubstr("did you mean 'train.epochs'"));
  EXPECT_EQ(closest_key("dim", {"train.epochs", "embedding.dim"}), "embedding.dim");
}

TEST(ConfigUnknownKeys, NothingCloseGivesNoSuggestion) {
  const std::string message = error_of(kMinimal, {"completely.unrelated=1"});
  EXPECT_THAT(message, HasSubstr("'completely.unrelated'"));
  EXPECT_THAT(message, Not(HasSubstr("did you mean")));
}

TEST(ConfigUnknownKeys, UnknownSection) {
  const std::string message = error_of("[features.item]\n[modle]\nhidden = [4]\n");
  EXPECT_THAT(message, HasSubstr("run.toml:2"));
  EXPECT_THAT(message, HasSubstr("'modle'"));
}

TEST(ConfigTypes, WrongTypesNameKeyTypeAndValue) {
  std::string message = error_of("[features.item]\n[train]\nepochs = \"3\"\n");
  EXPECT_THAT(message, HasSubstr("run.toml:3"));
  EXPECT_THAT(message, HasSubstr("train.epochs"));
  EXPECT_THAT(message, HasSubstr("integer"));
  EXPECT_THAT(message, HasSubstr("'3'"));

  EXPECT_THAT(error_of(kMinimal, {"train.epochs=3.5"}), HasSubstr("must be an integer"));
  EXPECT_THAT(error_of(kMinimal, {"train.shuffle=1"}), HasSubstr("boolean"));
  EXPECT_THAT(error_of(kMinimal, {"model.hidden=64"}), HasSubstr("list of integer"));
  EXPECT_THAT(error_of(kMinimal, {"model.hidden=[64, \"a\"]"}), HasSubstr("list of integer"));
  EXPECT_THAT(error_of(kMinimal, {"optimizer.lr=\"fast\""}), HasSubstr("float"));
  EXPECT_THAT(error_of(kMinimal, {"train.seed=-1"}), HasSubstr("non-negative integer"));
  EXPECT_THAT(error_of("[features.item]\nkind = \"bag\"\n"), HasSubstr("not a feature kind"));
}

TEST(ConfigChecks, ValuesOutOfRange) {
  EXPECT_THAT(error_of(kMinimal, {"train.epochs=-1"}),
              HasSubstr("train.epochs = -1 must be at least 1"));
  EXPECT_THAT(error_of(kMinimal, {"train.epochs=0"}), HasSubstr("must be at least 1"));
  EXPECT_THAT(error_of(kMinimal, {"model.dropout=1.5"}),
              HasSubstr("model.dropout = 1.5 must be between"));
  EXPECT_THAT(error_of(kMinimal, {"optimizer.lr=0"}), HasSubstr("must be positive"));
  EXPECT_THAT(error_of(kMinimal, {"model.hidden=[64, 0]"}), HasSubstr("positive integer"));
  EXPECT_THAT(error_of(kMinimal, {"data.format=parquet"}), HasSubstr("must be one of"));
  EXPECT_THAT(error_of(kMinimal, {"data.delimiter=ab"}), HasSubstr("single character"));
  EXPECT_THAT(error_of("[features.genres]\nkind = \"multi\"\npooling = \"max\"\n"),
              HasSubstr("features.genres.pooling = 'max' must be one of"));
  EXPECT_THAT(error_of("[features.genres]\nkind = \"multi\"\nseparator = \"||\"\n"),
              HasSubstr("single character"));
}

TEST(ConfigChecks, ScoringPrecisionIsOneOfThreeNames) {
  EXPECT_EQ(parse(kMinimal).scoring.precision, Precision::kFp32);
  EXPECT_EQ(parse(kMinimal, {"scoring.precision=\"bf16\""}).scoring.precision, Precision::kBf16);
  EXPECT_EQ(parse("[features.item]\n[scoring]\nprecision = \"int8\"\n").scoring.precision, Precision::kInt8);
  const std::string message = error_of("[features.item]\n[scoring]\nprecision = \"half\"\n");
  EXPECT_THAT(message, HasSubstr("scoring.precision = 'half' must be one of \"fp32\", \"bf16\", \"int8\""));
  EXPECT_THAT(message, HasSubstr("run.toml:3"));
}

TEST(ConfigChecks, TrainPrecisionIsFp32OrBf16) {
  EXPECT_EQ(parse(kMinimal).train.precision, TrainPrecision::kFp32);
  EXPECT_EQ(parse(kMinimal, {"train.precision=\"bf16\""}).train.precision, TrainPrecision::kBf16);
  EXPECT_EQ(parse("[features.item]\n[train]\nprecision = \"fp32\"\n").train.precision, TrainPrecision::kFp32);
  // int8 is a scoring precision only: training's products need a gradient's range.
  const std::string message = error_of("[features.item]\n[train]\nprecision = \"int8\"\n");
  EXPECT_THAT(message, HasSubstr("train.precision = 'int8' must be one of \"fp32\", \"bf16\""));
  EXPECT_THAT(message, HasSubstr("run.toml:3"));
  EXPECT_THAT(error_of(kMinimal, {"train.precision=16"}), HasSubstr("train.precision"));
}

TEST(ConfigChecks, ValueErrorInTheFileNamesItsLine) {
  const std::string message =
      error_of("[features.item]\n[model]\nactivation = \"relu\"\ndropout = 1.5\n");
  EXPECT_THAT(message, HasSubstr("run.toml:4"));
  EXPECT_THAT(message, HasSubstr("model.dropout"));
}

TEST(ConfigFeatureChecks, KindSpecificKeys) {
  EXPECT_THAT(error_of("[features.item]\npooling = \"mean\"\n"),
              HasSubstr("features.item.pooling applies only to multi and sequence features"));
  EXPECT_THAT(error_of("[features.item]\nmax_len = 3\n"),
              HasSubstr("features.item.max_len applies only"));
  EXPECT_THAT(error_of("[features.item]\npadding = \"0\"\n"),
              HasSubstr("features.item.padding applies only to multi and sequence features"));
  EXPECT_THAT(error_of("[features.tags]\nkind = \"multi\"\npadding = \"a|b\"\n"),
              HasSubstr("features.tags.padding 'a|b' holds the separator '|'"));
  EXPECT_THAT(error_of("[features.item]\nbucketize = \"log2\"\n"),
              HasSubstr("features.item.bucketize applies only to numeric features"));
  EXPECT_THAT(error_of("[features.item]\ntransform = \"log1p\"\n"),
              HasSubstr("transform applies only to numeric"));
  EXPECT_THAT(error_of("[features.price]\nkind = \"numeric\"\nbucketize = "
                       "\"boundaries\"\nboundaries = [3.0, 1.0]\n"),
              HasSubstr("features.price.boundaries must be sorted ascending"));
  EXPECT_THAT(error_of("[features.price]\nkind = \"numeric\"\nbucketize = \"boundaries\"\n"),
              HasSubstr("must list the bucket edges"));
  EXPECT_THAT(error_of("[features.price]\nkind = \"numeric\"\nboundaries = [1.0]\n"),
              HasSubstr("needs bucketize = \"boundaries\""));
  EXPECT_THAT(
      error_of(
          "[features.price]\nkind = \"numeric\"\nbucketize = \"log2\"\ntransform = \"log1p\"\n"),
      HasSubstr("does not apply to a bucketized feature"));
  EXPECT_THAT(error_of("[features.price]\nkind = \"numeric\"\ntable = \"prices\"\n"),
              HasSubstr("has no embedding table"));
  EXPECT_THAT(error_of("[features.item]\n[features.count]\nkind = \"numeric\"\nbucketize = "
                       "\"log2\"\ntable = \"item\"\n"),
              HasSubstr("shares table 'item'"));
  EXPECT_THAT(error_of("[features.\"bad name\"]\n"), HasSubstr("may only hold letters"));
  EXPECT_THAT(error_of("[data]\nlabel = \"label\"\n"), HasSubstr("no features"));
}

TEST(ConfigFeatureChecks, AFeatureMayNotReadTheLabel) {
  EXPECT_THAT(error_of("[features.label]\n"),
              HasSubstr("features.label reads the label column 'label'"));
  EXPECT_THAT(error_of("[data]\nlabel = \"click\"\n[features.item]\ncolumn = \"click\"\n"),
              HasSubstr("features.item reads the label column 'click'"));
  EXPECT_THAT(error_of(kMinimal, {"data.label=item"}), HasSubstr("reads the label column 'item'"));
}

TEST(ConfigChecks, EarlyStoppingOnGaucNeedsAGroupColumn) {
  // Without eval.group gAUC is NaN every epoch, and early stopping would silently keep them all.
  EXPECT_THAT(error_of(kMinimal, {"train.early_stop_metric=gauc"}),
              HasSubstr("train.early_stop_metric = \"gauc\" needs eval.group"));
  EXPECT_EQ(
      parse(kMinimal, {"train.early_stop_metric=gauc", "eval.group=user"}).train.early_stop_metric,
      EarlyStopMetric::kGauc);
}

TEST(ConfigMalformedToml, NamesLineAndColumn) {
  const std::string message = error_of("[features.item]\n[train]\nepochs = = 3\n");
  EXPECT_THAT(message, ContainsRegex("run\\.toml:3:[0-9]+: "));
  const std::string unterminated = error_of("[data]\nlabel = \"click\n[features.item]\n");
  EXPECT_THAT(unterminated, ContainsRegex("run\\.toml:2:[0-9]+: "));
}

TEST(ConfigOrder, FeaturesKeepTheFileOrderNotAlphabetical) {
  const Config c =
      parse("[features.zeta]\n[features.alpha]\nkind = \"multi\"\n[features.mid]\n",
            {"features.alpha.pooling=mean", "features.beta.kind=multi", "features.aaa.kind=multi"});
  std::vector<std::string> names;
  for (const auto& f : c.features) names.push_back(f.name);
  // File order, then features created by --set (by name).
  EXPECT_EQ(names, (std::vector<std::string>{"zeta", "alpha", "mid", "aaa", "beta"}));
}

TEST(ConfigRoundTrip, ResolvedTextParsesToTheSameConfig) {
  const Config c = parse(
      "[data]\nlabel = \"click\"\nvalid_fraction = 0.3\ncolumns = [\"click\", \"zeta\", "
      "\"alpha\"]\nheader = false\n"
      "[features.zeta]\n"
      "[features.alpha]\nkind = \"multi\"\nseparator = \",\"\nmax_len = 4\n"
      "[features.hist]\nkind = \"sequence\"\ntable = \"zeta\"\n"
      "[features.price]\nkind = \"numeric\"\ntransform = \"standardize\"\n"
      "[features.count]\nkind = \"numeric\"\nbucketize = \"boundaries\"\nboundaries = [0.1, 2.5, "
      "1e6]\n"
      "[optimizer]\nlr = 0.0031\nepsilon = 1e-7\nl2_embedding = 3.3e-5\n"
      "[model]\nhidden = [7, 3]\ndropout = 0.15\n"
      "[train]\nseed = 12345678901\n",
      {"embedding.init_std=0.0123456789"});
  const std::string text = to_toml(c);
  const Config again = parse_config(text, "resolved.toml");
  EXPECT_EQ(to_toml(again), text);
  // Spot checks that nothing was lost on the way.
  EXPECT_EQ(again.train.seed, 12345678901u);
  EXPECT_EQ(again.embedding.init_std, 0.0123456789);
  EXPECT_EQ(again.optimizer.l2_embedding, 3.3e-5);
  ASSERT_EQ(again.features.size(), 5u);
  EXPECT_EQ(again.features[0].name, "zeta");
  EXPECT_EQ(again.features[4].boundaries, (std::vector<double>{0.1, 2.5, 1e6}));
  EXPECT_EQ(again.features[2].table, "zeta");
}

TEST(ConfigFile, LoadsFromDiskAndNamesAMissingFile) {
  testing::TempDir dir("config");
  testing::write_file(dir / "run.toml", "[train]\nepochs = 2\n[features.item]\n");
  const Config c = load_config(dir / "run.toml", {"train.batch_size=8"});
  EXPECT_EQ(c.train.epochs, 2);
  EXPECT_EQ(c.train.batch_size, 8);
  const std::string message = HEED_ERROR_MESSAGE(load_config(dir / "absent.toml"), Error);
  EXPECT_THAT(message, HasSubstr("absent.toml"));
}

TEST(ConfigFile, ErrorsInAFileNameThatFile) {
  testing::TempDir dir("config");
  testing::write_file(dir / "run.toml", "[features.item]\n[train]\nepoch = 2\n");
  const std::string message = HEED_ERROR_MESSAGE(load_config(dir / "run.toml"), Error);
  EXPECT_THAT(message, HasSubstr((dir / "run.toml").string() + ":3"));
}

TEST(ConfigOverrides, AStringMayBeQuotedAsInTheFile) {
  EXPECT_EQ(parse(kMinimal, {"data.label=click"}).data.label, "click");
  EXPECT_EQ(parse(kMinimal, {"data.label=\"click\""}).data.label, "click");
  EXPECT_EQ(parse(kMinimal, {"data.label='click'"}).data.label, "click");
  EXPECT_EQ(parse(kMinimal, {"data.label=\"a b"}).data.label, "\"a b");  // not a TOML string: as typed
}

TEST(ConfigModules, ListsThatNameSomethingTwiceAndAnL1PullOnReluGates) {
  const std::string two = "[features.item]\n[features.user]\n[model]\nhidden = [8, 4]\n";
  EXPECT_THAT(error_of(two, {"senet.enabled=true", "senet.fields=[\"item\", \"item\"]"}),
              HasSubstr("senet.fields lists item twice"));
  EXPECT_THAT(error_of(two, {"poso.enabled=true", "poso.features=[\"user\", \"user\"]"}),
              HasSubstr("poso.features lists user twice"));
  EXPECT_THAT(error_of(two, {"poso.enabled=true", "poso.features=[\"user\"]", "poso.layers=[0, 0]"}),
              HasSubstr("poso.layers lists 0 twice"));
  EXPECT_THAT(error_of(two, {"senet.enabled=true", "senet.gate=\"relu\"", "senet.weight_l1=0.003"}),
              HasSubstr("senet.weight_l1 pulls SENet's weights towards 0"));
  // Each alone is fine.
  EXPECT_NO_THROW(parse(two, {"senet.enabled=true", "senet.gate=\"relu\""}));
  EXPECT_NO_THROW(parse(two, {"senet.enabled=true", "senet.weight_l1=0.003"}));
}

}  // namespace
}  // namespace heed

namespace heed {
namespace {

using ::testing::AllOf;

// din.softmax came before din.normalize; model files saved before it carry it, so it keeps its
// meaning in a file and in --set, and a file that gives both is refused.
TEST(ConfigLegacyKeys, DinSoftmaxReadsAsItsNormalization) {
  EXPECT_EQ(parse("[din]\nsoftmax = true\n[features.item]\n").din.normalize, DinNormalize::kSoftmax);
  EXPECT_EQ(parse("[din]\nsoftmax = false\n[features.item]\n").din.normalize, DinNormalize::kRaw);
  EXPECT_EQ(parse(kMinimal, {"din.softmax=true"}).din.normalize, DinNormalize::kSoftmax);
  EXPECT_EQ(parse("[din]\nsoftmax = true\n[features.item]\n", {"din.normalize=mean"}).din.normalize, DinNormalize::kMean);
  EXPECT_EQ(parse("[din]\nnormalize = \"sqrtn\"\n[features.item]\n", {"din.softmax=false"}).din.normalize, DinNormalize::kRaw);
  EXPECT_THAT(error_of("[din]\nsoftmax = true\nnormalize = \"mean\"\n[features.item]\n"),
              AllOf(HasSubstr("run.toml:2:"), HasSubstr("give only din.normalize")));
  EXPECT_THAT(error_of("[din]\nsoftmax = 1\n[features.item]\n"), HasSubstr("true or false"));
  EXPECT_THAT(error_of(kMinimal, {"din.softmax=yes"}), HasSubstr("true or false"));
  EXPECT_THAT(error_of("[din]\nnormalize = \"max\"\n[features.item]\n"), HasSubstr("din.normalize"));
  // The resolved text names only din.normalize, so it parses back to the same choice.
  const Config legacy = parse("[din]\nsoftmax = true\n[features.item]\n");
  EXPECT_EQ(to_toml(legacy).find("softmax ="), std::string::npos);
  EXPECT_EQ(parse(to_toml(legacy)).din.normalize, DinNormalize::kSoftmax);
}

TEST(ConfigPooling, SqrtnIsAPoolingAndDinEnabledFallsBackToPlainPooling) {
  const char* const text =
      "[features.item]\n[features.tags]\nkind = \"multi\"\npooling = \"sqrtn\"\n"
      "[features.history]\nkind = \"sequence\"\ntable = \"item\"\npooling = \"din\"\nquery = [\"item\"]\n";
  const Config on = parse(text);
  EXPECT_EQ(on.features[1].pooling, Pooling::kSqrtN);
  EXPECT_TRUE(on.din.enabled);
  const Config off = parse(text, {"din.enabled=false"});
  EXPECT_EQ(off.features[2].pooling, Pooling::kDin) << "the config keeps what it says; the schema falls back";
  const Schema attended = Schema::from_config(on), plain = Schema::from_config(off);
  EXPECT_EQ(attended.features[1].pooling, Pooling::kSqrtN);
  EXPECT_EQ(attended.features[2].pooling, Pooling::kDin);
  EXPECT_EQ(attended.din_groups.size(), 1u);
  EXPECT_EQ(plain.features[2].pooling, Pooling::kSqrtN) << "a sequence's plain pooling";
  EXPECT_TRUE(plain.din_groups.empty());
  EXPECT_EQ(plain.features[2].din_group, -1);
}

// A model file records every feature's pooling as resolved when it was trained, so the defaults
// changing (sum for multi and mean for sequence features until the quality suite chose sqrtn)
// leaves it pooling as before; a saved config from before embedding.multi_pooling existed says
// only the features' own pooling.
TEST(ConfigPooling, SavedConfigsKeepThePoolingTheyWereTrainedWith) {
  const char* const saved =
      "[features.item]\npooling = ''\n"
      "[features.genres]\nkind = 'multi'\npooling = 'sum'\n"
      "[features.history]\nkind = 'sequence'\ntable = 'item'\npooling = 'mean'\n";
  const Schema schema = Schema::from_config(parse(saved));
  EXPECT_EQ(schema.features[1].pooling, Pooling::kSum);
  EXPECT_EQ(schema.features[2].pooling, Pooling::kMean);
  // The same features naming no pooling take today's defaults, and a saved config gives them back.
  const Config today = parse("[features.item]\n[features.genres]\nkind = 'multi'\n"
                             "[features.history]\nkind = 'sequence'\ntable = 'item'\n");
  const Schema resolved = Schema::from_config(parse(to_toml(today)));
  EXPECT_EQ(resolved.features[1].pooling, Pooling::kSqrtN);
  EXPECT_EQ(resolved.features[2].pooling, Pooling::kSqrtN);
  // With DIN off, a DIN-pooled feature falls back to the saved embedding.sequence_pooling.
  const Config old_plain = parse(
      "[embedding]\nsequence_pooling = 'mean'\n[din]\nenabled = false\n[features.item]\n"
      "[features.history]\nkind = 'sequence'\ntable = 'item'\npooling = 'din'\nquery = ['item']\n");
  EXPECT_EQ(Schema::from_config(parse(to_toml(old_plain))).features[1].pooling, Pooling::kMean);
}

}  // namespace
}  // namespace heed
