// libFuzzer target: see fuzz/fuzz_entries.h for what is checked and docs/reliability.md for how to run it.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  heed::fuzz::checkpoint(bytes);
  return 0;
}
