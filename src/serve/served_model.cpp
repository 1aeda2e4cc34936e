#include "serve/served_model.h"

#include <sys/stat.h>
#include <xxhash.h>

#include <fstream>
#include <map>
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "core/error.h"
#include "serve/request_scorer.h"

namespace heed::serve {
namespace {

// How a field is read, feature by feature: what must stay the same across a reload.
std::string reading_of(const Schema& schema, const RequestField& field) {
  std::string s;
  for (std::size_t fi : field.features) {
    const FeatureInfo& f = schema.features[fi];
    if (!s.empty()) s += ", ";
    s += to_string(f.kind);
    if (f.has_values()) {
      s += " separated by '";
      s += f.separator;
      s += "'";
    }
  }
  return s;
}

}  // namespace

bool stamp_file(const std::filesystem::path& path, FileStamp& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.inode = static_cast<std::uint64_t>(st.st_ino);
  out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

std::shared_ptr<const ServedModel> ServedModel::load(const std::filesystem::path& path, std::string_view precision) {
  std::shared_ptr<ServedModel> m(new ServedModel());
  m->path_ = path;
  if (!stamp_file(path, m->stamp_))
    throw Error(fmt::format("{}: no such model file", path.string()));
  // Hash and load the very same bytes, so the version always names what is served.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open model file", path.string()));
    std::ostringstream all;
    all << in.rdbuf();
    bytes = std::move(all).str();
  }
  m->version_ = fmt::format("{:016x}", XXH64(bytes.data(), bytes.size(), 0));
  std::istringstream in(std::move(bytes));
  Checkpoint cp = load_checkpoint(in, path.string());
  m->model_ = std::move(cp.model);
  m->model_->set_precision(scoring_precision(m->model_->config(), precision));
  m->meta_ = std::move(cp.meta);
  if (m->meta_.is_object() && m->meta_.contains("trained_at") && m->meta_["trained_at"].is_string())
    m->trained_at_ = m->meta_["trained_at"].get<std::string>();

  const std::filesystem::path metrics = path.parent_path() / "metrics.json";
  if (std::filesystem::is_regular_file(metrics)) {
    std::ifstream metrics_in(metrics);
    m->metrics_ = nlohmann::json::parse(metrics_in, nullptr, /*allow_exceptions=*/false);
    if (m->metrics_.is_discarded()) m->metrics_ = nullptr;
  }

  const Schema& schema = m->model_->schema();
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    const FeatureInfo& f = schema.features[fi];
    int index = m->field_index(f.column);
    if (index < 0) {
      index = static_cast<int>(m->fields_.size());
      m->fields_.push_back(RequestField{f.column, {}, false, true});
    }
    RequestField& field = m->fields_[static_cast<std::size_t>(index)];
    field.features.push_back(fi);
    field.values = field.values || f.has_values();
    field.numeric = field.numeric && f.kind == FeatureKind::kNumeric;
  }
  return m;
}

ServedModel::~ServedModel() = default;

int ServedModel::field_index(std::string_view name) const {
  for (std::size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string ServedModel::field_list() const {
  std::string s;
  for (const RequestField& f : fields_) {
    if (!s.empty()) s += ", ";
    s += f.name;
  }
  return s;
}

std::string ServedModel::incompatibility(const ServedModel& next) const {
  for (const RequestField& field : fields_) {
    const int other = next.field_index(field.name);
    if (other < 0) return fmt::format("the new model has no field '{}'", field.name);
    const std::string was = reading_of(model_->schema(), field);
    const std::string now =
        reading_of(next.model_->schema(), next.fields_[static_cast<std::size_t>(other)]);
    if (was != now)
      return fmt::format("the new model reads field '{}' as {} instead of {}", field.name, now,
                         was);
  }
  for (const RequestField& field : next.fields_)
    if (field_index(field.name) < 0)
      return fmt::format("the new model needs a field '{}' requests do not carry", field.name);
  return {};
}

ServedModel::Lease::Lease(const ServedModel& owner, std::unique_ptr<RequestScorer> scorer)
    : owner_(&owner), scorer_(std::move(scorer)) {}

ServedModel::Lease::~Lease() {
  if (!scorer_) return;
  std::lock_guard<std::mutex> lock(owner_->pool_mutex_);
  owner_->pool_.push_back(std::move(scorer_));
}

ServedModel::Lease ServedModel::scorer() const {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!pool_.empty()) {
      std::unique_ptr<RequestScorer> s = std::move(pool_.back());
      pool_.pop_back();
      return Lease(*this, std::move(s));
    }
  }
  return Lease(*this, std::make_unique<RequestScorer>(*model_));
}

}  // namespace heed::serve
