#pragma once
// The closed sets of values some config keys take, each typed once: the enum the config struct
// stores and the layers read, and the names config files spell it with. options.cpp reads
// and writes these names; nothing else parses them.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/precision.h"  // Precision: scoring.precision

namespace heed {

enum class ActivationKind { kRelu, kPrelu };                 // model.activation
enum class SenetAxis { kField, kDim, kElement };             // senet.axis
enum class SenetSqueeze { kMean, kDense };                   // senet.squeeze
enum class SenetGate { kSigmoid, kRelu, kNone };             // senet.gate: final activation of the excitation
enum class DinActivation { kPrelu, kDice };                  // din.activation
enum class DinNormalize { kRaw, kSoftmax, kMean, kSqrtN };   // din.normalize
enum class EmbeddingOptimizer { kAdam, kAdagrad };           // optimizer.embedding
enum class DataFormat { kTsv, kCsv, kLibsvm, kLibffm, kCriteo };  // data.format
enum class SparseFields { kPosition, kRanges };              // data.sparse_fields: which field an idx:val pair feeds
enum class StreamMode { kAuto, kOn, kOff };                  // data.stream
enum class OnError { kFail, kSkip };                         // data.on_error, heed prepare --on-error
enum class UnseenPolicy { kZero, kDefault };                 // embedding.unseen
enum class EarlyStopMetric { kAuc, kGauc, kLogloss, kNone };  // train.early_stop_metric
enum class ProgressMode { kAuto, kBar, kLog, kNone };        // train.progress
// How a multi or sequence feature's value vectors become one field vector: their sum, their
// mean, their sum over the square root of their count (sqrtn: between the two, so a long list
// neither drowns the other fields nor counts like a single value), or DIN's target attention.
// features.NAME.pooling, embedding.multi_pooling, embedding.sequence_pooling.
enum class Pooling { kSum, kMean, kSqrtN, kDin };
enum class NumericTransform { kNone, kLog1p, kStandardize, kMinMax };  // features.NAME.transform
// features.NAME.bucketize: a dense input (none), log2 buckets, or buckets between edges that the
// config gives (boundaries) or that training computes from its data (quantile).
enum class Bucketize { kNone, kLog2, kBoundaries, kQuantile };
enum class TrainPrecision { kFp32, kBf16 };                  // train.precision: the training products

template <class E>
struct Choice {
  E value;
  const char* name;
};

// Choices<E>::list names every value of E, in the order help texts and messages show them.
template <class E>
struct Choices;

template <>
struct Choices<ActivationKind> {
  static constexpr std::array<Choice<ActivationKind>, 2> list{{{ActivationKind::kRelu, "relu"},
                                                               {ActivationKind::kPrelu, "prelu"}}};
};
template <>
struct Choices<SenetAxis> {
  static constexpr std::array<Choice<SenetAxis>, 3> list{
      {{SenetAxis::kField, "field"}, {SenetAxis::kDim, "dim"}, {SenetAxis::kElement, "element"}}};
};
template <>
struct Choices<SenetSqueeze> {
  static constexpr std::array<Choice<SenetSqueeze>, 2> list{{{SenetSqueeze::kMean, "mean"},
                                                             {SenetSqueeze::kDense, "dense"}}};
};
template <>
struct Choices<SenetGate> {
  static constexpr std::array<Choice<SenetGate>, 3> list{
      {{SenetGate::kSigmoid, "sigmoid"}, {SenetGate::kRelu, "relu"}, {SenetGate::kNone, "none"}}};
};
template <>
struct Choices<DinActivation> {
  static constexpr std::array<Choice<DinActivation>, 2> list{{{DinActivation::kPrelu, "prelu"},
                                                              {DinActivation::kDice, "dice"}}};
};
template <>
struct Choices<DinNormalize> {
  static constexpr std::array<Choice<DinNormalize>, 4> list{{{DinNormalize::kRaw, "raw"},
                                                             {DinNormalize::kSoftmax, "softmax"},
                                                             {DinNormalize::kMean, "mean"},
                                                             {DinNormalize::kSqrtN, "sqrtn"}}};
};
template <>
struct Choices<EmbeddingOptimizer> {
  static constexpr std::array<Choice<EmbeddingOptimizer>, 2> list{{{EmbeddingOptimizer::kAdam, "adam"},
                                                                   {EmbeddingOptimizer::kAdagrad, "adagrad"}}};
};

template <>
struct Choices<DataFormat> {
  static constexpr std::array<Choice<DataFormat>, 5> list{{{DataFormat::kTsv, "tsv"},
                                                           {DataFormat::kCsv, "csv"},
                                                           {DataFormat::kLibsvm, "libsvm"},
                                                           {DataFormat::kLibffm, "libffm"},
                                                           {DataFormat::kCriteo, "criteo"}}};
};
template <>
struct Choices<SparseFields> {
  static constexpr std::array<Choice<SparseFields>, 2> list{{{SparseFields::kPosition, "position"},
                                                             {SparseFields::kRanges, "ranges"}}};
};
template <>
struct Choices<StreamMode> {
  static constexpr std::array<Choice<StreamMode>, 3> list{
      {{StreamMode::kAuto, "auto"}, {StreamMode::kOn, "on"}, {StreamMode::kOff, "off"}}};
};
template <>
struct Choices<OnError> {
  static constexpr std::array<Choice<OnError>, 2> list{{{OnError::kFail, "fail"}, {OnError::kSkip, "skip"}}};
};
template <>
struct Choices<UnseenPolicy> {
  static constexpr std::array<Choice<UnseenPolicy>, 2> list{{{UnseenPolicy::kZero, "zero"},
                                                             {UnseenPolicy::kDefault, "default"}}};
};
template <>
struct Choices<EarlyStopMetric> {
  static constexpr std::array<Choice<EarlyStopMetric>, 4> list{{{EarlyStopMetric::kAuc, "auc"},
                                                                {EarlyStopMetric::kGauc, "gauc"},
                                                                {EarlyStopMetric::kLogloss, "logloss"},
                                                                {EarlyStopMetric::kNone, "none"}}};
};
template <>
struct Choices<ProgressMode> {
  static constexpr std::array<Choice<ProgressMode>, 4> list{{{ProgressMode::kAuto, "auto"},
                                                             {ProgressMode::kBar, "bar"},
                                                             {ProgressMode::kLog, "log"},
                                                             {ProgressMode::kNone, "none"}}};
};
template <>
struct Choices<Pooling> {
  static constexpr std::array<Choice<Pooling>, 4> list{
      {{Pooling::kSum, "sum"}, {Pooling::kMean, "mean"}, {Pooling::kSqrtN, "sqrtn"}, {Pooling::kDin, "din"}}};
};
template <>
struct Choices<NumericTransform> {
  static constexpr std::array<Choice<NumericTransform>, 4> list{{{NumericTransform::kNone, "none"},
                                                                 {NumericTransform::kLog1p, "log1p"},
                                                                 {NumericTransform::kStandardize, "standardize"},
                                                                 {NumericTransform::kMinMax, "minmax"}}};
};
template <>
struct Choices<Bucketize> {
  // A config leaves a numeric feature dense by naming no bucketizer: "" is that choice's name.
  static constexpr std::array<Choice<Bucketize>, 4> list{{{Bucketize::kNone, ""},
                                                          {Bucketize::kLog2, "log2"},
                                                          {Bucketize::kBoundaries, "boundaries"},
                                                          {Bucketize::kQuantile, "quantile"}}};
};
template <>
struct Choices<TrainPrecision> {
  static constexpr std::array<Choice<TrainPrecision>, 2> list{
      {{TrainPrecision::kFp32, "fp32"}, {TrainPrecision::kBf16, "bf16"}}};
};
template <>
struct Choices<Precision> {
  static constexpr std::array<Choice<Precision>, 3> list{
      {{Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}, {Precision::kInt8, "int8"}}};
};

template <class E>
concept ChoiceEnum = std::is_enum_v<E> && requires { Choices<E>::list; };

// The name a config file gives `value`.
template <ChoiceEnum E>
constexpr const char* choice_name(E value) {
  for (const auto& c : Choices<E>::list)
    if (c.value == value) return c.name;
  return "?";
}

// The value config files call `name`, or nullopt.
template <ChoiceEnum E>
constexpr std::optional<E> choice_named(std::string_view name) {
  for (const auto& c : Choices<E>::list)
    if (name == c.name) return c.value;
  return std::nullopt;
}

}  // namespace heed
