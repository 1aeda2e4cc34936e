#pragma once
// The time an ablation has left, from the runs it has trained so far: the mean seconds of a
// trained run times the runs still to train (reused runs cost nothing). Said after every run,
// so a person knows whether to wait for the reports or come back later.
#include <cstddef>
#include <string>

namespace heed::ablate {

// "about 4 min left (21 runs to train, 11 s each so far)"; "" when nothing is left or nothing
// has been trained yet to measure by.
std::string eta_text(double seconds_training, std::size_t runs_trained, std::size_t runs_left);

// 42 -> "42 s", 250 -> "4 min", 7300 -> "2 h 2 min".
std::string duration_text(double seconds);

}  // namespace heed::ablate
