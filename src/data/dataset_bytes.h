#pragma once
// A Dataset as one byte string and back, to move rows between the processes of a distributed
// run (the validation rows each rank carved from its part of the training files go to rank 0).
// The bytes are this build's in-memory layout (native endianness and widths): a message between
// processes of one run, never a file format.
#include <string>
#include <string_view>

#include "data/dataset.h"

namespace heed {

std::string dataset_to_bytes(const Dataset& data);
// Throws heed::Error when `bytes` were not written by dataset_to_bytes.
Dataset dataset_from_bytes(std::string_view bytes);

}  // namespace heed
