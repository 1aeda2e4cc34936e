// Every config key is declared once (config/options.cpp) and the typed Config only holds the
// values: each member of the config structs has exactly one declaration, the defaults `heed
// config --keys` prints are the values a config without the key holds, enum choices read and
// print by the names their declarations give, and the keys --resume may change come from the
// declarations.
#include "config/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "train/resume.h"

namespace heed {
namespace {

using ::testing::HasSubstr;

// Counts an aggregate's members: the most initializers `T{...}` accepts.
struct AnyValue {
  template <class T>
  operator T() const;  // never called: only the initializer's form is checked
};
template <class T, class... Values>
constexpr std::size_t member_count() {
  if constexpr (requires { T{Values{}..., AnyValue{}}; })
    return member_count<T, Values..., AnyValue>();
  else
    return sizeof...(Values);
}

// The run options whose key starts with `section.`, and the distinct members they write.
struct Declared {
  std::size_t keys = 0;
  std::set<const void*> members;
};

template <class Section>
Declared declared_in(const Config& config, const std::string& section, const Section& part) {
  Declared d;
  const auto* begin = reinterpret_cast<const char*>(&part);
  for (const auto& o : run_options()) {
    if (o.key.rfind(section + ".", 0) != 0) continue;
    ++d.keys;
    const auto* at = static_cast<const char*>(o.member(config));
    EXPECT_TRUE(at >= begin && at < begin + sizeof(Section)) << o.key << " writes outside [" << section << "]";
    d.members.insert(at);
  }
  return d;
}

template <class Section>
void expect_one_key_per_member(const Config& config, const std::string& section, const Section& part) {
  const Declared d = declared_in(config, section, part);
  EXPECT_EQ(d.keys, d.members.size()) << "two keys of [" << section << "] write the same member";
  EXPECT_EQ(d.members.size(), member_count<Section>())
      << "[" << section << "]: every member of the struct needs exactly one declaration in options.cpp";
}

TEST(ConfigDeclarations, EveryMemberOfTheRunConfigHasExactlyOneKey) {
  const Config c = default_config();
  expect_one_key_per_member(c, "data", c.data);
  expect_one_key_per_member(c, "embedding", c.embedding);
  expect_one_key_per_member(c, "model", c.model);
  expect_one_key_per_member(c, "senet", c.senet);
  expect_one_key_per_member(c, "din", c.din);
  expect_one_key_per_member(c, "poso", c.poso);
  expect_one_key_per_member(c, "optimizer", c.optimizer);
  expect_one_key_per_member(c, "train", c.train);
  expect_one_key_per_member(c, "eval", c.eval);
  expect_one_key_per_member(c, "scoring", c.scoring);
  // Config itself: the sections above and the features.
  EXPECT_EQ(member_count<Config>(), 11u);
}

TEST(ConfigDeclarations, EveryMemberOfAFeatureHasExactlyOneKey) {
  const FeatureConfig f = default_feature("x");
  std::set<const void*> members;
  for (const auto& o : feature_options()) members.insert(o.member(f));
  EXPECT_EQ(members.size(), feature_options().size());
  EXPECT_FALSE(members.count(&f.name));  // the name is the [features.NAME] table's, not a key
  EXPECT_EQ(members.size() + 1, member_count<FeatureConfig>());
}

// What `heed config --keys` prints, key -> default, read from the binary's output.
std::map<std::string, std::string> printed_defaults() {
  testing::TempDir dir("keys");
  const auto r = testing::run_command(testing::heed_binary() + " config --keys", dir.path());
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::string> defaults;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string key, type, word, value;
    words >> key;
    while (words >> word && word != "default") type += word;
    words >> value;
    defaults[key] = value;
  }
  return defaults;
}

// Only the declarations hold defaults: the struct starts blank, default_config() applies the
// declared ones, and `heed config --keys` prints those very values.
TEST(ConfigDeclarations, ConfigKeysPrintsTheDefaultsAConfigHolds) {
  const std::map<std::string, std::string> printed = printed_defaults();
  const Config c = default_config();
  std::size_t run_keys = 0;
  for (const auto& o : run_options()) {
    ++run_keys;
    ASSERT_TRUE(printed.count(o.key)) << o.key << " is missing from heed config --keys";
    const std::string value = toml_value_text(*o.current(c));
    // --keys pads values; a default with spaces ("[ 80, 40 ]") prints its first word there.
    EXPECT_EQ(printed.at(o.key), value.substr(0, value.find(' '))) << o.key;
  }
  const FeatureConfig f = default_feature("x");
  for (const auto& o : feature_options()) {
    const std::string key = "features.NAME." + o.key;
    ASSERT_TRUE(printed.count(key)) << key;
    const std::string value = toml_value_text(*o.current(f));
    EXPECT_EQ(printed.at(key), value.substr(0, value.find(' '))) << key;
  }
  EXPECT_EQ(printed.size(), run_keys + feature_options().size());
}

TEST(ConfigDeclarations, EnumChoicesReadAndPrintByTheirNames) {
  auto parse = [](const std::string& text) { return parse_config(text + "[features.item]\n", "run.toml"); };
  const Config c = parse("[senet]\naxis = \"element\"\ngate = \"none\"\n[din]\nnormalize = \"sqrtn\"\n"
                         "activation = \"prelu\"\n[model]\nactivation = \"prelu\"\n[optimizer]\nembedding = \"adagrad\"\n");
  EXPECT_EQ(c.senet.axis, SenetAxis::kElement);
  EXPECT_EQ(c.senet.gate, SenetGate::kNone);
  EXPECT_EQ(c.din.normalize, DinNormalize::kSqrtN);
  EXPECT_EQ(c.din.activation, DinActivation::kPrelu);
  EXPECT_EQ(c.model.activation, ActivationKind::kPrelu);
  EXPECT_EQ(c.optimizer.embedding, EmbeddingOptimizer::kAdagrad);
  const std::string text = to_toml(c);
  EXPECT_THAT(text, HasSubstr("axis = 'element'"));
  EXPECT_THAT(text, HasSubstr("normalize = 'sqrtn'"));
  EXPECT_THAT(text, HasSubstr("embedding = 'adagrad'"));
  // An unknown name names the key, the value and every choice, where the file says it.
  const std::string unknown = HEED_ERROR_MESSAGE(parse("[senet]\naxis = \"fields\"\n"), Error);
  EXPECT_THAT(unknown, HasSubstr("run.toml:2:"));
  EXPECT_THAT(unknown, HasSubstr("senet.axis = 'fields' must be one of \"field\", \"dim\", \"element\""));
  EXPECT_THAT(HEED_ERROR_MESSAGE(parse("[senet]\nsqueeze = 3\n"), Error), HasSubstr("senet.squeeze must be a string"));
}

// Every key declared resumable may change on --resume; any other key may not.
TEST(ConfigDeclarations, ResumeMayChangeExactlyTheKeysDeclaredResumable) {
  const Config saved = parse_config("[features.item]\n", "run.toml");
  std::size_t resumable = 0;
  for (const auto& o : run_options()) {
    // A different valid value of the key's type.
    std::string value;
    const std::string now = toml_value_text(*o.current(saved));
    if (o.type == "integer") value = std::to_string(std::stoll(now) + 1);
    else if (o.type == "float") value = now == "nan" ? "4.0" : std::to_string(std::stod(now) / 2 + 0.25);
    else if (o.type == "boolean") value = now == "true" ? "false" : "true";
    else continue;  // strings and lists: covered by the examples below
    Config requested = saved;
    const toml::table holder = toml::parse("v = " + value);
    o.assign(requested, *holder.get("v"), o.key);
    if (o.resumable) {
      ++resumable;
      EXPECT_NO_THROW(check_resume_compatible(saved, requested)) << o.key;
    } else {
      EXPECT_THROW(check_resume_compatible(saved, requested), Error) << o.key;
    }
  }
  EXPECT_GT(resumable, 0u);
  Config moved = saved;
  moved.data.dir = "elsewhere";
  moved.train.progress = ProgressMode::kLog;
  EXPECT_NO_THROW(check_resume_compatible(saved, moved));
  Config other = saved;
  other.din.normalize = DinNormalize::kMean;
  EXPECT_THAT(HEED_ERROR_MESSAGE(check_resume_compatible(saved, other), Error),
              HasSubstr("only data.dir, train.epochs, train.patience"));
  const std::vector<std::string> keys = resumable_keys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "eval.batch_size"), keys.end());
  EXPECT_EQ(std::find(keys.begin(), keys.end(), "train.seed"), keys.end());
}

}  // namespace
}  // namespace heed
