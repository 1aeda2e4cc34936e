#include "train/resume.h"

#include <sstream>

#include "config/config_loader.h"
#include "config/options.h"
#include "core/error.h"

namespace heed {

nlohmann::json EpochInProgress::to_json() const {
  return {{"next_row", next_row}, {"batches", batches}, {"loss_sum", loss_sum}, {"seconds", seconds}};
}

EpochInProgress EpochInProgress::from_json(const nlohmann::json& j) {
  EpochInProgress e;
  e.next_row = j.at("next_row").get<std::size_t>();
  e.batches = j.value("batches", std::size_t{0});  // older checkpoints: the trainer counts from next_row
  e.loss_sum = j.at("loss_sum").get<double>();
  e.seconds = j.at("seconds").get<double>();
  return e;
}

nlohmann::json TrainerState::to_json(std::int64_t step) const {
  return {{"epochs_done", epochs_done}, {"step", step}, {"early_stopping", stopping.to_json()},
          {"history", nlohmann::json::parse(history.dump())},
          {"epoch_in_progress", in_progress ? in_progress->to_json() : nlohmann::json()}};
}

TrainerState TrainerState::from_json(const nlohmann::json& state, const std::string& file) {
  TrainerState s;
  try {
    s.epochs_done = state.at("epochs_done").get<std::int64_t>();
    s.stopping = EarlyStopping::from_json(state.at("early_stopping"));
    s.history = nlohmann::ordered_json(state.at("history"));
    if (state.contains("epoch_in_progress") && !state.at("epoch_in_progress").is_null())
      s.in_progress = EpochInProgress::from_json(state.at("epoch_in_progress"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: unreadable training state: {}", file, e.what()));
  }
  return s;
}

void check_resume_compatible(const Config& saved, const Config& requested) {
  const std::string a = to_toml(with_resumable_keys(saved, requested));
  const std::string b = to_toml(requested);
  if (a == b) return;
  std::istringstream sa(a), sb(b);
  std::string la, lb, section;
  while (std::getline(sa, la) && std::getline(sb, lb)) {
    if (!la.empty() && la[0] == '[') section = la;
    if (la != lb) {
      std::string keys;
      for (const std::string& key : resumable_keys()) keys += (keys.empty() ? "" : ", ") + key;
      throw Error(fmt::format("--resume: the config differs from the checkpoint's in {} ('{}' vs '{}'); only {} may "
                              "change",
                              section, lb, la, keys));
    }
  }
  throw Error("--resume: the config differs from the checkpoint's");
}

}  // namespace heed
