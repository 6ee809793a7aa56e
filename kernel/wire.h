// A small binary encoding for requests passed between cells' own processes (the spawn request
// to a cell's init, the supervisor's spec): little-endian fixed-width integers and
// length-prefixed byte strings. Both ends are built from the same source, so there is no
// versioning beyond a magic number the caller writes first.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cells::kernel {

class WireWriter {
 public:
  void u32(uint32_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void u64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(std::string_view s) {
    u32(uint32_t(s.size()));
    out_.append(s);
  }
  void strs(const std::vector<std::string>& v) {
    u32(uint32_t(v.size()));
    for (const auto& s : v) str(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Every read returns false (and leaves the output unspecified) once the input is short.
class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}
  bool u32(uint32_t* v) { return raw(v, sizeof *v); }
  bool u64(uint64_t* v) { return raw(v, sizeof *v); }
  bool str(std::string* s) {
    uint32_t n = 0;
    if (!u32(&n) || n > in_.size()) return false;
    s->assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool strs(std::vector<std::string>* v) {
    uint32_t n = 0;
    if (!u32(&n) || n > in_.size()) return false;  // each string takes at least 4 bytes
    v->resize(n);
    for (auto& s : *v) {
      if (!str(&s)) return false;
    }
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  bool raw(void* p, size_t n) {
    if (in_.size() < n) return false;
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
};

}  // namespace cells::kernel
