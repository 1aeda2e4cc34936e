#pragma once
// The closed sets of values some config keys take, each typed once: the enum the config struct
// stores and the layers read, and the names config files spell it with. options.cpp reads
// and writes these names; nothing else parses them.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace heed {

enum class ActivationKind { kRelu, kPrelu };                 // model.activation
enum class SenetAxis { kField, kDim, kElement };             // senet.axis
enum class SenetSqueeze { kMean, kDense };                   // senet.squeeze
enum class SenetGate { kSigmoid, kRelu, kNone };             // senet.gate: final activation of the excitation
enum class DinActivation { kPrelu, kDice };                  // din.activation
enum class DinNormalize { kRaw, kSoftmax, kMean, kSqrtN };   // din.normalize
enum class EmbeddingOptimizer { kAdam, kAdagrad };           // optimizer.embedding
enum class Precision { kFp32, kBf16, kInt8 };                // scoring.precision: the scorer's products

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
