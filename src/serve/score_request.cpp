#include "serve/score_request.h"

#include <algorithm>
#include <cmath>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "data/dataset_loader.h"
#include "data/row_encoder.h"
#include "serve/request_error.h"

namespace heed::serve {
namespace {

using Json = nlohmann::json;

// Deepest legitimate nesting: body -> candidates -> candidate -> list of values.
constexpr std::size_t kMaxDepth = 4;

std::string where_of(std::optional<std::size_t> candidate) {
  return candidate ? fmt::format("candidates[{}]", *candidate) : std::string("user");
}

std::string field_where(std::optional<std::size_t> candidate, const std::string& field) {
  std::string s = where_of(candidate);
  s += '.';
  s += field;
  return s;
}

const char* json_type(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

// What a field accepts, for messages.
std::string accepted(const RequestField& field, bool lists) {
  if (field.numeric) return "a number, a string or null";
  return lists ? "a string, an array of values, an integer or null"
               : "a string, an integer or null";
}

bool all_lists(const ServedModel& model, const RequestField& field) {
  return std::all_of(field.features.begin(), field.features.end(), [&](std::size_t fi) {
    return model.model().schema().features[fi].has_values();
  });
}

// Separators of a field's multi-valued features: a value count is one more than the separators.
std::size_t count_values(const ServedModel& model, const RequestField& field,
                         std::string_view text) {
  std::size_t most = 0;
  for (std::size_t fi : field.features) {
    const FeatureInfo& f = model.model().schema().features[fi];
    if (!f.has_values()) continue;
    most = std::max(
        most, static_cast<std::size_t>(std::count(text.begin(), text.end(), f.separator)) + 1);
  }
  return most;
}

}  // namespace

RawValue parse_field_value(const Json& v, const ServedModel& model, const RequestField& field,
                           const Limits& limits, const std::string& where) {
  const bool lists = all_lists(model, field);
  auto wrong = [&]() {
    return RequestError(
        400, "wrong_type",
        fmt::format("{}: expected {}, found {}", where, accepted(field, lists), json_type(v)));
  };
  auto too_long = [&](std::size_t n) {
    return RequestError(413, "too_many_values",
                        fmt::format("{}: {} values, more than the limit of {} (--max-values)",
                                    where, n, limits.max_values));
  };
  RawValue out;
  switch (v.type()) {
    case Json::value_t::null:
      return out;  // an empty cell
    case Json::value_t::string: {
      out.text = v.get_ref<const std::string&>();
      if (field.values && count_values(model, field, out.text) > limits.max_values)
        throw too_long(count_values(model, field, out.text));
      return out;
    }
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: {
      out.kind = RawValue::Kind::kNumber;
      out.number = v.get<double>();
      if (v.is_number_integer())
        out.text = v.is_number_unsigned() ? std::to_string(v.get<std::uint64_t>())
                                          : std::to_string(v.get<std::int64_t>());
      if (!field.numeric && out.text.empty()) throw wrong();
      return out;
    }
    case Json::value_t::array: {
      if (!lists) throw wrong();
      if (v.size() > limits.max_values) throw too_long(v.size());
      out.kind = RawValue::Kind::kList;
      out.items.reserve(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) {
        const Json& item = v[i];
        if (item.is_string()) {
          out.items.push_back(item.get<std::string>());
        } else if (item.is_number_integer()) {
          out.items.push_back(item.is_number_unsigned() ? std::to_string(item.get<std::uint64_t>())
                                                        : std::to_string(item.get<std::int64_t>()));
        } else {
          throw RequestError(400, "wrong_type",
                             fmt::format("{}[{}]: values must be strings or integers, found {}",
                                         where, i, json_type(item)));
        }
      }
      return out;
    }
    default:
      throw wrong();
  }
}

namespace {

// The fields of one object ("user" or a candidate), per field of the model.
std::vector<std::optional<RawValue>> parse_fields(const Json& object, const ServedModel& model,
                                                  const Limits& limits,
                                                  std::optional<std::size_t> candidate) {
  if (!object.is_object())
    throw RequestError(400, "wrong_type",
                       fmt::format("{}: expected an object of fields, found {}",
                                   where_of(candidate), json_type(object)));
  std::vector<std::optional<RawValue>> values(model.fields().size());
  for (const auto& [name, value] : object.items()) {
    const int index = model.field_index(name);
    if (index < 0)
      throw RequestError(400, "unknown_field",
                         fmt::format("{}: unknown field '{}' (the model reads: {})",
                                     where_of(candidate), name, model.field_list()));
    const RequestField& field = model.fields()[static_cast<std::size_t>(index)];
    values[static_cast<std::size_t>(index)] =
        parse_field_value(value, model, field, limits, field_where(candidate, name));
  }
  return values;
}

// Feature `fi`'s value into the row being built; null: the empty cell standing in for a value
// that lives in the other dataset.
void encode_value(RowEncoder& encoder, const Schema& schema, std::size_t fi,
                  const RawValue* value, Dataset& data) {
  if (!value) {
    encoder.add_text(fi, "", data);
    return;
  }
  const FeatureInfo& f = schema.features[fi];
  switch (value->kind) {
    case RawValue::Kind::kText:
      encoder.add_text(fi, value->text, data);
      return;
    case RawValue::Kind::kNumber:
      if (f.kind == FeatureKind::kNumeric) {
        encoder.add_number(fi, value->number, data);
      } else {
        encoder.add_text(fi, value->text, data);
      }
      return;
    case RawValue::Kind::kList: {
      // The values joined as a file would hold them: the same splitting reads them back.
      std::string text;
      for (std::size_t i = 0; i < value->items.size(); ++i) {
        if (i) text += f.separator;
        text += value->items[i];
      }
      encoder.add_text(fi, text, data);
      return;
    }
  }
}

// Runs `encode` (which builds one row) and turns a value error into a RequestError naming where.
template <class Encode>
void encode_row(const ServedModel& model, std::optional<std::size_t> candidate, Encode&& encode) {
  try {
    encode();
  } catch (const FeatureValueError& e) {
    const FeatureInfo& f = model.model().schema().features[e.feature()];
    throw RequestError(400, "bad_value",
                       fmt::format("{}: {}", field_where(candidate, f.column), e.what()));
  }
}


// Builds the body's JSON tree in one pass, refusing it as soon as it breaks a limit: nesting,
// candidates, values per list, string length, unknown or repeated fields. Every event costs
// O(1) (plus the bytes of its string), so the parse is linear in the body and a body far over a
// limit is refused after reading just past the limit (a million empty candidates stop at
// candidate max_candidates + 1).
class LimitedJsonReader {
 public:
  LimitedJsonReader(Json& root, const ServedModel& model, const Limits& limits)
      : dom_(root, /*allow_exceptions=*/true), model_(model), limits_(limits) {}

  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& raw) {
    return value() && dom_.number_float(v, raw);
  }
  bool string(Json::string_t& v) {
    value();
    if (v.size() > limits_.max_string_bytes)
      throw RequestError(413, "value_too_long",
                         fmt::format("{}: a string of {} bytes, more than the limit of {} "
                                     "(--max-string-bytes)",
                                     where(), v.size(), limits_.max_string_bytes));
    return dom_.string(v);
  }
  bool binary(Json::binary_t& v) { return value() && dom_.binary(v); }

