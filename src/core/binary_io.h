#pragma once
// Little helpers to write and read plain values, strings and vectors in checkpoints. Sizes are
// checked against what remains so a corrupt length cannot trigger a huge allocation.
#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace heed {

template <class T>
void write_pod(std::ostream& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T read_pod(std::istream& in) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  if (!in.read(reinterpret_cast<char*>(&value), sizeof(T))) throw Error("checkpoint data ends early");
  return value;
}

inline std::uint64_t remaining_bytes(std::istream& in) {
  const auto here = in.tellg();
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  in.seekg(here);
  return here < 0 || end < here ? 0 : static_cast<std::uint64_t>(end - here);
}

template <class T>
void write_vector(std::ostream& out, const std::vector<T>& v) {
  write_pod<std::uint64_t>(out, v.size());
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}

template <class T>
std::vector<T> read_vector(std::istream& in) {
  const auto n = read_pod<std::uint64_t>(in);
  if (n > remaining_bytes(in) / sizeof(T)) throw Error("checkpoint data is truncated or corrupt (a length runs past the end)");
  std::vector<T> v(n);
  if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T))))
    throw Error("checkpoint data ends early");
  return v;
}

inline void write_string(std::ostream& out, const std::string& s) {
  write_pod<std::uint64_t>(out, s.size());
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

inline std::string read_string(std::istream& in) {
  const auto n = read_pod<std::uint64_t>(in);
  if (n > remaining_bytes(in)) throw Error("checkpoint data is truncated or corrupt (a length runs past the end)");
  std::string s(n, '\0');
  if (!in.read(s.data(), static_cast<std::streamsize>(n))) throw Error("checkpoint data ends early");
  return s;
}

}  // namespace heed
