#include "config/options.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>

#include "core/error.h"

namespace heed {
namespace {

// --- conversions between TOML nodes and the C++ types options use -------------------------

template <class T>
struct TomlType;

template <>
struct TomlType<std::int64_t> {
  static constexpr const char* name = "integer";
  static std::optional<std::int64_t> read(const toml::node& n) { return n.value_exact<std::int64_t>(); }
  static toml::node_ptr write(std::int64_t v) { return std::make_unique<toml::value<std::int64_t>>(v); }
};
template <>
struct TomlType<std::uint64_t> {
  static constexpr const char* name = "non-negative integer";
  static std::optional<std::uint64_t> read(const toml::node& n) {
    auto v = n.value_exact<std::int64_t>();
    if (!v || *v < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*v);
  }
  static toml::node_ptr write(std::uint64_t v) {
    return std::make_unique<toml::value<std::int64_t>>(static_cast<std::int64_t>(v));
  }
};
template <>
struct TomlType<double> {
  static constexpr const char* name = "float";
  static std::optional<double> read(const toml::node& n) {
    if (n.is_integer()) return static_cast<double>(*n.value<std::int64_t>());
    return n.value_exact<double>();
  }
  static toml::node_ptr write(double v) { return std::make_unique<toml::value<double>>(v); }
};
template <>
struct TomlType<bool> {
  static constexpr const char* name = "boolean";
  static std::optional<bool> read(const toml::node& n) { return n.value_exact<bool>(); }
  static toml::node_ptr write(bool v) { return std::make_unique<toml::value<bool>>(v); }
};
template <>
struct TomlType<std::string> {
  static constexpr const char* name = "string";
  static std::optional<std::string> read(const toml::node& n) { return n.value_exact<std::string>(); }
  static toml::node_ptr write(const std::string& v) { return std::make_unique<toml::value<std::string>>(v); }
};
template <class E>
struct TomlType<std::vector<E>> {
  static inline const std::string name_storage = std::string("list of ") + TomlType<E>::name;
  static constexpr const char* name = "list";
  static std::optional<std::vector<E>> read(const toml::node& n) {
    if constexpr (std::is_same_v<E, std::string>) {
      if (n.is_string()) return std::vector<E>{*n.value<std::string>()};  // "a" means ["a"]
    }
    const toml::array* array = n.as_array();
    if (!array) return std::nullopt;
    std::vector<E> out;
    for (const toml::node& element : *array) {
      auto v = TomlType<E>::read(element);
      if (!v) return std::nullopt;
      out.push_back(*v);
    }
    return out;
  }
  static toml::node_ptr write(const std::vector<E>& v) {
    auto array = std::make_unique<toml::array>();
    for (const E& e : v) array->push_back(e);
    return array;
  }
};
template <>
struct TomlType<FeatureKind> {
  static constexpr const char* name = "string";
  static std::optional<FeatureKind> read(const toml::node& n) {
    auto s = n.value_exact<std::string>();
    if (!s) return std::nullopt;
    for (auto k : {FeatureKind::kCategorical, FeatureKind::kMulti, FeatureKind::kSequence,
                   FeatureKind::kNumeric})
      if (*s == to_string(k)) return k;
    throw Error(fmt::format("'{}' is not a feature kind (categorical, multi, sequence, numeric)", *s));
  }
  static toml::node_ptr write(FeatureKind v) {
    return std::make_unique<toml::value<std::string>>(to_string(v));
  }
};

// A value out of a closed set (config/choices.h): the name as a TOML string. An unknown name
// is a bad value, not a bad type; the builder reports it with the choices.
template <ChoiceEnum E>
struct TomlType<E> {
  static constexpr const char* name = "string";
  static std::optional<std::string> read_name(const toml::node& n) { return n.value_exact<std::string>(); }
  static toml::node_ptr write(E v) { return std::make_unique<toml::value<std::string>>(choice_name(v)); }
};

// A choice a config may leave unset, to be resolved from other keys (a feature's pooling): ""
// in the file.
template <ChoiceEnum E>
struct TomlType<std::optional<E>> {
  static constexpr const char* name = "string";
  static std::optional<std::string> read_name(const toml::node& n) { return n.value_exact<std::string>(); }
  static toml::node_ptr write(const std::optional<E>& v) {
    return std::make_unique<toml::value<std::string>>(v ? choice_name(*v) : "");
  }
};

template <class T>
struct IsOptionalChoice : std::false_type {};
template <ChoiceEnum E>
struct IsOptionalChoice<std::optional<E>> : std::true_type {
  using Enum = E;
};

template <class T>
std::string type_name() {
  if constexpr (requires { TomlType<T>::name_storage; }) return TomlType<T>::name_storage;
  return TomlType<T>::name;
}

template <class T>
std::string toml_text(const T& value) {
  return toml_value_text(*TomlType<T>::write(value));
}

// --- checks ---------------------------------------------------------------------------------

template <class T>
using Check = std::function<std::string(const T&)>;  // empty string: the value is fine

std::string must_be_one_of(const std::vector<std::string>& choices) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + ("\"" + c + "\"");
  return "must be one of " + list;
}


template <ChoiceEnum E>
std::vector<std::string> choice_names() {
  std::vector<std::string> names;
  for (const auto& c : Choices<E>::list) names.push_back(c.name);
  return names;
}

// The names of E's choices that `check` accepts (all of them without a check).
template <ChoiceEnum E>
std::vector<std::string> accepted_names(const Check<E>& check) {
  std::vector<std::string> names;
  for (const auto& c : Choices<E>::list)
    if (!check || check(c.value).empty()) names.push_back(c.name);
  return names;
}

// The poolings a feature that names none may fall back to: every one but DIN, which needs a query.
Check<Pooling> plain_pooling_only() {
  return [](const Pooling& p) -> std::string {
    if (p != Pooling::kDin) return "";
    std::vector<std::string> plain;
    for (const auto& c : Choices<Pooling>::list)
      if (c.value != Pooling::kDin) plain.push_back(c.name);
    return must_be_one_of(plain);
  };
}

// Reads `node` as a T; nullopt when it has the wrong type. A name outside an enum's choices
// throws, naming the key, the value and the choices `check` accepts.
template <class T>
std::optional<T> read_value(const toml::node& node, const std::string& full_key, const Check<T>& check) {
  if constexpr (ChoiceEnum<T>) {
    const std::optional<std::string> name = TomlType<T>::read_name(node);
    if (!name) return std::nullopt;
    if (const std::optional<T> value = choice_named<T>(*name)) return value;
    throw Error(fmt::format("{} = {} {}", full_key, toml_text(*name), must_be_one_of(accepted_names<T>(check))));
  } else if constexpr (IsOptionalChoice<T>::value) {
    using E = typename IsOptionalChoice<T>::Enum;
    const std::optional<std::string> name = TomlType<T>::read_name(node);
    if (!name) return std::nullopt;
    if (name->empty()) return T{};
    if (const std::optional<E> value = choice_named<E>(*name)) return T{*value};
    std::vector<std::string> names = choice_names<E>();
    names.insert(names.begin(), "");
    throw Error(fmt::format("{} = {} {}", full_key, toml_text(*name), must_be_one_of(names)));
  } else {
    try {
      return TomlType<T>::read(node);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", full_key, e.what()));
    }
  }
}
template <class T>
Check<T> at_least(T low) {
  return [low](const T& v) -> std::string {
    return v >= low ? "" : fmt::format("must be at least {}", low);
  };
}
Check<double> between(double low, double high) {
  return [=](const double& v) -> std::string {
    return v >= low && v <= high ? "" : fmt::format("must be between {} and {}", low, high);
  };
}
Check<double> positive() {
  return [](const double& v) -> std::string { return v > 0 ? "" : "must be positive"; };
}
Check<std::vector<std::int64_t>> all_positive() {
  return [](const std::vector<std::int64_t>& v) -> std::string {
    for (auto x : v)
      if (x <= 0) return "every entry must be a positive integer";
    return {};
  };
}

// --- the builder ----------------------------------------------------------------------------

// Marks a key --resume may change: how long and how visibly to train, or where the data lies,
// never what is trained.
template <class Owner>
Option<Owner> resumable(Option<Owner> o) {
  o.resumable = true;
  return o;
}

template <class Owner, class T>
Option<Owner> option(std::string key, T default_value, std::string help,
                     std::function<T&(Owner&)> field, Check<T> check = {}) {
  Option<Owner> o;
  o.key = std::move(key);
  o.type = type_name<T>();
  o.default_text = toml_text(default_value);
  o.help = std::move(help);
  o.reset = [field, default_value](Owner& owner) { field(owner) = default_value; };
  o.assign = [field, check](Owner& owner, const toml::node& node, const std::string& full_key) {
    std::optional<T> value = read_value<T>(node, full_key, check);
    if (!value) {
      std::ostringstream got;
      node.visit([&](auto&& n) { got << n; });
      const std::string type = type_name<T>();
      const bool vowel = std::string_view("aeiou").find(type.front()) != std::string_view::npos;
      throw Error(fmt::format("{} must be {} {}, got {}", full_key, vowel ? "an" : "a", type, got.str()));
    }
    if (check) {
      std::string problem = check(*value);
      if (!problem.empty()) {
        throw Error(fmt::format("{} = {} {}", full_key, toml_text(*value), problem));
      }
    }
    field(owner) = std::move(*value);
  };
  o.current = [field](const Owner& owner) {
    return TomlType<T>::write(field(const_cast<Owner&>(owner)));
  };
  o.member = [field](const Owner& owner) -> const void* { return &field(const_cast<Owner&>(owner)); };
  return o;
}

using Int = std::int64_t;
using Strings = std::vector<std::string>;

std::vector<Option<Config>> make_run_options() {
  using C = Config;
  std::vector<Option<C>> o;
  // data
  o.push_back(resumable(option<C, std::string>("data.dir", "", "Folder that data.train/valid/test are relative to.",
      [](C& c) -> auto& { return c.data.dir; })));
  o.push_back(option<C, std::string>("data.train", "train.tsv", "Training file.",
      [](C& c) -> auto& { return c.data.train; }));
  o.push_back(option<C, std::string>("data.valid", "", "Validation file (empty: carve data.valid_fraction from train).",
      [](C& c) -> auto& { return c.data.valid; }));
  o.push_back(option<C, std::string>("data.test", "test.tsv", "Test file (empty: none).",
      [](C& c) -> auto& { return c.data.test; }));
  o.push_back(option<C, DataFormat>("data.format", DataFormat::kTsv,
      "Row format of the files: tsv, csv (quoted fields allowed, also holding line breaks), libsvm (also libFM: `label idx:val ...`), "
      "libffm (`label field:idx:val ...`) or criteo (the raw Criteo layout: TAB, no header, label, I1..I13, C1..C26).",
      [](C& c) -> auto& { return c.data.format; }));
  o.push_back(option<C, std::string>("data.delimiter", "", "Column delimiter (empty: tab for tsv, comma for csv).",
      [](C& c) -> auto& { return c.data.delimiter; },
      [](const std::string& v) -> std::string { return v.size() <= 1 ? "" : "must be a single character"; }));
  o.push_back(option<C, bool>("data.header", true, "Whether the first line of each file names the columns.",
      [](C& c) -> auto& { return c.data.header; }));
  o.push_back(option<C, Strings>("data.columns", {}, "Column names, for files without a header.",
      [](C& c) -> auto& { return c.data.columns; }));
  o.push_back(option<C, std::string>("data.label", "label",
      "Column holding the label (libsvm and libffm: the name given to the first token of each line).",
      [](C& c) -> auto& { return c.data.label; }));
  o.push_back(option<C, std::vector<double>>("data.label_values", {0.0, 1.0},
      "The label's negative and positive values as the files write them, e.g. [-1, 1] for libFM files; any "
      "other label is a bad row.",
      [](C& c) -> auto& { return c.data.label_values; },
      [](const std::vector<double>& v) -> std::string {
        return v.size() == 2 && v[0] != v[1] ? "" : "must be two different numbers: [negative, positive]";
      }));
  o.push_back(option<C, double>("data.label_threshold", std::numeric_limits<double>::quiet_NaN(),
      "When set, the label is any number, positive at or above this value and negative below it (e.g. 4 for "
      "1-5 star ratings); data.label_values is then not used.",
      [](C& c) -> auto& { return c.data.label_threshold; }));
  o.push_back(option<C, Strings>("data.label_texts", {},
      "When set, the label is text: [negative, positive] as the files write them, compared without surrounding "
      "spaces (e.g. [\"- 50000.\", \"50000+.\"]); any other label is a bad row.",
      [](C& c) -> auto& { return c.data.label_texts; },
      [](const Strings& v) -> std::string {
        return v.empty() || (v.size() == 2 && v[0] != v[1]) ? "" : "must be two different texts: [negative, positive]";
      }));
  o.push_back(option<C, SparseFields>("data.sparse_fields", SparseFields::kPosition,
      "libsvm: which field an idx:val pair feeds. position: the k-th pair of a line is field k (every line has "
      "one pair per field, as Frappe's); ranges: the field whose data.field_starts range holds idx.",
      [](C& c) -> auto& { return c.data.sparse_fields; }));
  o.push_back(option<C, std::vector<Int>>("data.field_starts", {},
      "libsvm with sparse_fields = \"ranges\": the first index of each field, ascending (field k holds "
      "indices from field_starts[k] up to the next start).",
      [](C& c) -> auto& { return c.data.field_starts; },
      [](const std::vector<Int>& v) -> std::string {
        for (std::size_t i = 0; i < v.size(); ++i)
          if (v[i] < 0 || (i > 0 && v[i] <= v[i - 1])) return "must be non-negative and strictly ascending";
        return {};
      }));
  o.push_back(option<C, double>("data.valid_fraction", 0.1,
      "Share of train rows held out for validation when data.valid is empty (0: no validation).",
      [](C& c) -> auto& { return c.data.valid_fraction; }, between(0.0, 0.9)));
  o.push_back(option<C, std::string>("data.valid_by", "",
      "Column whose value decides the validation carve, so e.g. all of a user's rows fall on one side "
      "(empty: each row by its position).",
      [](C& c) -> auto& { return c.data.valid_by; }));
  o.push_back(option<C, std::string>("data.valid_by_time", "",
      "Timestamp column (any number that grows with time, e.g. unix seconds): the validation carve holds out "
      "the latest data.valid_fraction of the training rows instead of a hashed share (empty: no time split).",
      [](C& c) -> auto& { return c.data.valid_by_time; }));
  o.push_back(option<C, StreamMode>("data.stream", StreamMode::kAuto,
      "Training data in memory (off), or streamed from the files every epoch through a shuffle buffer, "
      "memory bounded whatever the file size (on). auto: on when the training files take 1 GiB or more on disk.",
      [](C& c) -> auto& { return c.data.stream; }));
  o.push_back(option<C, Int>("data.shuffle_buffer", 262144,
      "Streaming: rows held and shuffled at a time; each round trains on a random half and keeps the other "
      "half to mix with the next rows (a larger buffer mixes more and takes more memory). Rows arrive in parse "
      "chunks of 8,192, so a smaller buffer acts as 8,192.",
      [](C& c) -> auto& { return c.data.shuffle_buffer; }, at_least<Int>(2)));
  o.push_back(option<C, Int>("data.parser_threads", 1,
      "Threads parsing and hashing rows (one more reads and decompresses): while the model trains when "
      "streaming, and for files read into memory when above 1. Results do not depend on it.",
      [](C& c) -> auto& { return c.data.parser_threads; }, at_least<Int>(1)));
  o.push_back(option<C, OnError>("data.on_error", OnError::kFail,
      "A malformed row: fail stops with a message naming file, line and column; skip leaves it out, counts "
      "it per reason, writes it with its byte offset to a rejected-lines file and prints a summary.",
      [](C& c) -> auto& { return c.data.on_error; }));
  o.push_back(option<C, double>("data.max_skip_fraction", 0.01,
      "With on_error = \"skip\": the run still stops once more than this share of a split's rows was bad "
      "(checked from the 1000th row on, and at the end).",
      [](C& c) -> auto& { return c.data.max_skip_fraction; }, between(0.0, 1.0)));
  o.push_back(option<C, std::string>("data.rejects_dir", "",
      "With on_error = \"skip\": folder of the rejected-lines files rejected_<split>.txt (empty: the run "
      "folder when training, the current folder otherwise).",
      [](C& c) -> auto& { return c.data.rejects_dir; }));
  o.push_back(option<C, Int>("data.max_line_bytes", 16 << 20,
      "Longest line accepted (for csv: record, whose quoted cells may span lines); a longer one is a bad row "
      "naming its file and line, read past without being held in memory (this also bounds the values of a "
      "multi-valued or sequence cell, and how far a quote left open is followed): never an out-of-memory kill.",
      [](C& c) -> auto& { return c.data.max_line_bytes; }, at_least<Int>(16)));
  o.push_back(option<C, Int>("data.max_field_bytes", 1 << 20, "Longest single field accepted; a longer one is a bad row.",
      [](C& c) -> auto& { return c.data.max_field_bytes; }, at_least<Int>(1)));
  // embedding
  o.push_back(option<C, Int>("embedding.dim", 16, "Length of every embedding vector.",
      [](C& c) -> auto& { return c.embedding.dim; }, at_least<Int>(1)));
  o.push_back(option<C, Int>("embedding.buckets", 0,
      "0: tables grow as keys arrive; N > 0: every table hashes keys into N fixed rows (bounded memory).",
      [](C& c) -> auto& { return c.embedding.buckets; }, at_least<Int>(0)));
  o.push_back(option<C, double>("embedding.init_std", 0.05,
      "Standard deviation of a new row's initial values (drawn from the key and seed only).",
      [](C& c) -> auto& { return c.embedding.init_std; }, at_least(0.0)));
  o.push_back(option<C, UnseenPolicy>("embedding.unseen", UnseenPolicy::kZero,
      "Vector of a key never seen in training: \"zero\", or \"default\", a learned row per table.",
      [](C& c) -> auto& { return c.embedding.unseen; }));
  o.push_back(option<C, double>("embedding.default_rate", 0.02,
      "With unseen = \"default\": share of training lookups routed to the default row, which is "
      "how it learns what an unknown value looks like.",
      [](C& c) -> auto& { return c.embedding.default_rate; }, between(0.0, 0.5)));
  o.push_back(option<C, Pooling>("embedding.multi_pooling", Pooling::kSqrtN,
      "Pooling of a multi feature that names none (and of a DIN-pooled one with din.enabled = false): "
      "sum, mean or sqrtn.",
      [](C& c) -> auto& { return c.embedding.multi_pooling; }, plain_pooling_only()));
  o.push_back(option<C, Pooling>("embedding.sequence_pooling", Pooling::kSqrtN,
      "Pooling of a sequence feature that names none (and of a DIN-pooled one with din.enabled = false): "
      "sum, mean or sqrtn.",
      [](C& c) -> auto& { return c.embedding.sequence_pooling; }, plain_pooling_only()));
  // model
  o.push_back(option<C, std::vector<Int>>("model.hidden", {256, 128}, "Widths of the MLP's hidden layers.",
      [](C& c) -> auto& { return c.model.hidden; }, all_positive()));
  o.push_back(option<C, ActivationKind>("model.activation", ActivationKind::kRelu, "Activation of the hidden layers.",
      [](C& c) -> auto& { return c.model.activation; }));
  o.push_back(option<C, double>("model.dropout", 0.0, "Dropout rate after each hidden layer (training only).",
      [](C& c) -> auto& { return c.model.dropout; }, between(0.0, 0.9)));
  // senet
  o.push_back(option<C, bool>("senet.enabled", false, "Gate the field vectors with SENet (FiBiNET's squeeze and excitation).",
      [](C& c) -> auto& { return c.senet.enabled; }));
  o.push_back(option<C, SenetAxis>("senet.axis", SenetAxis::kField,
      "What gets one weight: each field (field), each embedding dim (dim), or every element (element).",
      [](C& c) -> auto& { return c.senet.axis; }));
  o.push_back(option<C, SenetSqueeze>("senet.squeeze", SenetSqueeze::kMean,
      "How a field vector becomes one number: its mean, or a learned dense projection (dense).",
      [](C& c) -> auto& { return c.senet.squeeze; }));
  o.push_back(option<C, Int>("senet.reduction", 3, "Reduction ratio r of the excitation: n -> max(1, n/r) -> n.",
      [](C& c) -> auto& { return c.senet.reduction; }, at_least<Int>(1)));
  o.push_back(option<C, SenetGate>("senet.gate", SenetGate::kSigmoid,
      "Final activation of the excitation (FiBiNET implementations differ: sigmoid or relu; none = linear).",
      [](C& c) -> auto& { return c.senet.gate; }));
  o.push_back(option<C, Strings>("senet.fields", {}, "Features SENet gates (empty: every embedding feature).",
      [](C& c) -> auto& { return c.senet.fields; }));
  o.push_back(option<C, double>("senet.weight_l1", 0.0,
      "L1 penalty on SENet's weights, added to the training loss per row: a field the loss does not need "
      "drifts towards weight 0, so heed explain's field ranking separates signal from noise. 0: off (FiBiNET).",
      [](C& c) -> auto& { return c.senet.weight_l1; }, at_least<double>(0.0)));
  // din
  o.push_back(option<C, bool>("din.enabled", true,
      "Pool features that say pooling = \"din\" with target attention; false: with their plain pooling "
      "(embedding.sequence_pooling or embedding.multi_pooling), the query and companions left unused.",
      [](C& c) -> auto& { return c.din.enabled; }));
  o.push_back(option<C, std::vector<Int>>("din.hidden", {80, 40}, "Widths of DIN's activation unit MLP.",
      [](C& c) -> auto& { return c.din.hidden; }, all_positive()));
  o.push_back(option<C, DinActivation>("din.activation", DinActivation::kDice, "Activation of DIN's activation unit.",
      [](C& c) -> auto& { return c.din.activation; }));
  o.push_back(option<C, DinNormalize>("din.normalize", DinNormalize::kSoftmax,
      "How a row's attention scores become weights: raw (the DIN paper), softmax over the row's values, "
      "mean (raw / count) or sqrtn (raw / sqrt(count)). The legacy din.softmax = true|false means softmax|raw.",
      [](C& c) -> auto& { return c.din.normalize; }));
  // poso
  o.push_back(option<C, bool>("poso.enabled", false, "Scale the MLP's hidden neurons with POSO's personalized gates.",
      [](C& c) -> auto& { return c.poso.enabled; }));
  o.push_back(option<C, Strings>("poso.features", {},
      "Personalization features feeding the gates (a new-user flag, an activity bucket, ...).",
      [](C& c) -> auto& { return c.poso.features; }));
  o.push_back(option<C, std::vector<Int>>("poso.layers", {}, "Hidden layers gated, counted from 0 (empty: all).",
      [](C& c) -> auto& { return c.poso.layers; }));
  o.push_back(option<C, Int>("poso.gate_hidden", 32, "Hidden width of each gate network.",
      [](C& c) -> auto& { return c.poso.gate_hidden; }, at_least<Int>(1)));
  o.push_back(option<C, double>("poso.scale", 2.0, "C in the gates' C * sigmoid (C = 2 keeps a fresh gate at 1).",
      [](C& c) -> auto& { return c.poso.scale; },
      [](const double& v) -> std::string { return v > 1.0 ? "" : "must be greater than 1 (a fresh gate is C * sigmoid(b) = 1)"; }));
  o.push_back(option<C, bool>("poso.all_fields", false,
      "Also feed the gates a stop-gradient copy of every field vector.",
      [](C& c) -> auto& { return c.poso.all_fields; }));
  // optimizer
  o.push_back(option<C, double>("optimizer.lr", 1e-3, "Adam learning rate of the dense weights.",
      [](C& c) -> auto& { return c.optimizer.lr; }, positive()));
  o.push_back(option<C, double>("optimizer.embedding_lr", 1e-3, "Learning rate of the embedding rows.",
      [](C& c) -> auto& { return c.optimizer.embedding_lr; }, positive()));
  o.push_back(option<C, EmbeddingOptimizer>("optimizer.embedding", EmbeddingOptimizer::kAdam,
      "Optimizer of the embedding rows; only the rows a batch touched are updated.",
      [](C& c) -> auto& { return c.optimizer.embedding; }));
  o.push_back(option<C, double>("optimizer.beta1", 0.9, "Adam's first-moment decay.",
      [](C& c) -> auto& { return c.optimizer.beta1; }, between(0.0, 0.999999)));
  o.push_back(option<C, double>("optimizer.beta2", 0.999, "Adam's second-moment decay.",
      [](C& c) -> auto& { return c.optimizer.beta2; }, between(0.0, 0.999999)));
  o.push_back(option<C, double>("optimizer.epsilon", 1e-8, "Adam's and Adagrad's denominator guard.",
      [](C& c) -> auto& { return c.optimizer.epsilon; }, positive()));
  o.push_back(option<C, double>("optimizer.l2_embedding", 0.0, "L2 penalty on the embedding rows a batch touched.",
      [](C& c) -> auto& { return c.optimizer.l2_embedding; }, at_least(0.0)));
  o.push_back(option<C, double>("optimizer.l2_dense", 0.0, "L2 penalty on the dense weights.",
      [](C& c) -> auto& { return c.optimizer.l2_dense; }, at_least(0.0)));
  o.push_back(option<C, double>("optimizer.adagrad_initial", 0.1, "Adagrad's initial accumulator value.",
      [](C& c) -> auto& { return c.optimizer.adagrad_initial; }, at_least(0.0)));
  o.push_back(option<C, double>("optimizer.clip_norm", 0.0,
      "Scale each step's gradients (dense and embedding together) down to this global L2 norm when larger (0: no clipping).",
      [](C& c) -> auto& { return c.optimizer.clip_norm; }, at_least(0.0)));
  // train
  o.push_back(resumable(option<C, Int>("train.epochs", 5, "Passes over the training data.",
      [](C& c) -> auto& { return c.train.epochs; }, at_least<Int>(1))));
  o.push_back(option<C, Int>("train.batch_size", 1024, "Rows per optimizer step.",
      [](C& c) -> auto& { return c.train.batch_size; }, at_least<Int>(1)));
  o.push_back(option<C, Int>("train.threads", 0, "Worker threads (0: every core). Results are identical for a given seed and thread count.",
      [](C& c) -> auto& { return c.train.threads; }, at_least<Int>(0)));
  o.push_back(option<C, std::uint64_t>("train.seed", 1, "Seed of initialization, shuffling and dropout.",
      [](C& c) -> auto& { return c.train.seed; }));
  o.push_back(option<C, bool>("train.shuffle", true, "Shuffle the training rows every epoch.",
      [](C& c) -> auto& { return c.train.shuffle; }));
  o.push_back(option<C, EarlyStopMetric>("train.early_stop_metric", EarlyStopMetric::kAuc,
      "Validation metric that picks the kept model and stops training (\"none\": keep the last epoch; "
      "an AUC the validation labels leave undefined falls back to logloss, with a warning).",
      [](C& c) -> auto& { return c.train.early_stop_metric; }));
  o.push_back(resumable(option<C, Int>("train.patience", 2, "Epochs without improvement before training stops.",
      [](C& c) -> auto& { return c.train.patience; }, at_least<Int>(1))));
  o.push_back(resumable(option<C, ProgressMode>("train.progress", ProgressMode::kAuto,
      "Progress display: a live bar on a terminal, log lines otherwise (auto), or forced.",
      [](C& c) -> auto& { return c.train.progress; })));
  o.push_back(resumable(option<C, Int>("train.checkpoint_steps", 0,
      "Also write a resumable checkpoint every this many optimizer steps within an epoch (0: at epoch ends only).",
      [](C& c) -> auto& { return c.train.checkpoint_steps; }, at_least<Int>(0))));
  o.push_back(resumable(option<C, double>("train.checkpoint_minutes", 0.0,
      "Also write a resumable checkpoint when this many minutes have passed since the last one (0: off).",
      [](C& c) -> auto& { return c.train.checkpoint_minutes; }, at_least(0.0))));
  o.push_back(resumable(option<C, Int>("train.keep_checkpoints", 2,
      "Checkpoints kept in the run folder: `checkpoint` (the newest) and older ones as checkpoint.step-N.",
      [](C& c) -> auto& { return c.train.keep_checkpoints; }, at_least<Int>(1))));
  o.push_back(resumable(option<C, bool>("train.check_finite", true,
      "Stop training at the first NaN or Inf in the loss, gradients or weights, naming the step, rows and layer.",
      [](C& c) -> auto& { return c.train.check_finite; })));
  // Not resumable: like train.threads it changes the steps' arithmetic, and a resumed run takes
  // the steps the uninterrupted one would have taken.
  o.push_back(option<C, TrainPrecision>("train.precision", TrainPrecision::kFp32,
      "Precision of the training products of the MLP's hidden layers and POSO's gate networks: fp32, or bf16 "
      "(bf16 products with fp32 sums, forward and backward; fp32 master weights, rounded again after every "
      "optimizer step; AVX512-BF16 where the CPU has it, the same arithmetic in portable code elsewhere). "
      "Validation, the saved model and scoring (scoring.precision) are not affected.",
      [](C& c) -> auto& { return c.train.precision; }));
  // eval
  o.push_back(option<C, std::string>("eval.group", "",
      "Column that identifies a user for gAUC (empty: gAUC is not computed).",
      [](C& c) -> auto& { return c.eval.group; }));
  o.push_back(option<C, std::string>("eval.slice", "",
      "Column whose values (e.g. new vs active users) each get their own metrics (empty: none).",
      [](C& c) -> auto& { return c.eval.slice; }));
  o.push_back(resumable(option<C, Int>("eval.batch_size", 4096, "Rows scored at a time in evaluation and prediction.",
      [](C& c) -> auto& { return c.eval.batch_size; }, at_least<Int>(1))));
  // scoring
  o.push_back(resumable(option<C, Precision>("scoring.precision", Precision::kFp32,
      "Precision of the scoring products (MLP, DIN's activation unit, SENet, POSO) in heed predict, eval and "
      "serve: fp32, bf16 (bf16 products, fp32 sums) or int8 (per-column weight scales, per-row input scales); "
      "training's products follow train.precision. --precision overrides it at load time.",
      [](C& c) -> auto& { return c.scoring.precision; })));
  return o;
}

std::vector<Option<FeatureConfig>> make_feature_options() {
  using F = FeatureConfig;
  std::vector<Option<F>> o;
  o.push_back(option<F, FeatureKind>("kind", FeatureKind::kCategorical,
      "categorical (one value), multi (a set of values), sequence (ordered values, most recent last) or numeric.",
      [](F& f) -> auto& { return f.kind; }));
  o.push_back(option<F, std::string>("column", "", "Source column (default: the feature's name).",
      [](F& f) -> auto& { return f.column; }));
  o.push_back(option<F, std::string>("table", "",
      "Embedding table (default: the feature's name). Features naming the same table share keys and rows.",
      [](F& f) -> auto& { return f.table; }));
  o.push_back(option<F, std::string>("separator", "|", "Separator between the values of a multi or sequence feature.",
      [](F& f) -> auto& { return f.separator; },
      [](const std::string& v) -> std::string { return v.size() == 1 ? "" : "must be a single character"; }));
  o.push_back(option<F, std::optional<Pooling>>("pooling", std::nullopt,
      "How a multi or sequence feature's vectors become one: sum, mean, sqrtn (sum / sqrt(count)), or din "
      "(target attention with `query`); default: embedding.multi_pooling or embedding.sequence_pooling (sqrtn).",
      [](F& f) -> auto& { return f.pooling; }));
  o.push_back(option<F, Int>("max_len", 0,
      "Most values kept (0: no limit); sequences keep the most recent, multi features the first.",
      [](F& f) -> auto& { return f.max_len; }, at_least<Int>(0)));
  o.push_back(option<F, std::string>("padding", "",
      "Multi and sequence features: a value that marks an empty slot, dropped as an empty value is (e.g. \"0\" "
      "where sequences are padded to a fixed length). Features attended with a sequence take its padding "
      "unless they name their own.",
      [](F& f) -> auto& { return f.padding; }));
  o.push_back(option<F, NumericTransform>("transform", NumericTransform::kNone,
      "Numeric features: none, log1p, standardize or minmax (statistics from the training data).",
      [](F& f) -> auto& { return f.transform; }));
  o.push_back(option<F, Bucketize>("bucketize", Bucketize::kNone,
      "Numeric features: empty for a dense input, or log2 / boundaries / quantile to make it categorical "
      "(quantile: `quantiles` buckets of about equal counts, edges from one pass over the training data).",
      [](F& f) -> auto& { return f.bucketize; }));
  o.push_back(option<F, std::vector<double>>("boundaries", {},
      "Numeric features with bucketize = \"boundaries\": sorted bucket edges. With \"quantile\" training "
      "fills them in (the resolved config.toml records them, so scoring uses the same edges).",
      [](F& f) -> auto& { return f.boundaries; }));
  o.push_back(option<F, Int>("quantiles", 16,
      "Numeric features with bucketize = \"quantile\": number of buckets (fewer when the data has fewer "
      "distinct values).",
      [](F& f) -> auto& { return f.quantiles; }, at_least<Int>(2)));
  o.push_back(option<F, Strings>("query", {},
      "With pooling = \"din\": the feature(s) the values are scored against, e.g. the candidate item "
      "(several: one per feature of the key tuple, in the same order).",
      [](F& f) -> auto& { return f.query; }));
  o.push_back(option<F, Strings>("attend_with", {},
      "With pooling = \"din\": sequences aligned position by position with this one (e.g. the history's "
      "categories) that form the key tuple with it.",
      [](F& f) -> auto& { return f.attend_with; }));
  return o;
}

}  // namespace

