#include "train/early_stopping.h"

#include <fmt/format.h>

#include "core/error.h"

namespace heed {

EarlyStopping resumed_stopping(EarlyStopping saved, std::int64_t epochs_done, const TrainConfig& before,
                               const TrainConfig& requested) {
  if (saved.finished && saved.bad_epochs < requested.patience) saved.finished = false;
  if (saved.finished && requested.epochs > before.epochs && requested.epochs > epochs_done)
    throw Error(fmt::format(
        "--resume: the run stopped early after epoch {}: no better validation score for {} epochs since epoch {} "
        "(train.patience = {}), so raising train.epochs alone trains nothing; raise train.patience above {} too "
        "(e.g. --set train.patience={})",
        epochs_done, saved.bad_epochs, saved.best_epoch, before.patience, saved.bad_epochs, saved.bad_epochs + 3));
  if (!saved.finished && epochs_done >= requested.epochs && requested.patience > before.patience)
    throw Error(fmt::format(
        "--resume: the run has trained all its {} epochs (train.epochs = {}), so raising train.patience alone "
        "trains nothing; raise train.epochs too (e.g. --set train.epochs={})",
        epochs_done, requested.epochs, epochs_done + 10));
  return saved;
}

std::string early_stop_text(const EarlyStopping& stopping, const std::string& metric, std::int64_t patience) {
  return fmt::format("early stopping after epoch {}: valid {} has not improved for {} epoch{} (train.patience = {}); "
                     "keeping epoch {}",
                     stopping.best_epoch + stopping.bad_epochs, metric, stopping.bad_epochs,
                     stopping.bad_epochs == 1 ? "" : "s", patience, stopping.best_epoch);
}

}  // namespace heed
