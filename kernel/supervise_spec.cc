#include "kernel/supervise_spec.h"

#include "kernel/wire.h"

namespace cells::kernel {
namespace {

constexpr uint32_t kMagic = 0x43535332;  // "CSS2": one encoding version

// An optional integer as a presence flag and the value.
void put_opt(WireWriter& w, const std::optional<uint64_t>& v) {
  w.u32(v ? 1 : 0);
  w.u64(v.value_or(0));
}
bool get_opt(WireReader& in, std::optional<uint64_t>* v) {
  uint32_t present = 0;
  uint64_t value = 0;
  if (!in.u32(&present) || present > 1 || !in.u64(&value)) return false;
  *v = present ? std::optional<uint64_t>(value) : std::nullopt;
  return true;
}

void put_ids(WireWriter& w, const std::vector<gid_t>& ids) {
  w.u32(uint32_t(ids.size()));
  for (gid_t g : ids) w.u32(g);
}
bool get_ids(WireReader& in, std::vector<gid_t>* ids) {
  uint32_t n = 0, v = 0;
  if (!in.u32(&n) || n > 65536) return false;
  for (uint32_t i = 0; i < n; ++i) {
    if (!in.u32(&v)) return false;
    ids->push_back(v);
  }
  return true;
}

// Signed values (log levels, durations) travel as their two's complement.
bool get_int(WireReader& in, int* v) {
  uint32_t u = 0;
  if (!in.u32(&u)) return false;
  *v = int(int32_t(u));
  return true;
}
bool get_ms(WireReader& in, std::chrono::milliseconds* v) {
  uint64_t u = 0;
  if (!in.u64(&u)) return false;
  *v = std::chrono::milliseconds(int64_t(u));
  return true;
}

}  // namespace

std::string encode_supervise_spec(const SuperviseSpec& s) {
  WireWriter w;
  w.u32(kMagic);
  w.u32(s.cid);
  w.str(s.name);
  w.strs(s.argv);
  put_opt(w, s.rlimits.nofile);
  put_opt(w, s.rlimits.as);
  put_opt(w, s.rlimits.core);
  w.u32(uint32_t(s.log.facility));
  w.u32(uint32_t(s.log.stdout_level));
  w.u32(uint32_t(s.log.stderr_level));
  w.str(s.log.tag);
  w.u32(s.budget.restarts);
  w.u64(uint64_t(s.budget.window.count()));
  w.u64(uint64_t(s.grace.count()));
  w.u32(s.run_as ? 1 : 0);
  if (s.run_as) {
    w.u32(s.run_as->uid);
    w.u32(s.run_as->gid);
    put_ids(w, s.run_as->groups);
  }
  w.u32(s.health ? 1 : 0);
  if (s.health) {
    w.strs(s.health->argv);
    w.u64(uint64_t(s.health->timeout.count()));
    w.u64(uint64_t(s.health->interval.count()));
    w.u32(s.health->retries);
  }
  w.u32(uint32_t(s.reload_signal));
  return w.take();
}

Result<SuperviseSpec> decode_supervise_spec(std::string_view bytes) {
  auto bad = [](const char* what) {
    return Error(ErrorKind::kCorrupt, std::string("supervise spec: bad ") + what);
  };
  WireReader in(bytes);
  SuperviseSpec s;
  uint32_t magic = 0, flag = 0;
  uint64_t window = 0;
  if (!in.u32(&magic) || magic != kMagic) return bad("magic");
  if (!in.u32(&s.cid) || !in.str(&s.name)) return bad("cell");
  if (!in.strs(&s.argv)) return bad("argv");
  if (!get_opt(in, &s.rlimits.nofile) || !get_opt(in, &s.rlimits.as) ||
      !get_opt(in, &s.rlimits.core)) {
    return bad("rlimits");
  }
  if (!get_int(in, &s.log.facility) || !get_int(in, &s.log.stdout_level) ||
      !get_int(in, &s.log.stderr_level) || !in.str(&s.log.tag)) {
    return bad("log");
  }
  if (!in.u32(&s.budget.restarts) || !in.u64(&window)) return bad("restart budget");
  s.budget.window = std::chrono::seconds(int64_t(window));
  if (!get_ms(in, &s.grace)) return bad("grace");
  if (!in.u32(&flag) || flag > 1) return bad("run_as");
  if (flag) {
    Credentials c;
    if (!in.u32(&c.uid) || !in.u32(&c.gid) || !get_ids(in, &c.groups)) return bad("run_as");
    s.run_as = std::move(c);
  }
  if (!in.u32(&flag) || flag > 1) return bad("healthcheck");
  if (flag) {
    HealthcheckSpec h;
    if (!in.strs(&h.argv) || !get_ms(in, &h.timeout) || !get_ms(in, &h.interval) ||
        !in.u32(&h.retries)) {
      return bad("healthcheck");
    }
    s.health = std::move(h);
  }
  if (!get_int(in, &s.reload_signal) || s.reload_signal < 0 || s.reload_signal > 64) {
    return bad("reload signal");
  }
  if (!in.done()) return bad("length");
  return s;
}

}  // namespace cells::kernel