  bool start_object(std::size_t n) {
    const Role role = child_role(/*object=*/true);
    if (role == Role::kOther)
      throw RequestError(400, "wrong_type",
                         fmt::format("{}: expected a value, found an object", where()));
    open(role);
    if (role == Role::kFields) frames_.back().seen.assign(model_.fields().size(), 0);
    return dom_.start_object(n);
  }
  bool key(Json::string_t& name) {
    Frame& frame = frames_.back();
    frame.key = name;
    if (frame.role == Role::kRoot) {
      if (name != "user" && name != "candidates" && name != "explain")
        throw RequestError(
            400, "unknown_field",
            fmt::format("unknown field '{}' (expected user, candidates, explain)", name));
    } else {
      const int index = model_.field_index(name);
      const std::string owner = where_frames(frames_.size());
      if (index < 0)
        throw RequestError(400, "unknown_field",
                           fmt::format("{}: unknown field '{}' (the model reads: {})", owner, name,
                                       model_.field_list()));
      if (frame.seen[static_cast<std::size_t>(index)]++)
        throw RequestError(400, "conflicting_field",
                           fmt::format("{}.{}: given twice in one object", owner, name));
    }
    return dom_.key(name);
  }
  bool end_object() {
    frames_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    const Role role = child_role(/*object=*/false);
    if (frames_.empty())
      throw RequestError(400, "wrong_type", "the body must be a JSON object, found an array");
    open(role);
    return dom_.start_array(n);
  }
  bool end_array() {
    frames_.pop_back();
    return dom_.end_array();
  }
  bool parse_error(std::size_t position, const std::string& token,
                   const nlohmann::detail::exception& e) {
    // A number past double's range (1e400) names the value it was given for.
    if (e.id == 406)
      throw RequestError(400, "bad_value",
                         fmt::format("{}: the number {} is out of range", where(), token));
    return dom_.parse_error(position, token, e);
  }

