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
  template <class T, class Allocator>
  void values(const std::vector<T, Allocator>& v) {
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
  template <class Column>
  void columns(const std::vector<Column>& v) {
    count(v.size());
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  void count(std::size_t& n) {
    std::uint64_t v = 0;
    take(&v, sizeof v);
    n = static_cast<std::size_t>(v);
  }
  template <class T, class Allocator>
  void values(std::vector<T, Allocator>& v) {
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
  // How many columns follow (each at least a count's bytes long, so never more than the bytes left).
  template <class Column>
  void columns(std::vector<Column>& v) {
    const std::size_t n = count();
    if (n > in_.size() - at_) fail();
    v.resize(n);
  }
  bool done() const { return at_ == in_.size(); }

 private:
  std::size_t count() {
    std::size_t n = 0;
    count(n);
    return n;
  }
  void take(void* out, std::size_t bytes) {
    if (bytes > in_.size() - at_) fail();
    if (bytes) std::memcpy(out, in_.data() + at_, bytes);
    at_ += bytes;
  }
  [[noreturn]] static void fail() { throw Error("a message of rows from another rank is cut short or damaged"); }

  std::string_view in_;
  std::size_t at_ = 0;
};

// Every field in the one order both directions take, so writing and reading cannot drift apart.
// `data` is const when writing.
template <class Archive, class Data>
void each_field(Archive& a, Data& data) {
  a.count(data.rows);
  a.values(data.labels);
  a.values(data.groups);
  a.values(data.split_keys);
  a.values(data.times);
  a.values(data.slices);
  a.strings(data.slice_names);
  a.columns(data.keys);
  for (auto& column : data.keys) {
    a.values(column.offsets);
    a.values(column.keys);
  }
  a.columns(data.dense);
  for (auto& column : data.dense) a.values(column);
  a.strings(data.source_files);
  a.values(data.source_file);
  a.values(data.source_lines);
}

}  // namespace

std::string dataset_to_bytes(const Dataset& data) {
  std::string out;
  Writer w(out);
  each_field(w, data);
  return out;
}

Dataset dataset_from_bytes(std::string_view bytes) {
  Dataset data;
  Reader r(bytes);
  each_field(r, data);
  if (!r.done()) throw Error("a message of rows from another rank has bytes past its end");
  return data;
}

}  // namespace heed
