#pragma once
// The variants of an ablation, derived from one config: the plain model (no module), each
// enabled module alone, the full model minus each module, and the full model. Only the
// modules the config enables take part; a variant whose set of modules equals an earlier
// one's is dropped (with two modules "full minus SENet" is "DIN alone").
//
// Switching a module off:
//   SENet  senet.enabled = false
//   POSO   poso.enabled = false
//   DIN    every DIN-pooled feature (leads and the companions they attend with) gets
//          pooling = "mean"; query and attend_with are cleared
#include <string>
#include <vector>

#include "config/config.h"

namespace heed::ablate {

enum class Module { kSenet, kDin, kPoso };

const char* to_string(Module module);     // "senet", "din", "poso"
const char* display_name(Module module);  // "SENet", "DIN", "POSO"

// The modules `config` enables, in the order SENet, DIN, POSO.
std::vector<Module> enabled_modules(const Config& config);

struct Variant {
  std::string name;                 // plain, senet, din, poso, no-senet, no-din, no-poso, full
  std::vector<Module> modules;      // switched on, in the order SENet, DIN, POSO
  Config config;                    // the full config with the other modules switched off
  std::string description() const;  // "plain", "+SENet", "SENet + DIN + POSO", ...
};

// Every name a variant can have, in report order.
const std::vector<std::string>& variant_names();

// `full` with only `modules` left on (each must be enabled in `full`). The result is
// re-checked by the config loader, so it is a config `heed train` would accept.
Config with_modules(const Config& full, const std::vector<Module>& modules);

// The variants of `full`, in the order plain, each module alone, full minus each module,
// full. Throws heed::Error when the config enables no module (there is nothing to ablate).
std::vector<Variant> derive_variants(const Config& full);

// The variants named in `names` (variant_names() spellings), in derivation order. A name
// whose variant was dropped as a duplicate selects the variant it duplicates ("no-din" with
// only SENet and DIN is "senet"). Throws heed::Error for an unknown name, listing the valid
// ones, and for a name that needs a module the config does not enable.
std::vector<Variant> select_variants(const std::vector<Variant>& variants,
                                     const std::vector<std::string>& names);

}  // namespace heed::ablate
