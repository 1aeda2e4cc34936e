#include "data/row_encoder.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>

#include "data/byte_search.h"
#include "data/value_key.h"
#include "hashing/feature_hash_inline.h"

namespace heed {
namespace {

constexpr std::int64_t kMissingBucket = std::numeric_limits<std::int64_t>::min();

FeatureValueError not_a_number(std::size_t fi, const FeatureInfo& f, std::string_view text) {
  return FeatureValueError(fi, "numeric",
                           fmt::format("feature '{}' expects a number, found '{}'", f.name, text));
}

// A number the model cannot hold: its dense inputs are floats, so a value past float's range
// would become infinite and score NaN.
FeatureValueError out_of_range(std::size_t fi, const FeatureInfo& f, double value) {
  return FeatureValueError(
      fi, "numeric",
      fmt::format("feature '{}' expects a finite number within +-{:g} (a float), found {}", f.name,
                  static_cast<double>(std::numeric_limits<float>::max()), value));
}

}  // namespace

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ')) s.remove_suffix(1);
  return s;
}

namespace {
// The common cell, a count: up to 15 digits after an optional '-', read as an integer. Such a
// number is exactly a double, so this gives the value from_chars gives (-0 included).
bool parse_plain_integer(std::string_view text, double& out) {
  const bool negative = !text.empty() && text.front() == '-';
  const std::size_t first = negative ? 1 : 0;
  if (text.size() == first || text.size() - first > 15) return false;
  std::uint64_t v = 0;
  for (std::size_t i = first; i < text.size(); ++i) {
    const auto digit = static_cast<unsigned>(static_cast<unsigned char>(text[i]) - '0');
    if (digit > 9) return false;
    v = v * 10 + digit;
  }
  out = negative ? -static_cast<double>(v) : static_cast<double>(v);
  return true;
}
}  // namespace

