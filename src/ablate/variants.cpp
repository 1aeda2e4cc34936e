#include "ablate/variants.h"

#include <algorithm>

#include "config/config_loader.h"
#include "core/error.h"

namespace heed::ablate {
namespace {

constexpr Module kAll[] = {Module::kSenet, Module::kDin, Module::kPoso};

bool has(const std::vector<Module>& modules, Module m) {
  return std::find(modules.begin(), modules.end(), m) != modules.end();
}

std::vector<Module> without(const std::vector<Module>& modules, Module m) {
  std::vector<Module> out;
  for (Module x : modules)
    if (x != m) out.push_back(x);
  return out;
}

bool uses_din(const Config& config) {
  return std::any_of(config.features.begin(), config.features.end(),
                     [](const FeatureConfig& f) { return f.pooling == Pooling::kDin; });
}

std::string list_names() {
  std::string list;
  for (const std::string& n : variant_names()) {
    if (!list.empty()) list += ", ";
    list += n;
  }
  return list;
}

// The modules the variant called `name` switches on, given the enabled ones; throws for
// unknown names and for names that need a module `enabled` lacks.
std::vector<Module> modules_of(const std::string& name, const std::vector<Module>& enabled) {
  if (name == "plain") return {};
  if (name == "full") return enabled;
  for (Module m : kAll) {
    const std::string alone = to_string(m);
    std::string left_out = "no-";
    left_out += to_string(m);
    if (name != alone && name != left_out) continue;
    if (!has(enabled, m))
      throw Error(fmt::format("variant '{}' needs {}, which the config does not enable", name,
                              display_name(m)));
    return name == alone ? std::vector<Module>{m} : without(enabled, m);
  }
  throw Error(fmt::format("unknown variant '{}'; valid variants: {}", name, list_names()));
}

}  // namespace

const char* to_string(Module module) {
  switch (module) {
    case Module::kSenet:
      return "senet";
    case Module::kDin:
      return "din";
    case Module::kPoso:
      return "poso";
  }
  return "?";
}

const char* display_name(Module module) {
  switch (module) {
    case Module::kSenet:
      return "SENet";
    case Module::kDin:
      return "DIN";
    case Module::kPoso:
      return "POSO";
  }
  return "?";
}

std::string Variant::description() const {
  if (modules.empty()) return "plain";
  std::string text;
  for (Module m : modules) {
    if (!text.empty()) text += " + ";
    text += display_name(m);
  }
  return text;
}

const std::vector<std::string>& variant_names() {
  static const std::vector<std::string> names = {"plain",    "senet",  "din",     "poso",
                                                 "no-senet", "no-din", "no-poso", "full"};
  return names;
}

std::vector<Module> enabled_modules(const Config& config) {
  std::vector<Module> modules;
  if (config.senet.enabled) modules.push_back(Module::kSenet);
  if (config.din.enabled && uses_din(config)) modules.push_back(Module::kDin);
  if (config.poso.enabled) modules.push_back(Module::kPoso);
  return modules;
}

Config with_modules(const Config& full, const std::vector<Module>& modules) {
  const std::vector<Module> enabled = enabled_modules(full);
  for (Module m : modules)
    HEED_CHECK(has(enabled, m), "with_modules: the config does not enable {}", display_name(m));
  Config c = full;
  if (!has(modules, Module::kSenet)) c.senet.enabled = false;
  if (!has(modules, Module::kPoso)) c.poso.enabled = false;
  if (!has(modules, Module::kDin)) c.din.enabled = false;  // its features fall back to plain pooling
  // Through the loader again: its defaults and cross-key checks see the changed config.
  return parse_config(to_toml(c), "ablation variant");
}

std::vector<Variant> derive_variants(const Config& full) {
  const std::vector<Module> enabled = enabled_modules(full);
  if (enabled.empty())
    throw Error(
        "the config enables none of SENet (senet.enabled), DIN (a feature with pooling = \"din\" and "
        "din.enabled) "
        "and POSO "
        "(poso.enabled): there is nothing to ablate");
  std::vector<Variant> variants;
  auto add = [&](std::string name, std::vector<Module> modules) {
    const bool duplicate = std::any_of(variants.begin(), variants.end(),
                                       [&](const Variant& v) { return v.modules == modules; });
    if (duplicate) return;
    variants.push_back(Variant{std::move(name), modules, with_modules(full, modules)});
  };
  add("plain", {});
  // "full" is kept under its own name even when a single module makes it equal to "X alone".
  if (enabled.size() == 1) {
    add("full", enabled);
    return variants;
  }
  for (Module m : enabled) add(to_string(m), {m});
  for (Module m : enabled) {
    std::string name = "no-";
    name += to_string(m);
    add(std::move(name), without(enabled, m));
  }
  add("full", enabled);
  return variants;
}

std::vector<Variant> select_variants(const std::vector<Variant>& variants,
                                     const std::vector<std::string>& names) {
  std::vector<Module> enabled;
  for (const Variant& v : variants)
    if (v.name == "full") enabled = v.modules;
  std::vector<bool> chosen(variants.size(), false);
  for (const std::string& name : names) {
    const std::vector<Module> modules = modules_of(name, enabled);
    bool found = false;
    for (std::size_t i = 0; i < variants.size(); ++i)
      if (variants[i].modules == modules) chosen[i] = found = true;
    if (!found) throw Error(fmt::format("variant '{}' is not among the derived variants", name));
  }
  std::vector<Variant> out;
  for (std::size_t i = 0; i < variants.size(); ++i)
    if (chosen[i]) out.push_back(variants[i]);
  return out;
}

}  // namespace heed::ablate