 private:
  enum class Role { kRoot, kFields, kCandidates, kList, kOther };
  struct Frame {
    Role role;
    bool array;
    std::size_t count = 0;  // arrays: elements so far
    std::string key;        // objects: the current key
    std::vector<char> seen;  // kFields: fields given so far
  };

  // The role of a container opening at the current position.
  Role child_role(bool object) const {
    if (frames_.empty()) return object ? Role::kRoot : Role::kOther;
    const Frame& parent = frames_.back();
    if (parent.role == Role::kRoot && object && parent.key == "user") return Role::kFields;
    if (parent.role == Role::kRoot && !object && parent.key == "candidates")
      return Role::kCandidates;
    if (parent.role == Role::kCandidates && object) return Role::kFields;
    if (parent.role == Role::kFields && !object) return Role::kList;
    return Role::kOther;
  }
  void open(Role role) {
    value();
    if (frames_.size() + 1 > kMaxDepth)
      throw RequestError(400, "bad_json",
                         fmt::format("the body nests deeper than {} levels", kMaxDepth));
    // Objects are only the body, "user" and the candidates; every other container is an array.
    frames_.push_back(Frame{role, role != Role::kRoot && role != Role::kFields, 0, {}, {}});
  }
  // Counts an element of the enclosing array against its limit.
  bool value() {
    if (frames_.empty() || !frames_.back().array) return true;
    Frame& frame = frames_.back();
    ++frame.count;
    if (frame.role == Role::kCandidates && frame.count > limits_.max_candidates)
      throw RequestError(413, "too_many_candidates",
                         fmt::format("candidates: more than the limit of {} candidates "
                                     "(--max-candidates)",
                                     limits_.max_candidates));
    if (frame.role != Role::kCandidates && frame.count > limits_.max_values)
      throw RequestError(413, "too_many_values",
                         fmt::format("{}: more than the limit of {} values (--max-values)",
                                     where_frames(frames_.size()), limits_.max_values));
    return true;
  }
  // Where the first `n` frames lead: "user", "candidates[3]", "candidates[3].history".
  std::string where_frames(std::size_t n) const {
    std::string out;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const Frame& f = frames_[i];
      if (f.array) {
        out += fmt::format("[{}]", f.count - 1);
      } else {
        if (!out.empty()) out += '.';
        out += f.key;
      }
    }
    return out.empty() ? std::string("body") : out;
  }
  // Where the value being read is.
  std::string where() const {
    if (frames_.empty()) return "body";
    std::string out = where_frames(frames_.size());
    const Frame& f = frames_.back();
    if (f.array) return out + fmt::format("[{}]", f.count - 1);
    return out == "body" ? f.key : out + "." + f.key;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  const ServedModel& model_;
  const Limits& limits_;
  std::vector<Frame> frames_;
};
}  // namespace

ScoreRequest parse_score_request(std::string_view body, const ServedModel& model,
                                 const Limits& limits) {
  Json root;
  try {
    LimitedJsonReader reader(root, model, limits);
    Json::sax_parse(body.begin(), body.end(), &reader);
  } catch (const Json::exception& e) {
    throw RequestError(400, "bad_json", fmt::format("the body is not valid JSON: {}", e.what()));
  }
  if (!root.is_object())
    throw RequestError(400, "wrong_type",
                       fmt::format("the body must be a JSON object, found {}", json_type(root)));
  for (const auto& [name, value] : root.items())
    if (name != "user" && name != "candidates" && name != "explain")
      throw RequestError(
          400, "unknown_field",
          fmt::format("unknown field '{}' (expected user, candidates, explain)", name));

  ScoreRequest request;
  if (root.contains("explain")) {
    if (!root["explain"].is_boolean())
      throw RequestError(
          400, "wrong_type",
          fmt::format("explain: expected true or false, found {}", json_type(root["explain"])));
    request.explain = root["explain"].get<bool>();
  }
  if (!root.contains("candidates"))
    throw RequestError(400, "missing_field", "missing field 'candidates'");
  const Json& candidates = root["candidates"];
  if (!candidates.is_array())
    throw RequestError(
        400, "wrong_type",
        fmt::format("candidates: expected an array of objects, found {}", json_type(candidates)));
  if (candidates.empty())
    throw RequestError(400, "empty_candidates", "candidates: the list is empty");
  if (candidates.size() > limits.max_candidates)
    throw RequestError(
        413, "too_many_candidates",
        fmt::format("candidates: {} candidates, more than the limit of {} (--max-candidates)",
                    candidates.size(), limits.max_candidates));

  request.user = root.contains("user")
                     ? parse_fields(root["user"], model, limits, std::nullopt)
                     : std::vector<std::optional<RawValue>>(model.fields().size());
  request.candidates.reserve(candidates.size());
  // Every missing field is reported at once, per field with the candidates that lack it.
  std::vector<std::vector<std::size_t>> missing(model.fields().size());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    request.candidates.push_back(parse_fields(candidates[i], model, limits, i));
    for (std::size_t c = 0; c < model.fields().size(); ++c) {
      const bool in_user = request.user[c].has_value(),
                 here = request.candidates.back()[c].has_value();
      if (in_user && here)
        throw RequestError(
            400, "conflicting_field",
            fmt::format("candidates[{}].{}: also given in user (give a field in one place)", i,
                        model.fields()[c].name));
      if (!in_user && !here) missing[c].push_back(i);
    }
  }
  std::vector<std::string> lacking;
  for (std::size_t c = 0; c < missing.size(); ++c) {
    if (missing[c].empty()) continue;
    const std::size_t n = missing[c].size();
    std::string which;
    if (n == candidates.size()) {
      which = "every candidate";
    } else {
      constexpr std::size_t kListed = 10;  // the message stays short whatever the request
      std::vector<std::string> shown;
      for (std::size_t k = 0; k < std::min(n, kListed); ++k)
        shown.push_back(std::to_string(missing[c][k]));
      which = fmt::format("candidates {}{}", fmt::join(shown, ", "),
                          n > kListed ? fmt::format(" and {} more", n - kListed) : "");
    }
    lacking.push_back(fmt::format("'{}' (missing in {})", model.fields()[c].name, which));
  }
  if (!lacking.empty())
    throw RequestError(
        400, "missing_field",
        fmt::format("missing field{} {} (give each in user or in every candidate)",
                    lacking.size() > 1 ? "s" : "", fmt::join(lacking, ", ")));
  return request;
}