bool parse_number(std::string_view text, double& out) {
  if (parse_plain_integer(text, out)) return true;
  text = trim_spaces(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

std::int64_t numeric_bucket(const FeatureInfo& feature, double value) {
  if (feature.bucketizer == Bucketize::kBoundaries) {
    return std::upper_bound(feature.boundaries.begin(), feature.boundaries.end(), value) -
           feature.boundaries.begin();
  }
  // log2: small values keep their integer part (counts 0 and 1 stay distinct), larger ones
  // share a bucket per power of two, as the Criteo winners bucketed counts.
  if (value < 1.0) return static_cast<std::int64_t>(std::floor(std::max(value, -1e15)));
  // A whole count below 2^32 (most of them) takes its bit width, which is floor(log2 x) + 1
  // exactly: log2 of such an integer is never within a rounding error of the next integer.
  if (value < 4294967296.0) {
    const auto whole = static_cast<std::uint64_t>(value);
    if (static_cast<double>(whole) == value) return static_cast<std::int64_t>(std::bit_width(whole)) + 1;
  }
  return static_cast<std::int64_t>(std::floor(std::log2(value))) + 2;
}

void RowEncoder::prepare(Dataset& data) const {
  data.keys.resize(schema_.features.size());
  data.dense.resize(schema_.num_dense);
}

void RowEncoder::add_number(std::size_t fi, double value, Dataset& data) const {
  const FeatureInfo& f = schema_.features[fi];
  HEED_CHECK(f.kind == FeatureKind::kNumeric, "feature '{}' is not numeric", f.name);
  encode_number(fi, value, data);
}

// The bodies of add_number and add_text, compiled into add_row's loop too: a row of tens of
// short cells spends as much on calls as on the cells.
[[gnu::always_inline]] inline void RowEncoder::encode_number(std::size_t fi, double value, Dataset& data) const {
  const FeatureInfo& f = schema_.features[fi];
  if (!std::isnan(value) && !(std::abs(value) <= std::numeric_limits<float>::max()))
    throw out_of_range(fi, f, value);
  if (f.is_dense()) {
    data.dense[static_cast<std::size_t>(f.dense)].push_back(static_cast<float>(value));
    return;
  }
  KeyColumn& out = data.keys[fi];
  const std::uint64_t seed = schema_.tables[static_cast<std::size_t>(f.table)].seed;
  out.keys.push_back(
      hash_integer_inline(std::isnan(value) ? kMissingBucket : numeric_bucket(f, value), seed));
  out.offsets.push_back(out.keys.size());
}

[[gnu::always_inline]] inline void RowEncoder::encode_text(std::size_t fi, std::string_view text, Dataset& data) {
  const FeatureInfo& f = schema_.features[fi];
  if (f.kind == FeatureKind::kNumeric) {
    double v = std::numeric_limits<double>::quiet_NaN();
    if (!trim_spaces(text).empty() && !parse_number(text, v)) throw not_a_number(fi, f, text);
    encode_number(fi, v, data);
    return;
  }
  KeyColumn& out = data.keys[fi];
  if (!f.has_values()) {
    out.keys.push_back(hash_value_inline(text, schema_.tables[static_cast<std::size_t>(f.table)].seed));
    out.offsets.push_back(out.keys.size());
    return;
  }
  const std::size_t first = out.keys.size();
  add_tokens(f, text, out);
  close_values(fi, first, out);
}

void RowEncoder::add_text(std::size_t fi, std::string_view text, Dataset& data) { encode_text(fi, text, data); }

void RowEncoder::add_row(const std::vector<std::string_view>& texts, Dataset& data) {
  HEED_CHECK(texts.size() == schema_.features.size(), "{} values for {} features", texts.size(),
             schema_.features.size());
  for (std::size_t fi = 0; fi < texts.size(); ++fi) encode_text(fi, texts[fi], data);
}

void RowEncoder::add_row(const std::vector<std::string_view>& texts, const std::vector<std::size_t>& hashed_given,
                         Dataset& data) {
  HEED_CHECK(texts.size() == schema_.features.size() && hashed_given.size() == texts.size(),
             "{} values and {} hashed for {} features", texts.size(), hashed_given.size(), schema_.features.size());
  for (std::size_t fi = 0; fi < texts.size(); ++fi) {
    if (hashed_given[fi] == kNotHashed)
      encode_text(fi, texts[fi], data);
    else
      values_given_[fi] = hashed_given[fi];  // its keys are the caller's
  }
}

void RowEncoder::add_values(std::size_t fi, const std::vector<std::string_view>& values, Dataset& data) {
  const FeatureInfo& f = schema_.features[fi];
  HEED_CHECK(f.has_values(), "feature '{}' does not take several values", f.name);
  KeyColumn& out = data.keys[fi];
  const std::size_t first = out.keys.size();
  for (std::string_view v : values) add_tokens(f, v, out);
  close_values(fi, first, out);
}

void RowEncoder::add_tokens(const FeatureInfo& f, std::string_view text, KeyColumn& out) const {
  // Values in order; empty tokens, and the feature's padding value, carry nothing.
  append_text_keys(f, schema_.tables[static_cast<std::size_t>(f.table)].seed, text, out.keys);
}

void RowEncoder::close_values(std::size_t fi, std::size_t first, KeyColumn& out) {
  values_given_[fi] = keep_max_len(schema_.features[fi], out.keys, first);
  out.offsets.push_back(out.keys.size());
}

void RowEncoder::finish_row(Dataset& data) {
  // Features attended together by DIN must be aligned value by value.
  for (const DinGroup& group : schema_.din_groups) {
    const auto lead = static_cast<std::size_t>(group.keys[0]);
    const std::size_t expected = values_given_[lead];
    for (std::size_t k = 1; k < group.keys.size(); ++k) {
      const auto fi = static_cast<std::size_t>(group.keys[k]);
      const std::size_t found = values_given_[fi];
      if (found != expected)
        throw FeatureValueError(
            fi, "din_alignment",
            fmt::format("'{}' has {} values but '{}', which it is attended with, has {}",
                        schema_.features[fi].name, found, schema_.features[lead].name, expected));
    }
  }
  ++data.rows;
}

}  // namespace heed
