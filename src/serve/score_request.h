#pragma once
// The requests `heed serve` scores, from their body to the rows the scorers read.
//
// POST /v1/score carries {"user": {field: value}, "candidates": [{field: value}, ...],
// "explain": bool}. A field is a column of the training data (the feature's name unless its
// `column` says otherwise) and is given once: in "user" when every candidate shares it, or in
// every candidate. A value is what the training file's cell held: a string; for multi-valued
// and sequence fields also an array of values; for numeric fields also a number; an integer for
// any field (written as its decimal digits); null for an empty cell.
//
// POST /v1/score_rows carries rows in the training file's own layout (header line first when
// the model's data.header is true, as `heed predict --data` reads them).
//
// Both end as rows encoded by the RowEncoder that training uses, so a value means the same in a
// request as in a file.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"
#include "serve/served_model.h"

namespace heed::serve {

struct Limits {
  std::size_t max_candidates = 1000;  // per /v1/score request
  std::size_t max_values = 1000;      // per multi-valued or sequence field (score_rows: as kept)
  std::size_t max_rows = 10000;       // per /v1/score_rows request
  std::size_t max_string_bytes = 1u << 16;  // one JSON string (a value, or a list in one string)
};

// One field's value as the request gave it.
struct RawValue {
  enum class Kind { kText, kNumber, kList };
  Kind kind = Kind::kText;
  std::string text;                // kText; kNumber: the integer in decimal ("" when not whole)
  double number = 0;               // kNumber
  std::vector<std::string> items;  // kList
};

struct ScoreRequest {
  std::vector<std::optional<RawValue>> user;                     // per field of the model
  std::vector<std::vector<std::optional<RawValue>>> candidates;  // per candidate, per field
  bool explain = false;
};

// One field's value from its JSON form (`where` names it in errors): a string, a number, an
// array of values or null, as the field accepts. Throws RequestError.
RawValue parse_field_value(const nlohmann::json& value, const ServedModel& model,
                           const RequestField& field, const Limits& limits,
                           const std::string& where);

// Throws RequestError for malformed JSON, wrong types, unknown, missing or doubly given fields,
// an empty candidate list and anything over the limits.
ScoreRequest parse_score_request(std::string_view body, const ServedModel& model,
                                 const Limits& limits);

// The rows the request scorer reads: what every candidate shares once, the rest per candidate.
struct EncodedRequest {
  Dataset user;              // one row holding the shared features (no rows when none is)
  Dataset candidates;        // one row per candidate holding the others
  std::vector<char> shared;  // per feature: whether `user` holds its value
};

// Throws RequestError for values the features cannot read (a number that is not one, DIN
// sequences of different lengths, ...).
EncodedRequest encode_request(const ScoreRequest& request, const ServedModel& model);
// The plain form: one full row per candidate, the user's values repeated in each.
Dataset encode_rows(const ScoreRequest& request, const ServedModel& model);
// A /v1/score_rows body, every feature per row.
EncodedRequest parse_rows(std::string_view body, const ServedModel& model, const Limits& limits);

}  // namespace heed::serve