EncodedRequest encode_request(const ScoreRequest& request, const ServedModel& model) {
  const Schema& schema = model.model().schema();
  RowEncoder encoder(schema);
  EncodedRequest out;
  std::vector<std::size_t> field_of(schema.features.size());
  for (std::size_t c = 0; c < model.fields().size(); ++c)
    for (std::size_t fi : model.fields()[c].features) field_of[fi] = c;
  out.shared.resize(schema.features.size());
  bool any_shared = false;
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    out.shared[fi] = request.user[field_of[fi]].has_value();
    any_shared = any_shared || out.shared[fi];
  }
  // A DIN attention reads its aligned sequences together: all from the user, or all per candidate.
  for (const DinGroup& g : schema.din_groups)
    for (int k : g.keys)
      if (out.shared[static_cast<std::size_t>(k)] !=
          out.shared[static_cast<std::size_t>(g.keys[0])])
        throw RequestError(
            400, "conflicting_field",
            fmt::format(
                "'{}' and '{}' are attended together: give both in user or both per candidate",
                schema.features[static_cast<std::size_t>(g.keys[0])].column,
                schema.features[static_cast<std::size_t>(k)].column));

  encoder.prepare(out.user);
  if (any_shared)
    encode_row(model, std::nullopt, [&] {
      for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
        const auto& v = request.user[field_of[fi]];
        encode_value(encoder, schema, fi, out.shared[fi] ? &*v : nullptr, out.user);
      }
      encoder.finish_row(out.user);
    });
  encoder.prepare(out.candidates);
  for (std::size_t i = 0; i < request.candidates.size(); ++i)
    encode_row(model, i, [&] {
      for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
        const auto& v = request.candidates[i][field_of[fi]];
        encode_value(encoder, schema, fi, out.shared[fi] ? nullptr : &*v, out.candidates);
      }
      encoder.finish_row(out.candidates);
    });
  return out;
}