const std::vector<Option<Config>>& run_options() {
  static const std::vector<Option<Config>> options = make_run_options();
  return options;
}

const std::vector<Option<FeatureConfig>>& feature_options() {
  static const std::vector<Option<FeatureConfig>> options = make_feature_options();
  return options;
}

Config default_config() {
  Config config;
  for (const auto& o : run_options()) o.reset(config);
  return config;
}

FeatureConfig default_feature(const std::string& name) {
  FeatureConfig feature;
  feature.name = name;
  for (const auto& o : feature_options()) o.reset(feature);
  return feature;
}

std::vector<std::string> resumable_keys() {
  std::vector<std::string> keys;
  for (const auto& o : run_options())
    if (o.resumable) keys.push_back(o.key);
  return keys;
}

Config with_resumable_keys(Config saved, const Config& requested) {
  for (const auto& o : run_options())
    if (o.resumable) o.assign(saved, *o.current(requested), o.key);
  return saved;
}

const Option<Config>* find_run_option(const std::string& key) {
  for (const auto& o : run_options())
    if (o.key == key) return &o;
  return nullptr;
}

const Option<FeatureConfig>* find_feature_option(const std::string& key) {
  for (const auto& o : feature_options())
    if (o.key == key) return &o;
  return nullptr;
}

