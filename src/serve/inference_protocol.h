#pragma once
// The Open Inference Protocol (KServe v2), the request and answer shapes Triton, KServe and
// Seldon clients speak, mapped onto heed's requests. An infer request holds one input tensor per
// field of the model (a column of the training data), named after it:
//   BYTES tensors hold the values as strings (multi-valued fields: the values joined by the
//   field's separator, as in the file); numeric tensors (INT8..INT64, UINT8..UINT64, FP32, FP64)
//   hold numbers (a categorical field takes whole numbers, read as their decimal digits).
// Shape [N] or [N, 1] for N candidates; a tensor of shape [1] (or [1, 1]) when N > 1 is shared
// by every candidate (the user's fields: computed once, as /v1/score's "user"). The answer holds
// one FP32 output, "score", of shape [N]. The same limits, encoder and scorer as /v1/score.
//
// Both transports (JSON over HTTP, protobuf over gRPC) only turn their bytes into InferTensors;
// one decoder checks those and makes the request's rows, and one function scores it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "serve/score_request.h"

namespace heed::serve {

// One input tensor as a transport read it: its elements, flattened, as JSON values (strings for
// BYTES, numbers for the numeric datatypes), whatever their encoding on the wire.
struct InferTensor {
  std::string name;
  std::string datatype;
  std::vector<std::int64_t> shape;
  nlohmann::json data = nlohmann::json::array();
};

struct InferRequest {
  std::string id;  // echoed in the answer when given
  ScoreRequest request;
};

// Checks the tensors against the model and the limits (names, datatypes, shapes, element
// counts and values) and makes the request's rows. Throws RequestError naming the input
// ("inputs[k] (field)") and element.
InferRequest decode_infer_tensors(std::string id, const std::vector<InferTensor>& inputs,
                                  const ServedModel& model, const Limits& limits);

// Parses a KServe v2 infer body (JSON) into tensors, refusing it while parsing as soon as it
// passes a bound, then decodes them. Throws RequestError naming the input and element.
InferRequest parse_infer_request(std::string_view body, const ServedModel& model,
                                 const Limits& limits);

// Scores a decoded request with a scorer of `model`: every candidate's click probability.
std::vector<float> score_infer(const InferRequest& infer, const ServedModel& model);

// Whether a datatype names numbers heed reads (INT8..INT64, UINT8..UINT64, FP32, FP64).
bool numeric_datatype(std::string_view datatype);

// The datatype a field's tensor is described with in the model's metadata.
const char* tensor_datatype(const ServedModel& model, const RequestField& field);

}  // namespace heed::serve
