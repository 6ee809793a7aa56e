#include "engine/preimage.h"

#include <unistd.h>

#include <algorithm>

#include "base/files.h"
#include "kernel/wire.h"

namespace cells::engine {
namespace {

constexpr uint32_t kMagic = 0x43505231;  // "CPR1"

// How a step reaches the entry it writes: through an in-root symlink at the last component
// (the writers follow it), or the entry itself (SYMLINK replaces a link, never follows it).
bool follows_last(StepKind k) { return k != StepKind::kSymlink; }

}  // namespace

bool plan_is_live(const Plan& plan) {
  return std::none_of(plan.steps.begin(), plan.steps.end(), [](const PlanStep& s) {
    return s.kind == StepKind::kExec || s.kind == StepKind::kPkg;
  });
}

Result<std::vector<EntryImage>> capture_preimage(const Plan& plan, CellRoot& root) {
  if (!plan_is_live(plan)) {
    return Error::invalid(plan.file + ": EXEC and PKG steps cannot be applied to a running cell");
  }
  std::vector<EntryImage> out;
  for (const auto& s : plan.steps) {
    auto img = CELLS_TRY_CTX(root.image(s.path, follows_last(s.kind)),
                             plan.file + ":" + std::to_string(s.line));
    // Nothing is written while images are taken, so a path seen twice has one state.
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const EntryImage& e) { return e.path == img.path; });
    if (!seen) out.push_back(std::move(img));
  }
  return out;
}

Status restore_preimage(CellRoot& root, const Preimage& p) {
  for (auto it = p.entries.rbegin(); it != p.entries.rend(); ++it) CELLS_TRY(root.restore(*it));
  return ok_status();
}

std::string preimage_path(const CellRootLayout& layout) { return layout.cell_dir + "/preimage"; }

std::string encode_preimage(const Preimage& p) {
  kernel::WireWriter w;
  w.u32(kMagic);
  w.u64(p.operation);
  w.u32(uint32_t(p.entries.size()));
  for (const auto& e : p.entries) {
    w.u32(uint32_t(e.kind));
    w.str(e.path);
    w.u32(e.mode);
    w.u32(e.uid);
    w.u32(e.gid);
    w.str(e.data);
    w.u32(uint32_t(e.xattrs.size()));
    for (const auto& x : e.xattrs) {
      w.str(x.first);
      w.str(x.second);
    }
  }
  return w.take();
}

Result<Preimage> decode_preimage(std::string_view bytes) {
  auto bad = [](const std::string& what) {
    return Error(ErrorKind::kCorrupt, "preimage: bad " + what);
  };
  kernel::WireReader in(bytes);
  Preimage p;
  uint32_t magic = 0, n = 0;
  if (!in.u32(&magic) || magic != kMagic) return bad("magic");
  if (!in.u64(&p.operation) || !in.u32(&n)) return bad("header");
  for (uint32_t i = 0; i < n; ++i) {
    EntryImage e;
    uint32_t kind = 0, nx = 0;
    if (!in.u32(&kind) || kind > uint32_t(EntryImage::Kind::kDir)) return bad("entry kind");
    e.kind = EntryImage::Kind(kind);
    if (!in.str(&e.path) || !e.path.starts_with("/")) return bad("entry path");
    if (!in.u32(&e.mode) || e.mode > 07777 || !in.u32(&e.uid) || !in.u32(&e.gid) ||
        !in.str(&e.data) || !in.u32(&nx)) {
      return bad("entry " + e.path);
    }
    for (uint32_t j = 0; j < nx; ++j) {
      std::string name, value;
      if (!in.str(&name) || name.empty() || !in.str(&value)) return bad("xattr of " + e.path);
      e.xattrs.emplace_back(std::move(name), std::move(value));
    }
    p.entries.push_back(std::move(e));
  }
  if (!in.done()) return bad("length");
  return p;
}

Status save_preimage(const std::string& path, const Preimage& p) {
  return write_file_atomic(path, encode_preimage(p), 0600);
}

Result<std::optional<Preimage>> load_preimage(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes && bytes.error().kind() == ErrorKind::kNotFound) return std::optional<Preimage>();
  if (!bytes) return std::move(bytes).error();
  return std::optional<Preimage>(CELLS_TRY_CTX(decode_preimage(*bytes), path));
}

Status drop_preimage(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return ok_status();
    return Error::sys(errno, "remove " + path);
  }
  return fsync_parent_dir(path);
}

}  // namespace cells::engine
