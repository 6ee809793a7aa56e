#include "engine/rpc/codec.h"

namespace cells::rpc {

void fill_texts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& values) {
  for (unsigned i = 0; i < values.size(); ++i) out.set(i, values[i]);
}

std::vector<std::string> to_strings(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> out;
  for (auto t : in) out.emplace_back(t.cStr(), t.size());
  return out;
}

namespace {
std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
}  // namespace

schema::BackupKind to_schema(BackupKind k) {
  return k == BackupKind::kVolume ? schema::BackupKind::VOLUME : schema::BackupKind::OVERLAY;
}
BackupKind to_plain(schema::BackupKind k) {
  return k == schema::BackupKind::VOLUME ? BackupKind::kVolume : BackupKind::kOverlay;
}

void fill(schema::Cell::Builder b, const CellInfo& v) {
  b.setName(v.name);
  b.setState(v.state);
  b.setLifecycle(v.lifecycle);
  b.setRunning(v.running);
  b.setCid(v.cid);
  b.setProcs(v.procs);
  b.setRefs(v.refs);
  b.setCpu1s(v.cpu1s);
  b.setCpu10s(v.cpu10s);
  b.setMemory(v.memory);
  b.setAgeSeconds(v.age_seconds);
  b.setAutostart(v.autostart);
  b.setHealth(v.health);
  b.setManifest(v.manifest);
  b.setApplyPresent(v.apply_present);
  b.setProfile(v.profile);
  b.setBase(v.base);
  auto ports = b.initReservedPorts(unsigned(v.reserved_ports.size()));
  for (unsigned i = 0; i < v.reserved_ports.size(); ++i) ports.set(i, v.reserved_ports[i]);
  b.setRlimits(v.rlimits);
  b.setCommand(v.command);
  b.setRunAs(v.run_as);
  fill_texts(b.initDependsOn(unsigned(v.depends_on.size())), v.depends_on);
  fill_texts(b.initMounts(unsigned(v.mounts.size())), v.mounts);
  b.setHealthcheck(v.healthcheck);
  b.setRoot(v.root);
  b.setAppliedGeneration(v.applied_generation);
  b.setAppliedTimeNs(v.applied_time_ns);
  b.setRestarts(v.restarts);
}

CellInfo to_plain(schema::Cell::Reader r) {
  CellInfo v;
  v.name = str(r.getName());
  v.state = str(r.getState());
  v.lifecycle = str(r.getLifecycle());
  v.running = r.getRunning();
  v.cid = r.getCid();
  v.procs = r.getProcs();
  v.refs = r.getRefs();
  v.cpu1s = r.getCpu1s();
  v.cpu10s = r.getCpu10s();
  v.memory = r.getMemory();
  v.age_seconds = r.getAgeSeconds();
  v.autostart = r.getAutostart();
  v.health = str(r.getHealth());
  v.manifest = r.getManifest();
  v.apply_present = r.getApplyPresent();
  v.profile = str(r.getProfile());
  v.base = str(r.getBase());
  for (auto p : r.getReservedPorts()) v.reserved_ports.push_back(p);
  v.rlimits = str(r.getRlimits());
  v.command = str(r.getCommand());
  v.run_as = str(r.getRunAs());
  v.depends_on = to_strings(r.getDependsOn());
  v.mounts = to_strings(r.getMounts());
  v.healthcheck = str(r.getHealthcheck());
  v.root = str(r.getRoot());
  v.applied_generation = r.getAppliedGeneration();
  v.applied_time_ns = r.getAppliedTimeNs();
  v.restarts = r.getRestarts();
  return v;
}

void fill(schema::Volume::Builder b, const VolumeInfo& v) {
  b.setName(v.name);
  b.setState(v.state);
  b.setMode(v.mode);
  b.setPath(v.path);
  b.setMounted(v.mounted);
  b.setRefs(v.refs);
  fill_texts(b.initUsedBy(unsigned(v.used_by.size())), v.used_by);
  b.setManifest(v.manifest);
}

VolumeInfo to_plain(schema::Volume::Reader r) {
  return {str(r.getName()), str(r.getState()), str(r.getMode()), str(r.getPath()),
          r.getMounted(),   r.getRefs(),       to_strings(r.getUsedBy()), r.getManifest()};
}

void fill(schema::Overlay::Builder b, const OverlayInfo& v) {
  b.setCell(v.cell);
  b.setPath(v.path);
  b.setExists(v.exists);
  b.setRunning(v.running);
  b.setManifest(v.manifest);
}

OverlayInfo to_plain(schema::Overlay::Reader r) {
  return {str(r.getCell()), str(r.getPath()), r.getExists(), r.getRunning(), r.getManifest()};
}

