#include "serve/inference_protocol.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "serve/request_error.h"
#include "serve/request_scorer.h"

namespace heed::serve {
namespace {

using Json = nlohmann::json;

// Builds the body's JSON tree in one linear pass and refuses it as soon as it passes a bound:
// nesting (a body, its inputs, an input, its shape or data), elements of any array, strings.
// The shape of a valid request fits well inside these, so they only ever stop abuse.
class BoundedJsonReader {
 public:
  BoundedJsonReader(Json& root, const Limits& limits, std::size_t max_inputs)
      : dom_(root, true), limits_(limits), max_inputs_(max_inputs) {}

  bool null() { return element() && dom_.null(); }
  bool boolean(bool v) { return element() && dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return element() && dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return element() && dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& raw) {
    return element() && dom_.number_float(v, raw);
  }
  bool string(Json::string_t& v) {
    element();
    if (v.size() > limits_.max_string_bytes)
      throw RequestError(413, "value_too_long",
                         fmt::format("a string of {} bytes, more than the limit of {} "
                                     "(--max-string-bytes)",
                                     v.size(), limits_.max_string_bytes));
    return dom_.string(v);
  }
  bool binary(Json::binary_t& v) { return element() && dom_.binary(v); }
  bool start_object(std::size_t n) {
    open(false);
    return dom_.start_object(n);
  }
  bool key(Json::string_t& k) {
    if (++counts_.back() > 16)
      throw RequestError(400, "wrong_type", "an object of the body has more than 16 members");
    return dom_.key(k);
  }
  bool end_object() {
    close();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    open(true);
    return dom_.start_array(n);
  }
  bool end_array() {
    close();
    return dom_.end_array();
  }
  bool parse_error(std::size_t position, const std::string& token,
                   const nlohmann::detail::exception& e) {
    if (e.id == 406)
      throw RequestError(400, "bad_value", fmt::format("the number {} is out of range", token));
    return dom_.parse_error(position, token, e);
  }