Dataset encode_rows(const ScoreRequest& request, const ServedModel& model) {
  const Schema& schema = model.model().schema();
  RowEncoder encoder(schema);
  Dataset data;
  encoder.prepare(data);
  for (std::size_t i = 0; i < request.candidates.size(); ++i)
    encode_row(model, i, [&] {
      for (std::size_t c = 0; c < model.fields().size(); ++c) {
        const std::optional<RawValue>& v =
            request.user[c] ? request.user[c] : request.candidates[i][c];
        for (std::size_t fi : model.fields()[c].features)
          encode_value(encoder, schema, fi, &*v, data);
      }
      encoder.finish_row(data);
    });
  return data;
}

EncodedRequest parse_rows(std::string_view body, const ServedModel& model, const Limits& limits) {
  const Config& config = model.model().config();
  const std::size_t lines = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')) +
                            (!body.empty() && body.back() != '\n' ? 1 : 0);
  const std::size_t header = config.data.header ? 1 : 0;
  if (lines > limits.max_rows + header)
    throw RequestError(413, "too_many_rows",
                       fmt::format("{} rows, more than the limit of {} (--max-rows)",
                                   lines - std::min(lines, header), limits.max_rows));
  EncodedRequest out;
  RowEncoder(model.model().schema()).prepare(out.user);
  out.shared.assign(model.model().schema().features.size(), 0);
  LineReader reader(LineReader::Text{"body", body}, line_reader_options(config.data));
  LoadOptions options;
  options.require_label = false;
  options.features_only = true;
  options.never_skip = true;
  try {
    out.candidates = load_dataset(reader, config, model.model().schema(), options);
  } catch (const Error& e) {
    throw RequestError(400, "bad_rows", e.what());
  }
  if (out.candidates.rows == 0)
    throw RequestError(400, "empty_candidates", "the body holds no rows");
  // Values kept per row (after max_len): what the scorer's buffers grow with.
  const Schema& schema = model.model().schema();
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    if (!schema.features[fi].has_values()) continue;
    const KeyColumn& column = out.candidates.keys[fi];
    for (std::size_t r = 0; r < out.candidates.rows; ++r)
      if (column.count(r) > limits.max_values)
        throw RequestError(
            413, "too_many_values",
            fmt::format("row {}: {} values of '{}', more than the limit of {} (--max-values)",
                        r + 1, column.count(r), schema.features[fi].column, limits.max_values));
  }
  return out;
}

}  // namespace heed::serve