void fill(schema::Backup::Builder b, const BackupInfo& v) {
  b.setKind(to_schema(v.kind));
  b.setName(v.name);
  b.setFile(v.file);
  b.setPath(v.path);
  b.setTimestamp(v.timestamp);
  b.setSize(v.size);
  b.setRecorded(v.recorded);
  b.setSha256(v.sha256);
  b.setGeneration(v.generation);
  b.setEntries(v.entries);
  b.setFreezeNs(v.freeze_ns);
}

BackupInfo to_plain(schema::Backup::Reader r) {
  BackupInfo v;
  v.kind = to_plain(r.getKind());
  v.name = str(r.getName());
  v.file = str(r.getFile());
  v.path = str(r.getPath());
  v.timestamp = str(r.getTimestamp());
  v.size = r.getSize();
  v.recorded = r.getRecorded();
  v.sha256 = str(r.getSha256());
  v.generation = r.getGeneration();
  v.entries = r.getEntries();
  v.freeze_ns = r.getFreezeNs();
  return v;
}

void fill(schema::JournalEntry::Builder b, const JournalRecord& v) {
  b.setSeq(v.seq);
  b.setTimeNs(v.time_ns);
  b.setOperation(v.operation);
  b.setKind(v.kind);
  b.setTarget(v.target);
  b.setPhase(v.phase);
  b.setActorUid(v.actor_uid);
  b.setActorPid(v.actor_pid);
  b.setActorCommand(v.actor_command);
}

JournalRecord to_plain(schema::JournalEntry::Reader r) {
  return {r.getSeq(),           r.getTimeNs(),         r.getOperation(),
          str(r.getKind()),     str(r.getTarget()),    str(r.getPhase()),
          r.getActorUid(),      r.getActorPid(),       str(r.getActorCommand())};
}

void fill(schema::CellStats::Builder b, const CellTelemetry& v) {
  b.setCid(v.cid);
  b.setName(v.name);
  b.setCpu1s(v.cpu1s);
  b.setCpu10s(v.cpu10s);
  b.setProcs(v.procs);
  b.setRefs(v.refs);
  b.setRss(v.rss);
  b.setVmsize(v.vmsize);
  b.setSupervise(v.supervise);
  b.setHealth(v.health);
  b.setRestarts(v.restarts);
  auto d = b.initDenials(unsigned(v.denials.size()));
  for (unsigned i = 0; i < v.denials.size(); ++i) d.set(i, v.denials[i]);
  b.setAgeSeconds(v.age_seconds);
}

CellTelemetry to_plain(schema::CellStats::Reader r) {
  CellTelemetry v;
  v.cid = r.getCid();
  v.name = str(r.getName());
  v.cpu1s = r.getCpu1s();
  v.cpu10s = r.getCpu10s();
  v.procs = r.getProcs();
  v.refs = r.getRefs();
  v.rss = r.getRss();
  v.vmsize = r.getVmsize();
  v.supervise = str(r.getSupervise());
  v.health = str(r.getHealth());
  v.restarts = r.getRestarts();
  for (auto d : r.getDenials()) v.denials.push_back(d);
  v.age_seconds = r.getAgeSeconds();
  return v;
}

void fill(schema::ApplyOutcome::Builder b, const ApplyResult& v) {
  b.setExitCode(v.exit_code);
  b.setCells(v.cells);
  b.setChanged(v.changed);
  b.setFailed(v.failed);
  b.setOperation(v.operation);
  b.setGeneration(v.generation);
  b.setText(v.text);
}

ApplyResult to_plain(schema::ApplyOutcome::Reader r) {
  return {r.getExitCode(), r.getCells(), r.getChanged(), r.getFailed(),
          r.getOperation(), r.getGeneration(), str(r.getText())};
}

void fill(schema::BackupMade::Builder b, const BackupMade& v) {
  b.setFile(v.file);
  b.setPath(v.path);
  b.setSize(v.size);
  b.setEntries(v.entries);
  b.setSha256(v.sha256);
  fill_texts(b.initFrozenCells(unsigned(v.frozen_cells.size())), v.frozen_cells);
  b.setFreezeNs(v.freeze_ns);
}

BackupMade to_plain(schema::BackupMade::Reader r) {
  return {str(r.getFile()), str(r.getPath()), r.getSize(), r.getEntries(),
          str(r.getSha256()), to_strings(r.getFrozenCells()), r.getFreezeNs()};
}

void fill(schema::RestoreDone::Builder b, const RestoreDone& v) {
  b.setFile(v.file);
  b.setEntries(v.entries);
  b.setDataBytes(v.data_bytes);
  b.setManifestGeneration(v.manifest_generation);
}

RestoreDone to_plain(schema::RestoreDone::Reader r) {
  return {str(r.getFile()), r.getEntries(), r.getDataBytes(), r.getManifestGeneration()};
}

}  // namespace cells::rpc
