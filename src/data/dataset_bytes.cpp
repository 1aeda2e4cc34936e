#include "data/dataset_bytes.h"

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace heed {
namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void count(std::size_t n) {
    const auto v = static_cast<std::uint64_t>(n);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <class T>
  void values(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    count(v.size());
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void strings(const std::vector<std::string>& v) {
    count(v.size());
    for (const std::string& s : v) {
      count(s.size());
      out_ += s;
    }
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::size_t count() {
    std::uint64_t v = 0;
    take(&v, sizeof v);
    return static_cast<std::size_t>(v);
  }
  template <class T>
  void values(std::vector<T>& v) {
    const std::size_t n = count();
    if (n > (in_.size() - at_) / sizeof(T)) fail();
    v.resize(n);
    take(v.data(), n * sizeof(T));
  }
  void strings(std::vector<std::string>& v) {
    const std::size_t n = count();
    if (n > in_.size() - at_) fail();
    v.resize(n);
    for (std::string& s : v) {
      const std::size_t length = count();
      if (length > in_.size() - at_) fail();
      s.assign(in_.substr(at_, length));
      at_ += length;
    }
  }
  bool done() const { return at_ == in_.size(); }

 private:
  void take(void* out, std::size_t bytes) {
    if (bytes > in_.size() - at_) fail();
    if (bytes) std::memcpy(out, in_.data() + at_, bytes);
    at_ += bytes;
  }
  [[noreturn]] static void fail() { throw Error("a message of rows from another rank is cut short or damaged"); }

  std::string_view in_;
  std::size_t at_ = 0;
};

}  // namespace

std::string dataset_to_bytes(const Dataset& data) {
  std::string out;
  Writer w(out);
  w.count(data.rows);
  w.values(data.labels);
  w.values(data.groups);
  w.values(data.split_keys);
  w.values(data.times);
  w.values(data.slices);
  w.strings(data.slice_names);
  w.count(data.keys.size());
  for (const KeyColumn& column : data.keys) {
    w.values(column.offsets);
    w.values(column.keys);
  }
  w.count(data.dense.size());
  for (const auto& column : data.dense) w.values(column);
  w.strings(data.source_files);
  w.values(data.source_file);
  w.values(data.source_lines);
  return out;
}

Dataset dataset_from_bytes(std::string_view bytes) {
  Dataset data;
  Reader r(bytes);
  data.rows = r.count();
  r.values(data.labels);
  r.values(data.groups);
  r.values(data.split_keys);
  r.values(data.times);
  r.values(data.slices);
  r.strings(data.slice_names);
  const auto sized = [&](auto& columns) {
    const std::size_t n = r.count();
    if (n > bytes.size()) throw Error("a message of rows from another rank is damaged");
    columns.resize(n);
  };
  sized(data.keys);
  for (KeyColumn& column : data.keys) {
    r.values(column.offsets);
    r.values(column.keys);
  }
  sized(data.dense);
  for (auto& column : data.dense) r.values(column);
  r.strings(data.source_files);
  r.values(data.source_file);
  r.values(data.source_lines);
  if (!r.done()) throw Error("a message of rows from another rank has bytes past its end");
  return data;
}

}  // namespace heed
