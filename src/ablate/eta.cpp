#include "ablate/eta.h"

#include <cmath>

#include <fmt/format.h>

namespace heed::ablate {

std::string duration_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(seconds, 0.0)));
  if (s < 90) return fmt::format("{} s", s);
  const long long minutes = (s + 30) / 60;
  if (minutes < 120) return fmt::format("{} min", minutes);
  return fmt::format("{} h {} min", minutes / 60, minutes % 60);
}

std::string eta_text(double seconds_training, std::size_t runs_trained, std::size_t runs_left) {
  if (runs_left == 0 || runs_trained == 0) return {};
  const double each = seconds_training / static_cast<double>(runs_trained);
  return fmt::format("about {} left ({} run{} to train, {} each so far)", duration_text(each * runs_left), runs_left,
                     runs_left == 1 ? "" : "s", duration_text(each));
}

}  // namespace heed::ablate
