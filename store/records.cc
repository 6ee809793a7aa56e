#include "store/records.h"

#include <algorithm>
#include <cstring>

#include "base/text.h"
#include "store/capnp_adapter.h"
#include "store/schema/records.capnp.h"

namespace cells::store::detail {
namespace {

namespace s = schema;

template <typename List>
void set_texts(List list, const std::vector<std::string>& v) {
  for (unsigned i = 0; i < v.size(); ++i) list.set(i, v[i]);
}
template <typename Reader>
std::vector<std::string> get_texts(Reader list) {
  std::vector<std::string> out;
  for (auto t : list) out.emplace_back(t);
  return out;
}
std::string_view as_view(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }
capnp::Data::Reader as_data(std::string_view b) {
  return {reinterpret_cast<const kj::byte*>(b.data()), b.size()};
}
std::string from_data(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

void build_cell(s::CellManifest::Builder b, const CellManifest& c) {
  b.setName(c.name);
  b.setAutostart(c.autostart);
  b.setProfile(c.profile);
  auto ports = b.initReservedPorts(static_cast<unsigned>(c.reserved_ports.size()));
  for (unsigned i = 0; i < c.reserved_ports.size(); ++i) ports.set(i, c.reserved_ports[i]);
  set_texts(b.initCommand(static_cast<unsigned>(c.command.size())), c.command);
  b.setRunAs(c.run_as);
  auto rl = b.initRlimits();
  rl.setNofile(c.rlimits.nofile);
  rl.setAs(c.rlimits.as);
  rl.setCore(c.rlimits.core);
  set_texts(b.initDependsOn(static_cast<unsigned>(c.depends_on.size())), c.depends_on);
  auto hc = b.initHealthcheck();
  set_texts(hc.initCommand(static_cast<unsigned>(c.healthcheck.command.size())),
            c.healthcheck.command);
  hc.setTimeoutMs(c.healthcheck.timeout_ms);
  hc.setIntervalMs(c.healthcheck.interval_ms);
  hc.setRetries(c.healthcheck.retries);
  auto log = b.initLog();
  log.setFacility(c.log.facility);
  log.setStdoutLevel(c.log.stdout_level);
  log.setStderrLevel(c.log.stderr_level);
  log.setTag(c.log.tag);
  auto mounts = b.initMounts(static_cast<unsigned>(c.mounts.size()));
  for (unsigned i = 0; i < c.mounts.size(); ++i) {
    const MountSpec& m = c.mounts[i];
    auto mb = mounts[i];
    if (m.source_kind == MountSpec::Source::kVolume) {
      mb.getSource().setVolume(m.source);
    } else {
      mb.getSource().setHostPath(m.source);
    }
    mb.setTarget(m.target);
    mb.setReadOnly(m.read_only);
  }
  b.setBase(c.base);
  b.setManifestText(c.manifest_text);
}

CellManifest read_cell(s::CellManifest::Reader r) {
  CellManifest c;
  c.name = r.getName();
  c.autostart = r.getAutostart();
  c.profile = r.getProfile();
  for (auto p : r.getReservedPorts()) c.reserved_ports.push_back(p);
  c.command = get_texts(r.getCommand());
  c.run_as = r.getRunAs();
  c.rlimits = {r.getRlimits().getNofile(), r.getRlimits().getAs(), r.getRlimits().getCore()};
  c.depends_on = get_texts(r.getDependsOn());
  auto hc = r.getHealthcheck();
  c.healthcheck = {get_texts(hc.getCommand()), hc.getTimeoutMs(), hc.getIntervalMs(),
                   hc.getRetries()};
  auto log = r.getLog();
  c.log = {log.getFacility(), log.getStdoutLevel(), log.getStderrLevel(), log.getTag()};
  for (auto m : r.getMounts()) {
    MountSpec ms;
    if (m.getSource().isVolume()) {
      ms.source_kind = MountSpec::Source::kVolume;
      ms.source = m.getSource().getVolume();
    } else {
      ms.source_kind = MountSpec::Source::kHostPath;
      ms.source = m.getSource().getHostPath();
    }
    ms.target = m.getTarget();
    ms.read_only = m.getReadOnly();
    c.mounts.push_back(std::move(ms));
  }
  c.base = r.getBase();
  c.manifest_text = r.getManifestText();
  return c;
}

template <typename T, typename Key>
std::vector<const T*> sorted(const std::vector<T>& v, Key key) {
  std::vector<const T*> out;
  for (const T& x : v) out.push_back(&x);
  // Stable: a damaged record may hold two entries of one name, and the canonical encoding
  // must keep their order so that encoding its own decode gives the same bytes (found by
  // fuzz_journal: generation round-trips).
  std::stable_sort(out.begin(), out.end(), [&](const T* a, const T* b) { return key(*a) < key(*b); });
  return out;
}

void build_plan(s::ApplyPlan::Builder b, const ApplyPlan& p) {
  b.setCell(p.cell);
  b.setText(p.text);
  auto assets = b.initAssets(static_cast<unsigned>(p.assets.size()));
  for (unsigned j = 0; j < p.assets.size(); ++j) {
    assets[j].setPath(p.assets[j].path);
    const Hash& h = p.assets[j].sha256;
    assets[j].setSha256(capnp::Data::Reader(h.data(), h.size()));
  }
}

}  // namespace

std::string encode_generation(const Generation& g) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::Generation>();
  b.setNumber(g.number);
  b.setTimeNs(g.time_ns);
  b.setOperationId(g.operation_id);
  auto cells = sorted(g.desired.cells, [](const CellManifest& c) { return c.name; });
  auto cl = b.initCells(static_cast<unsigned>(cells.size()));
  for (unsigned i = 0; i < cells.size(); ++i) build_cell(cl[i], *cells[i]);
  auto vols = sorted(g.desired.volumes, [](const VolumeManifest& v) { return v.name; });
  auto vl = b.initVolumes(static_cast<unsigned>(vols.size()));
  for (unsigned i = 0; i < vols.size(); ++i) {
    vl[i].setName(vols[i]->name);
    vl[i].setManifestText(vols[i]->manifest_text);
  }
  auto plans = sorted(g.desired.plans, [](const ApplyPlan& p) { return p.cell; });
  auto pl = b.initPlans(static_cast<unsigned>(plans.size()));
  for (unsigned i = 0; i < plans.size(); ++i) build_plan(pl[i], *plans[i]);
  return to_bytes(msg);
}

namespace {

Result<ApplyPlan> read_plan(s::ApplyPlan::Reader p) {
  ApplyPlan plan{p.getCell(), p.getText(), {}};
  for (auto a : p.getAssets()) {
    AssetHash ah{a.getPath(), {}};
    if (a.getSha256().size() != ah.sha256.size()) {
      // Both names come from the damaged record: one line, whatever bytes they hold.
      return Error(ErrorKind::kCorrupt, "plan of " + one_line(plan.cell) + ": asset hash of " +
                                            one_line(ah.path) + " is not 32 bytes");
    }
    std::memcpy(ah.sha256.data(), a.getSha256().begin(), ah.sha256.size());
    plan.assets.push_back(std::move(ah));
  }
  return plan;
}

// The first index of LIST whose KEY is not less than NAME (LIST is sorted by KEY).
template <typename List, typename Key>
unsigned lower_bound_by(List list, std::string_view name, Key key) {
  unsigned lo = 0, hi = list.size();
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (as_view(key(list[mid])) < name) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace

Result<Generation> decode_generation(std::string_view bytes) {
  auto r = capnp_call("decode generation", [&]() -> Result<Generation> {
    AlignedMessage m(bytes);
    auto gr = m.root<s::Generation>();
    Generation g;
    g.number = gr.getNumber();
    g.time_ns = gr.getTimeNs();
    g.operation_id = gr.getOperationId();
    for (auto c : gr.getCells()) g.desired.cells.push_back(read_cell(c));
    for (auto v : gr.getVolumes()) g.desired.volumes.push_back({v.getName(), v.getManifestText()});
    for (auto p : gr.getPlans()) {
      g.desired.plans.push_back(
          CELLS_TRY_CTX(read_plan(p), "generation " + std::to_string(g.number)));
    }
    return g;
  });
  if (!r) return std::move(r).error();
  return std::move(*r);
}

Result<std::optional<GenerationCell>> find_generation_cell(std::string_view bytes,
                                                           std::string_view name) {
  auto r = capnp_call("decode generation", [&]() -> Result<std::optional<GenerationCell>> {
    AlignedMessage m(bytes);
    auto gr = m.root<s::Generation>();
    // Generations are written sorted by name (encode_generation), so each lookup reads
    // log2(N) names instead of decoding N manifests.
    auto cells = gr.getCells();
    unsigned i = lower_bound_by(cells, name, [](auto c) { return c.getName(); });
    if (i == cells.size() || as_view(cells[i].getName()) != name) {
      return std::optional<GenerationCell>();
    }
    GenerationCell out{read_cell(cells[i]), std::nullopt};
    auto plans = gr.getPlans();
    unsigned j = lower_bound_by(plans, name, [](auto p) { return p.getCell(); });
    if (j < plans.size() && as_view(plans[j].getCell()) == name) {
      out.plan = CELLS_TRY_CTX(read_plan(plans[j]), "generation " + std::to_string(gr.getNumber()));
    }
    return std::optional<GenerationCell>(std::move(out));
  });
  if (!r) return std::move(r).error();
  return std::move(*r);
}

namespace {

// One item, the root of a message of its own (store format 2).
template <typename Schema, typename Build>
std::string encode_as(Build build) {
  capnp::MallocMessageBuilder msg;
  build(msg.initRoot<Schema>());
  return to_bytes(msg);
}
template <typename Schema, typename Read>
auto decode_as(const char* what, std::string_view bytes, Read read) {
  return capnp_call(what, [&] {
    AlignedMessage m(bytes);
    return read(m.root<Schema>());
  });
}

}  // namespace

std::string encode_generation_header(const GenerationSummary& g) {
  return encode_as<s::Generation>([&](s::Generation::Builder b) {
    b.setNumber(g.number);
    b.setTimeNs(g.time_ns);
    b.setOperationId(g.operation_id);
    b.setCellCount(g.cells);
    b.setVolumeCount(g.volumes);
    b.setPlanCount(g.plans);
  });
}

Result<GenerationSummary> decode_generation_header(std::string_view bytes) {
  return decode_as<s::Generation>("decode generation header", bytes, [](s::Generation::Reader r) {
    return GenerationSummary{r.getNumber(),    r.getTimeNs(),      r.getOperationId(),
                             r.getCellCount(), r.getVolumeCount(), r.getPlanCount()};
  });
}

std::string encode_cell(const CellManifest& c) {
  return encode_as<s::CellManifest>([&](s::CellManifest::Builder b) { build_cell(b, c); });
}

Result<CellManifest> decode_cell(std::string_view bytes) {
  return decode_as<s::CellManifest>("decode cell manifest", bytes, read_cell);
}

std::string encode_volume(const VolumeManifest& v) {
  return encode_as<s::VolumeManifest>([&](s::VolumeManifest::Builder b) {
    b.setName(v.name);
    b.setManifestText(v.manifest_text);
  });
}

Result<VolumeManifest> decode_volume(std::string_view bytes) {
  return decode_as<s::VolumeManifest>("decode volume manifest", bytes, [](s::VolumeManifest::Reader r) {
    return VolumeManifest{r.getName(), r.getManifestText()};
  });
}

std::string encode_plan(const ApplyPlan& p) {
  return encode_as<s::ApplyPlan>([&](s::ApplyPlan::Builder b) { build_plan(b, p); });
}

Result<ApplyPlan> decode_plan(std::string_view bytes) {
  // READ_PLAN answers a Result of its own (a bad asset hash), unwrapped here.
  auto r = decode_as<s::ApplyPlan>("decode apply plan", bytes, read_plan);
  if (!r) return std::move(r).error();
  return std::move(*r);
}

std::string encode_runtime(const RuntimeCell& rc) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::RuntimeCell>();
  b.setName(rc.name);
  b.setCid(rc.cid);
  b.setCgroupId(rc.cgroup_id);
  b.setSupervisorPid(rc.supervisor_pid);
  b.setStartTimeNs(rc.start_time_ns);
  b.setAppliedGeneration(rc.applied_generation);
  b.setPolicy(as_data(rc.policy));
  auto h = b.initLastHealth();
  h.setTimeNs(rc.last_health.time_ns);
  h.setOk(rc.last_health.ok);
  h.setExitStatus(rc.last_health.exit_status);
  h.setOutput(rc.last_health.output);
  return to_bytes(msg);
}

Result<RuntimeCell> decode_runtime(std::string_view bytes) {
  auto r = capnp_call("decode runtime record", [&]() -> Result<RuntimeCell> {
    AlignedMessage m(bytes);
    auto rr = m.root<s::RuntimeCell>();
    RuntimeCell rc;
    rc.name = rr.getName();
    rc.cid = rr.getCid();
    rc.cgroup_id = rr.getCgroupId();
    rc.supervisor_pid = rr.getSupervisorPid();
    rc.start_time_ns = rr.getStartTimeNs();
    rc.applied_generation = rr.getAppliedGeneration();
    rc.policy = from_data(rr.getPolicy());
    auto h = rr.getLastHealth();
    rc.last_health = {h.getTimeNs(), h.getOk(), h.getExitStatus(), h.getOutput()};
    return rc;
  });
  if (!r) return std::move(r).error();
  return std::move(*r);
}

}  // namespace cells::store::detail
