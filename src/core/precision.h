#pragma once
// The precision of a product's inputs (the accumulation is always fp32): fp32 as stored, bf16
// (vdpbf16ps), or int8 with per-channel scales (vpdpbusd). core/lowp.h packs weights for each;
// the config names them in scoring.precision (config/choices.h).
namespace heed {

enum class Precision { kFp32, kBf16, kInt8 };

}  // namespace heed