 private:
  static constexpr std::size_t kMaxDepth = 4;  // body, inputs, an input, its data
  void open(bool array) {
    element();
    if (arrays_.size() + 1 > kMaxDepth)
      throw RequestError(400, "bad_json",
                         fmt::format("the body nests deeper than {} levels (data must be flat)",
                                     kMaxDepth));
    arrays_.push_back(array);
    counts_.push_back(0);
  }
  void close() {
    arrays_.pop_back();
    counts_.pop_back();
  }
  bool element() {
    if (arrays_.empty() || !arrays_.back()) return true;
    // The outer array is "inputs" (one per field); inner ones are shapes and data.
    const std::size_t bound =
        arrays_.size() == 2 ? max_inputs_ : std::max(limits_.max_candidates, std::size_t{2});
    if (++counts_.back() > bound)
      throw RequestError(413, arrays_.size() == 2 ? "too_many_inputs" : "too_many_candidates",
                         fmt::format("an array of more than {} elements ({})", bound,
                                     arrays_.size() == 2 ? "one input per field"
                                                         : "--max-candidates"));
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  const Limits& limits_;
  std::size_t max_inputs_;
  std::vector<bool> arrays_;
  std::vector<std::size_t> counts_;
};

// "[a, b]", for messages.
std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// The candidates a tensor's shape holds: [N] or [N, 1].
std::size_t rows_of(const std::vector<std::int64_t>& shape, const std::string& where) {
  const bool ok = !shape.empty() && shape.size() <= 2 &&
                  std::all_of(shape.begin(), shape.end(), [](std::int64_t d) { return d >= 0; }) &&
                  (shape.size() == 1 || shape[1] == 1);
  if (!ok)
    throw RequestError(400, "wrong_type",
                       fmt::format("{}.shape: expected [N] or [N, 1], found {}", where,
                                   shape_text(shape)));
  return static_cast<std::size_t>(shape[0]);
}

// A JSON tensor's "shape" as numbers; anything but whole numbers >= 0 is refused as rows_of
// would refuse it.
std::vector<std::int64_t> shape_of(const Json& shape, const std::string& where) {
  std::vector<std::int64_t> out;
  const bool ok = shape.is_array() && shape.size() <= 2 &&
                  std::all_of(shape.begin(), shape.end(), [](const Json& d) {
                    return d.is_number_unsigned() &&
                           d.get<std::uint64_t>() <= std::uint64_t{1} << 62;
                  });
  if (!ok)
    throw RequestError(400, "wrong_type",
                       fmt::format("{}.shape: expected [N] or [N, 1], found {}", where,
                                   shape.dump()));
  for (const Json& d : shape) out.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
  return out;
}

}  // namespace

bool numeric_datatype(std::string_view datatype) {
  static constexpr std::string_view kNumeric[] = {"INT8",   "INT16",  "INT32",  "INT64", "UINT8",
                                                  "UINT16", "UINT32", "UINT64", "FP32",  "FP64"};
  return std::find(std::begin(kNumeric), std::end(kNumeric), datatype) != std::end(kNumeric);
}

const char* tensor_datatype(const ServedModel& model, const RequestField& field) {
  (void)model;
  return field.numeric ? "FP64" : "BYTES";
}

InferRequest decode_infer_tensors(std::string id, const std::vector<InferTensor>& inputs,
                                  const ServedModel& model, const Limits& limits) {
  InferRequest out;
  out.id = std::move(id);
  // First pass: names, datatypes, shapes; the number of candidates N.
  std::vector<int> field_of(inputs.size());
  std::vector<std::size_t> rows(inputs.size());
  std::vector<char> given(model.fields().size(), 0);
  std::size_t n = 1;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const std::string where = fmt::format("inputs[{}]", k);
    const InferTensor& t = inputs[k];
    const int field = model.field_index(t.name);
    if (field < 0)
      throw RequestError(400, "unknown_field",
                         fmt::format("{}: unknown input '{}' (the model reads: {})", where, t.name,
                                     model.field_list()));
    if (given[static_cast<std::size_t>(field)]++)
      throw RequestError(400, "conflicting_field",
                         fmt::format("{}: input '{}' given twice", where, t.name));
    if (t.datatype != "BYTES" && !numeric_datatype(t.datatype))
      throw RequestError(400, "wrong_type",
                         fmt::format("{} ({}): datatype {} (expected BYTES, INT8..INT64, "
                                     "UINT8..UINT64, FP32 or FP64)",
                                     where, t.name, t.datatype));
    rows[k] = rows_of(t.shape, where);
    if (rows[k] != t.data.size())
      throw RequestError(400, "wrong_type",
                         fmt::format("{} ({}): shape says {} elements, data holds {}", where,
                                     t.name, rows[k], t.data.size()));
    if (rows[k] == 0)
      throw RequestError(400, "empty_candidates",
                         fmt::format("{} ({}): no elements", where, t.name));
    field_of[k] = field;
    if (rows[k] > 1) {
      if (n > 1 && rows[k] != n)
        throw RequestError(400, "wrong_type",
                           fmt::format("{} ({}): {} elements, other inputs have {} (give N, or "
                                       "1 for a value every candidate shares)",
                                       where, t.name, rows[k], n));
      n = rows[k];
    }
  }
  if (n > limits.max_candidates)
    throw RequestError(
        413, "too_many_candidates",
        fmt::format("{} candidates, more than the limit of {} (--max-candidates)", n,
                    limits.max_candidates));
  std::vector<std::string> missing;
  for (std::size_t c = 0; c < given.size(); ++c)
    if (!given[c]) missing.push_back("'" + model.fields()[c].name + "'");
  if (!missing.empty())
    throw RequestError(400, "missing_field",
                       fmt::format("missing input{} {} (one tensor per field)",
                                   missing.size() > 1 ? "s" : "", fmt::join(missing, ", ")));
  // Second pass: the values, shared ones into the user's row.
  ScoreRequest& request = out.request;
  request.user.assign(model.fields().size(), std::nullopt);
  request.candidates.assign(n, std::vector<std::optional<RawValue>>(model.fields().size()));
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const InferTensor& t = inputs[k];
    const auto c = static_cast<std::size_t>(field_of[k]);
    const RequestField& field = model.fields()[c];
    const bool bytes = t.datatype == "BYTES";
    for (std::size_t i = 0; i < t.data.size(); ++i) {
      const std::string where = fmt::format("inputs[{}] ({}).data[{}]", k, field.name, i);
      const Json& v = t.data[i];
      if (bytes ? !v.is_string() : !v.is_number())
        throw RequestError(400, "wrong_type",
                           fmt::format("{}: a {} tensor holds {}", where, t.datatype,
                                       bytes ? "strings" : "numbers"));
      // What JSON cannot spell but a binary tensor can: NaN or infinity would score NaN.
      if (v.is_number_float() && !std::isfinite(v.get<double>()))
        throw RequestError(400, "bad_value",
                           fmt::format("{}: {} is not a finite number", where, v.get<double>()));
      if (v.is_string() && v.get_ref<const std::string&>().size() > limits.max_string_bytes)
        throw RequestError(413, "value_too_long",
                           fmt::format("{}: a string of {} bytes, more than the limit of {} "
                                       "(--max-string-bytes)",
                                       where, v.get_ref<const std::string&>().size(),
                                       limits.max_string_bytes));
      RawValue value = parse_field_value(v, model, field, limits, where);
      if (rows[k] == 1 && n > 1)
        request.user[c] = std::move(value);
      else
        request.candidates[i][c] = std::move(value);
    }
  }
  return out;
}

InferRequest parse_infer_request(std::string_view body, const ServedModel& model,
                                 const Limits& limits) {
  Json root;
  try {
    BoundedJsonReader reader(root, limits, model.fields().size());
    Json::sax_parse(body.begin(), body.end(), &reader);
  } catch (const Json::exception& e) {
    throw RequestError(400, "bad_json", fmt::format("the body is not valid JSON: {}", e.what()));
  }
  if (!root.is_object() || !root.contains("inputs") || !root["inputs"].is_array())
    throw RequestError(400, "wrong_type",
                       "the body must be a JSON object with an \"inputs\" array of tensors");
  std::string id;
  if (root.contains("id")) {
    if (!root["id"].is_string())
      throw RequestError(400, "wrong_type", "id: expected a string");
    id = root["id"].get<std::string>();
  }
  Json& inputs = root["inputs"];
  std::vector<InferTensor> tensors(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const std::string where = fmt::format("inputs[{}]", k);
    Json& t = inputs[k];
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string() ||
        !t.contains("datatype") || !t["datatype"].is_string() || !t.contains("shape") ||
        !t.contains("data") || !t["data"].is_array())
      throw RequestError(400, "wrong_type",
                         fmt::format("{}: a tensor needs name, datatype, shape and data (a flat "
                                     "array)",
                                     where));
    tensors[k].name = t["name"].get<std::string>();
    tensors[k].datatype = t["datatype"].get<std::string>();
    tensors[k].shape = shape_of(t["shape"], where);
    tensors[k].data = std::move(t["data"]);
  }
  return decode_infer_tensors(std::move(id), tensors, model, limits);
}

std::vector<float> score_infer(const InferRequest& infer, const ServedModel& model) {
  const EncodedRequest encoded = encode_request(infer.request, model);
  ServedModel::Lease scorer = model.scorer();
  return scorer->score(encoded);
}

}  // namespace heed::serve