std::string options_markdown() {
  auto escape = [](std::string s) {
    for (std::size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
    return s;
  };
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& o : run_options())
    out += fmt::format("| `{}` | {} | `{}` | {}{} |\n", o.key, o.type, escape(o.default_text), escape(o.help),
                       o.resumable ? " `--resume` may change it." : "");
  for (const auto& o : feature_options())
    out += fmt::format("| `features.NAME.{}` | {} | `{}` | {} |\n", o.key, o.type, escape(o.default_text), escape(o.help));
  return out;
}

const char* to_string(FeatureKind kind) {
  switch (kind) {
    case FeatureKind::kCategorical: return "categorical";
    case FeatureKind::kMulti: return "multi";
    case FeatureKind::kSequence: return "sequence";
    case FeatureKind::kNumeric: return "numeric";
  }
  return "?";
}

const FeatureConfig* Config::find_feature(const std::string& name) const {
  for (const auto& f : features)
    if (f.name == name) return &f;
  return nullptr;
}

std::string toml_value_text(const toml::node& value) {
  if (const auto* number = value.as_floating_point()) {
    const double v = number->get();
    if (!std::isfinite(v)) return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
    std::string text = fmt::format("{}", v);  // the shortest text that reads back as v
    if (text.find_first_of(".e") == std::string::npos) text += ".0";  // TOML's floats need one of them
    return text;
  }
  if (const auto* array = value.as_array()) {
    if (array->empty()) return "[]";
    std::string text = "[ ";  // toml++'s spacing, which configs and tests already show
    for (std::size_t i = 0; i < array->size(); ++i) text += (i ? ", " : "") + toml_value_text(*array->get(i));
    return text + " ]";
  }
  std::ostringstream out;
  value.visit([&](auto&& n) { out << n; });
  return out.str();
}

}  // namespace heed
