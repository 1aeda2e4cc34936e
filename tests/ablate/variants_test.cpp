// Deriving the variants of an ablation from a config: which variants exist for which enabled
// modules, what each switches off (checked on the derived configs' resolved TOML), and
// selecting them by name.
#include "ablate/variants.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"

namespace heed::ablate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

Config synth_config(const std::vector<std::string>& overrides = {}) {
  return load_config(std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml", overrides);
}

std::vector<std::string> names_of(const std::vector<Variant>& variants) {
  std::vector<std::string> names;
  for (const Variant& v : variants) names.push_back(v.name);
  return names;
}

const Variant& find(const std::vector<Variant>& variants, const std::string& name) {
  for (const Variant& v : variants)
    if (v.name == name) return v;
  throw Error("no variant " + name);
}

// The resolved TOML section of one feature, from its header to the next section.
std::string feature_section(const Config& config, const std::string& feature) {
  const std::string toml = to_toml(config);
  const std::string header = "[features." + feature + "]\n";
  const std::size_t begin = toml.find(header);
  if (begin == std::string::npos) return {};
  const std::size_t end = toml.find("\n[", begin + header.size());
  return toml.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// True when the variant's config has exactly these modules on, checked on the TOML it would train.
void expect_modules(const Variant& v, bool senet, bool din, bool poso) {
  SCOPED_TRACE(v.name);
  const std::string toml = to_toml(v.config);
  EXPECT_THAT(toml, HasSubstr(senet ? "[senet]\nenabled = true" : "[senet]\nenabled = false"));
  EXPECT_THAT(toml, HasSubstr(poso ? "[poso]\nenabled = true" : "[poso]\nenabled = false"));
  const std::string lead = feature_section(v.config, "hist_item_ids");
  const std::string companion = feature_section(v.config, "hist_categories");
  // DIN is switched in one place, din.enabled; the features keep their declaration and the
  // schema pools them plainly (the sequence pooling, sqrtn by default) when it is off.
  EXPECT_THAT(toml, HasSubstr(din ? "[din]\nenabled = true" : "[din]\nenabled = false"));
  EXPECT_THAT(lead, HasSubstr("pooling = 'din'"));
  EXPECT_THAT(lead, HasSubstr("query = [ 'item_id', 'item_category' ]"));
  EXPECT_THAT(lead, HasSubstr("attend_with = [ 'hist_categories' ]"));
  EXPECT_THAT(companion, HasSubstr("pooling = 'din'"));
  const Schema schema = Schema::from_config(v.config);
  const Pooling expected = din ? Pooling::kDin : Pooling::kSqrtN;
  EXPECT_EQ(schema.features[static_cast<std::size_t>(schema.feature_index("hist_item_ids"))].pooling, expected);
  EXPECT_EQ(schema.features[static_cast<std::size_t>(schema.feature_index("hist_categories"))].pooling, expected);
  EXPECT_EQ(schema.din_groups.size(), din ? 1u : 0u);
  // Everything else is the full model's: same features, tables, widths and training keys.
  EXPECT_EQ(v.config.features.size(), 14u);
  EXPECT_EQ(v.config.model.hidden, (std::vector<std::int64_t>{256, 128}));
  EXPECT_THAT(lead, HasSubstr("max_len = 50"));
  EXPECT_THAT(companion, HasSubstr("max_len = 50"));
}

TEST(AblationVariants, ThreeModulesGiveEightVariants) {
  const Config full = synth_config();
  EXPECT_THAT(enabled_modules(full), ElementsAre(Module::kSenet, Module::kDin, Module::kPoso));
  const std::vector<Variant> variants = derive_variants(full);
  EXPECT_THAT(names_of(variants), ElementsAre("plain", "senet", "din", "poso", "no-senet", "no-din",
                                              "no-poso", "full"));
  expect_modules(find(variants, "plain"), false, false, false);
  expect_modules(find(variants, "senet"), true, false, false);
  expect_modules(find(variants, "din"), false, true, false);
  expect_modules(find(variants, "poso"), false, false, true);
  expect_modules(find(variants, "no-senet"), false, true, true);
  expect_modules(find(variants, "no-din"), true, false, true);
  expect_modules(find(variants, "no-poso"), true, true, false);
  expect_modules(find(variants, "full"), true, true, true);
  EXPECT_EQ(to_toml(find(variants, "full").config), to_toml(full))
      << "full is the config as written";
  EXPECT_EQ(find(variants, "no-din").description(), "SENet + POSO");
  EXPECT_EQ(find(variants, "plain").description(), "plain");
}

TEST(AblationVariants, DerivedConfigsRoundTripThroughTheLoader) {
  for (const Variant& v : derive_variants(synth_config())) {
    SCOPED_TRACE(v.name);
    const std::string toml = to_toml(v.config);
    EXPECT_EQ(to_toml(parse_config(toml, v.name)), toml);
  }
}

TEST(AblationVariants, TwoModulesSkipFullMinusDuplicates) {
  const std::vector<Variant> variants = derive_variants(synth_config({"poso.enabled=false"}));
  EXPECT_THAT(names_of(variants), ElementsAre("plain", "senet", "din", "full"));
  expect_modules(find(variants, "plain"), false, false, false);
  expect_modules(find(variants, "senet"), true, false, false);
  expect_modules(find(variants, "din"), false, true, false);
  expect_modules(find(variants, "full"), true, true, false);
}

TEST(AblationVariants, OneModuleGivesPlainAndFull) {
  const std::vector<Variant> variants =
      derive_variants(synth_config({"poso.enabled=false", "senet.enabled=false"}));
  EXPECT_THAT(names_of(variants), ElementsAre("plain", "full"));
  expect_modules(find(variants, "full"), false, true, false);
}

TEST(AblationVariants, NoModuleIsAnError) {
  Config c = synth_config({"poso.enabled=false", "senet.enabled=false"});
  c = with_modules(c, {});
  EXPECT_THAT(HEED_ERROR_MESSAGE(derive_variants(c), Error), HasSubstr("nothing to ablate"));
}

TEST(AblationVariants, SelectsByName) {
  const std::vector<Variant> all = derive_variants(synth_config());
  EXPECT_THAT(names_of(select_variants(all, {"full", "din", "plain"})),
              ElementsAre("plain", "din", "full"))
      << "derivation order, whatever the order asked";
  EXPECT_THAT(names_of(select_variants(all, {"no-poso", "no-poso"})), ElementsAre("no-poso"));

  // With two modules, "no-din" is "senet alone".
  const std::vector<Variant> two = derive_variants(synth_config({"poso.enabled=false"}));
  EXPECT_THAT(names_of(select_variants(two, {"no-din", "full"})), ElementsAre("senet", "full"));
}

TEST(AblationVariants, UnknownOrUnavailableNamesAreErrors) {
  const std::vector<Variant> all = derive_variants(synth_config());
  const std::string message = HEED_ERROR_MESSAGE(select_variants(all, {"plain", "dien"}), Error);
  EXPECT_THAT(message, HasSubstr("unknown variant 'dien'"));
  EXPECT_THAT(message, HasSubstr("plain, senet, din, poso, no-senet, no-din, no-poso, full"));

  const std::vector<Variant> two = derive_variants(synth_config({"poso.enabled=false"}));
  EXPECT_THAT(HEED_ERROR_MESSAGE(select_variants(two, {"poso"}), Error),
              HasSubstr("variant 'poso' needs POSO, which the config does not enable"));
}

}  // namespace
}  // namespace heed::ablate
