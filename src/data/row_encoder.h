#pragma once
// One row's raw values -> hashed keys and dense values, exactly as training reads them. The
// dataset loader feeds it the cells of each file row and `heed serve` the values of each
// request, so a value scores the same whichever way it arrived.
//
//   categorical   one value                  -> one key (the empty string is a value too)
//   multi         values joined by separator -> a key per non-empty value, the first max_len
//   sequence      values joined by separator -> a key per non-empty value, the last max_len
//                 (for both, a value equal to the feature's padding counts as empty)
//   numeric       a number, or empty         -> a dense input (NaN when empty), or the key of
//                                               its bucket when bucketized
//
// A bad value throws FeatureValueError, naming the feature and the problem but not where the
// value came from: the caller adds that (file, line and column; or the request field).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "core/error.h"
#include "data/dataset.h"

namespace heed {

class FeatureValueError : public Error {
 public:
  FeatureValueError(std::size_t feature, std::string reason, const std::string& message)
      : Error(message), feature_(feature), reason_(std::move(reason)) {}
  std::size_t feature() const { return feature_; }       // index into Schema::features
  const std::string& reason() const { return reason_; }  // "numeric", "din_alignment"

 private:
  std::size_t feature_;
  std::string reason_;
};

// `s` without the spaces around it (files pad cells, e.g. " 50000+.").
std::string_view trim_spaces(std::string_view s);

// A whole finite number, as files write them (surrounding spaces and a leading '+' allowed).
bool parse_number(std::string_view text, double& out);

// Bucket id of a numeric value under a feature's bucketizer (log2: floor(log2 x) + 2 for
// x >= 1, the integer part below that; boundaries: index of the first edge above x).
std::int64_t numeric_bucket(const FeatureInfo& feature, double value);

// Appends rows to a Dataset one feature at a time: every feature of the schema gets exactly one
// add_text or add_number call per row, in any order, then finish_row closes the row.
class RowEncoder {
 public:
  explicit RowEncoder(const Schema& schema) : schema_(schema), values_given_(schema.features.size(), 0) {}

  // Gives `data` a key column per feature and a value column per dense input.
  void prepare(Dataset& data) const;
  // Feature `feature`'s value as a file cell holds it.
  void add_text(std::size_t feature, std::string_view text, Dataset& data);
  // Every feature's value as a file cell holds it, texts[f] for feature f: add_text of each in
  // feature order (the first bad value throws), for a whole row at once.
  void add_row(const std::vector<std::string_view>& texts, Dataset& data);
  // The same, where some multi or sequence features' keys came hashed (a DataFrame's lists:
  // text_table.h), and the caller puts them in `data`: for such a feature f, hashed_given[f] is
  // the number of values its row gave (before max_len; DIN's alignment check reads it) and
  // texts[f] is not read. kNotHashed for the others.
  static constexpr std::size_t kNotHashed = static_cast<std::size_t>(-1);
  void add_row(const std::vector<std::string_view>& texts, const std::vector<std::size_t>& hashed_given,
               Dataset& data);
  // A multi or sequence feature's values as several cells hold them (a sparse line's indices):
  // the same keys as add_text of the cells joined by the feature's separator, without the join.
  void add_values(std::size_t feature, const std::vector<std::string_view>& values, Dataset& data);
  // A numeric feature's value as a number (NaN: missing, like an empty cell).
  void add_number(std::size_t feature, double value, Dataset& data) const;
  // Checks that the features DIN attends together were given as many values each (before
  // max_len keeps the last ones: two sequences one value apart would otherwise pass, shifted
  // against each other), and counts the row.
  void finish_row(Dataset& data);

 private:
  void encode_text(std::size_t feature, std::string_view text, Dataset& data);
  void encode_number(std::size_t feature, double value, Dataset& data) const;
  // Appends the keys of `text`'s non-empty values, split by the feature's separator.
  void add_tokens(const FeatureInfo& feature, std::string_view text, KeyColumn& out) const;
  // Ends a multi or sequence feature's row whose keys start at `first`: counts them, keeps max_len.
  void close_values(std::size_t feature, std::size_t first, KeyColumn& out);

  const Schema& schema_;
  // Per multi or sequence feature: values in this row's cell before max_len (every row's
  // add_text sets it anew, so nothing carries over from a row before).
  std::vector<std::size_t> values_given_;
};

}  // namespace heed
