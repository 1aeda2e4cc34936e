#pragma once
// A model as the server holds it: the model itself (read-only while serving), what identifies
// it (a hash of the file's bytes, when it was trained), the metrics.json beside it, how request
// fields map onto features, and a pool of scoring workspaces. The server swaps whole
// ServedModels on reload; a request keeps the one it started with until it ends.
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/model.h"

namespace heed::serve {

class RequestScorer;

// A field of a request: a column of the training data, and the features that read it.
struct RequestField {
  std::string name;
  std::vector<std::size_t> features;  // indices into Schema::features
  bool values = false;                // some feature reads it as a list (multi or sequence)
  bool numeric = false;               // every feature reads it as a number
};

// The file as it was when read, to notice a change.
struct FileStamp {
  std::uint64_t size = 0, inode = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
// The stamp of `path`; false when it cannot be read.
bool stamp_file(const std::filesystem::path& path, FileStamp& out);

class ServedModel {
 public:
  // Reads the model file (and the metrics.json beside it, when there is one); throws heed::Error
  // when the file is missing, corrupt or not a heed model.
  // precision: the scoring products' (heed serve --precision), empty for the model's
  // scoring.precision.
  static std::shared_ptr<const ServedModel> load(const std::filesystem::path& path,
                                                 std::string_view precision = {});
  ~ServedModel();

  const Model& model() const { return *model_; }
  const std::string& version() const { return version_; }        // XXH64 of the file, 16 hex digits
  const std::string& trained_at() const { return trained_at_; }  // from the model's meta
  const nlohmann::json& meta() const { return meta_; }
  const nlohmann::json& metrics() const { return metrics_; }  // null when there was no metrics.json
  const FileStamp& stamp() const { return stamp_; }
  const std::filesystem::path& path() const { return path_; }

  const std::vector<RequestField>& fields() const { return fields_; }
  int field_index(std::string_view name) const;  // -1 when no feature reads that column
  std::string field_list() const;                // "a, b, c" for messages

  // Why a request valid for this model might not be for `next` (fields added, removed or read
  // differently); empty when every request keeps its meaning.
  std::string incompatibility(const ServedModel& next) const;

  // A scorer of this model for one request; it returns to the pool when the lease ends. At most
  // as many scorers exist as requests ever ran at once.
  class Lease {
   public:
    Lease(const ServedModel& owner, std::unique_ptr<RequestScorer> scorer);
    Lease(Lease&&) = default;
    ~Lease();
    RequestScorer& operator*() const { return *scorer_; }
    RequestScorer* operator->() const { return scorer_.get(); }

   private:
    const ServedModel* owner_;
    std::unique_ptr<RequestScorer> scorer_;
  };
  Lease scorer() const;

 private:
  ServedModel() = default;

  std::unique_ptr<Model> model_;
  std::string version_, trained_at_;
  nlohmann::json meta_, metrics_;
  FileStamp stamp_;
  std::filesystem::path path_;
  std::vector<RequestField> fields_;

  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<RequestScorer>> pool_;
};

}  // namespace heed::serve
