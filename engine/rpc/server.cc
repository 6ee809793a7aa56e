#include "engine/rpc/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize-async.h>
#include <kj/async-io.h>

#include <cstdio>
#include <map>

#include "engine/rpc/bridge_actions.h"
#include "engine/rpc/bridge_reads.h"
#include "engine/rpc/cells.capnp.h"
#include "engine/rpc/codec.h"

namespace cells::rpc {
namespace {

// An Error as the exception the client receives: "[kind] message" (client.cc parses the kind
// back, so a refusal stays a kInvalid on the other side).
[[noreturn]] void raise(const Error& e) {
  kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                        kj::str("[", to_string(e.kind()).data(), "] ",
                                                e.message().c_str())));
}
template <typename T>
T take(Result<T> r) {
  if (!r) raise(r.error());
  return std::move(*r);
}
void check(Status s) {
  if (!s) raise(s.error());
}

std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

BackupKind kind_of(schema::BackupKind k) {
  if (k != schema::BackupKind::VOLUME && k != schema::BackupKind::OVERLAY) {
    raise(Error::invalid("backup kind " + std::to_string(unsigned(k)) + " is not volume or overlay"));
  }
  return to_plain(k);
}

std::vector<std::string> names_of(capnp::List<capnp::Text>::Reader list) {
  if (list.size() > kMaxNames) {
    raise(Error::invalid(std::to_string(list.size()) + " names: at most " +
                         std::to_string(kMaxNames) + " per request"));
  }
  return to_strings(list);
}

// The message stream of one connection over separate input and output streams (stdin and
// stdout are two pipes under ssh). It keeps why the connection failed: the error of a frame it
// could not read, and the reason of the Abort the RPC layer sends on any protocol error.
class RecordingStream final : public capnp::MessageStream {
 public:
  RecordingStream(kj::AsyncInputStream& in, kj::AsyncOutputStream& out) : in_(in), out_(out) {}

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(
      kj::ArrayPtr<kj::AutoCloseFd>, capnp::ReaderOptions options,
      kj::ArrayPtr<capnp::word> scratch) override {
    return capnp::tryReadMessage(in_, options, scratch)
        .then(
            [](kj::Maybe<kj::Own<capnp::MessageReader>> m) -> kj::Maybe<capnp::MessageReaderAndFds> {
              KJ_IF_MAYBE(reader, m) { return capnp::MessageReaderAndFds{kj::mv(*reader), nullptr}; }
              return nullptr;
            },
            [this](kj::Exception&& e) -> kj::Maybe<capnp::MessageReaderAndFds> {
              if (!failure_) failure_ = std::string(e.getDescription().cStr());
              kj::throwFatalException(kj::mv(e));
            });
  }
  kj::Promise<void> writeMessage(kj::ArrayPtr<const int>,
                                 kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) override {
    note_abort(segments);
    return capnp::writeMessage(out_, segments);
  }
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override {
    for (auto m : messages) note_abort(m);
    return capnp::writeMessages(out_, messages);
  }
  kj::Maybe<int> getSendBufferSize() override { return nullptr; }
  kj::Promise<void> end() override { return kj::READY_NOW; }

  const std::optional<std::string>& failure() const { return failure_; }

 private:
  void note_abort(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
    capnp::SegmentArrayMessageReader reader(segments);
    auto msg = reader.getRoot<capnp::rpc::Message>();
    // The RPC layer also "aborts" with DISCONNECTED when the input simply ended: not a failure.
    if (msg.isAbort() && msg.getAbort().getType() != capnp::rpc::Exception::Type::DISCONNECTED) {
      failure_ = str(msg.getAbort().getReason());
    }
  }

  kj::AsyncInputStream& in_;
  kj::AsyncOutputStream& out_;
  std::optional<std::string> failure_;
};

// Subscribers and the change detection that feeds them. Every kWatchTick it compares a cheap
// fingerprint (mtime and size of the store, the manifest directory, the cgroup parent and the
// runtime directories); on a change, and on every telemetry tick, it reads the journal after
// the last entry it pushed and the cell list, and pushes what differs from what it pushed last.
class Hub final : public kj::TaskSet::ErrorHandler {
 public:
  // Journal entries per push (the rest follows on the next ticks).
  static constexpr size_t kJournalPushPage = 1000;

  explicit Hub(BridgeReads& reads) : reads_(reads), tasks_(*this) {}

  uint64_t add(schema::Listener::Client listener) {
    if (listeners_.empty()) baseline();
    listeners_.emplace(next_id_, kj::mv(listener));
    return next_id_++;
  }
  void remove(uint64_t id) { listeners_.erase(id); }

  kj::Promise<void> watch(kj::Timer& timer) {
    return timer.afterDelay(kWatchTick.count() * kj::MILLISECONDS).then([this, &timer] {
      tick();
      return watch(timer);
    });
  }

  void taskFailed(kj::Exception&& e) override {
    std::fprintf(stderr, "cellmgr serve: event delivery failed: %s\n", e.getDescription().cStr());
  }

 private:
  // What the client last heard: the journal head and the cells without their gauges (those
  // move every second and travel in telemetry ticks).
  void baseline() {
    last_fp_ = fingerprint();
    last_seq_ = reads_.journal_head().value_or(0);
    if (auto c = reads_.cells(); c) last_cells_ = without_gauges(*c);
  }

  static std::vector<CellInfo> without_gauges(std::vector<CellInfo> cells) {
    for (auto& c : cells) {
      c.procs = c.refs = c.cpu1s = 0;
      c.cpu10s = 0;
      c.memory = 0;
      c.age_seconds = 0;
    }
    return cells;
  }

  std::string fingerprint() const {
    const Paths& p = reads_.paths();
    std::string fp;
    for (const std::string& f : {p.state_dir() + "/data.mdb", p.etc_dir(), p.cgroup_parent(),
                                 p.cells_dir(), p.volumes_dir(), p.run_dir()}) {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0) {
        fp += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
              std::to_string(st.st_size);
      }
      fp += ";";
    }
    return fp;
  }

  void tick() {
    if (listeners_.empty()) return;
    bool telemetry = ++ticks_ % kTicksPerTelemetry == 0;
    std::string fp = fingerprint();
    if (fp == last_fp_ && !telemetry) return;
    last_fp_ = fp;
    push_journal();
    // One gather for the cell list and the gauges.
    auto live = reads_.live(telemetry);
    if (!live) return;
    push_cells(live->cells);
    if (!live->telemetry) return;
    for (auto& [id, l] : listeners_) {
      auto req = l.telemetryTickRequest();
      fill_list<schema::CellStats>(req.initStats(unsigned(live->telemetry->size())), *live->telemetry);
      send(id, req.send().ignoreResult());
    }
  }

  void push_journal() {
    auto entries = reads_.journal_after(last_seq_, kJournalPushPage);
    if (!entries || entries->empty()) return;
    last_seq_ = entries->back().seq;
    // A full page may have more behind it: forget the fingerprint so the next tick looks again.
    if (entries->size() == kJournalPushPage) last_fp_.clear();
    for (auto& [id, l] : listeners_) {
      auto req = l.journalAppendedRequest();
      fill_list<schema::JournalEntry>(req.initEntries(unsigned(entries->size())), *entries);
      send(id, req.send().ignoreResult());
    }
  }

  void push_cells(const std::vector<CellInfo>& cells) {
    auto key = without_gauges(cells);
    if (key == last_cells_) return;
    last_cells_ = std::move(key);
    for (auto& [id, l] : listeners_) {
      auto req = l.cellsChangedRequest();
      fill_list<schema::Cell>(req.initCells(unsigned(cells.size())), cells);
      send(id, req.send().ignoreResult());
    }
  }

  // A listener whose call fails is gone (its client disconnected or dropped it).
  void send(uint64_t id, kj::Promise<void> p) {
    tasks_.add(p.catch_([this, id](kj::Exception&&) { remove(id); }));
  }

  BridgeReads& reads_;
  std::map<uint64_t, schema::Listener::Client> listeners_;
  uint64_t next_id_ = 1;
  uint64_t ticks_ = 0;
  std::string last_fp_;
  uint64_t last_seq_ = 0;
  std::vector<CellInfo> last_cells_;
  kj::TaskSet tasks_;
};

class SubscriptionImpl final : public schema::Subscription::Server {
 public:
  SubscriptionImpl(Hub& hub, uint64_t id) : hub_(hub), id_(id) {}
  ~SubscriptionImpl() { hub_.remove(id_); }

 private:
  Hub& hub_;
  uint64_t id_;
};

class BridgeImpl final : public schema::Bridge::Server {
 public:
  BridgeImpl(BridgeReads& reads, BridgeActions& actions, Hub& hub)
      : reads_(reads), actions_(actions), hub_(hub) {}

 protected:
  kj::Promise<void> version(VersionContext ctx) override {
    auto r = ctx.getResults();
    r.setMajor(schema::VERSION_MAJOR);
    r.setMinor(schema::VERSION_MINOR);
    return kj::READY_NOW;
  }
  kj::Promise<void> cells(CellsContext ctx) override {
    auto v = take(reads_.cells());
    fill_list<schema::Cell>(ctx.getResults().initCells(unsigned(v.size())), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> volumes(VolumesContext ctx) override {
    auto v = take(reads_.volumes());
    fill_list<schema::Volume>(ctx.getResults().initVolumes(unsigned(v.size())), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> overlays(OverlaysContext ctx) override {
    auto v = take(reads_.overlays());
    fill_list<schema::Overlay>(ctx.getResults().initOverlays(unsigned(v.size())), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> backups(BackupsContext ctx) override {
    auto p = ctx.getParams();
    auto v = take(reads_.backups(kind_of(p.getKind()), str(p.getName())));
    fill_list<schema::Backup>(ctx.getResults().initBackups(unsigned(v.size())), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> journal(JournalContext ctx) override {
    auto p = ctx.getParams();
    auto v = take(reads_.journal(str(p.getCell()), p.getLimit(), p.getBefore()));
    fill_list<schema::JournalEntry>(ctx.getResults().initEntries(unsigned(v.size())), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> telemetry(TelemetryContext ctx) override {
    auto v = take(reads_.telemetry());
    fill_list<schema::CellStats>(ctx.getResults().initStats(unsigned(v.size())), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> journalHead(JournalHeadContext ctx) override {
    ctx.getResults().setSeq(take(reads_.journal_head()));
    return kj::READY_NOW;
  }

  kj::Promise<void> start(StartContext ctx) override { return lifecycle(Verb::kStart, ctx); }
  kj::Promise<void> stop(StopContext ctx) override { return lifecycle(Verb::kStop, ctx); }
  kj::Promise<void> restart(RestartContext ctx) override { return lifecycle(Verb::kRestart, ctx); }

  kj::Promise<void> apply(ApplyContext ctx) override {
    auto p = ctx.getParams();
    auto v = take(actions_.apply(names_of(p.getNames()), p.getDryRun()));
    fill(ctx.getResults().initOutcome(), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> backupCreate(BackupCreateContext ctx) override {
    auto p = ctx.getParams();
    auto v = take(actions_.backup_create(kind_of(p.getKind()), str(p.getName())));
    fill(ctx.getResults().initMade(), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> backupRestore(BackupRestoreContext ctx) override {
    auto p = ctx.getParams();
    auto v = take(actions_.backup_restore(kind_of(p.getKind()), str(p.getName()), str(p.getFile()),
                                          p.getStop(), p.getWithManifest()));
    fill(ctx.getResults().initDone(), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> backupDelete(BackupDeleteContext ctx) override {
    auto p = ctx.getParams();
    check(actions_.backup_delete(kind_of(p.getKind()), str(p.getName()), str(p.getFile())));
    return kj::READY_NOW;
  }
  kj::Promise<void> shell(ShellContext ctx) override {
    auto v = take(actions_.shell(str(ctx.getParams().getName())));
    fill_texts(ctx.getResults().initArgv(unsigned(v.size())), v);
    return kj::READY_NOW;
  }
  kj::Promise<void> subscribe(SubscribeContext ctx) override {
    uint64_t id = hub_.add(ctx.getParams().getListener());
    ctx.getResults().setSubscription(kj::heap<SubscriptionImpl>(hub_, id));
    return kj::READY_NOW;
  }

 private:
  template <typename Context>
  kj::Promise<void> lifecycle(Verb verb, Context& ctx) {
    auto p = ctx.getParams();
    auto v = take(actions_.lifecycle(verb, names_of(p.getNames()), p.getAll()));
    fill_texts(ctx.getResults().initCells(unsigned(v.size())), v);
    return kj::READY_NOW;
  }

  BridgeReads& reads_;
  BridgeActions& actions_;
  Hub& hub_;
};

capnp::ReaderOptions receive_options() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = kMaxFrameWords;
  return o;
}

}  // namespace

struct Session::Impl {
  Impl(ServeConfig cfg, kj::AsyncInputStream& in, kj::AsyncOutputStream& out, kj::Timer& t)
      : reads(cfg.paths),
        actions(cfg.paths, cfg.lifecycle),
        hub(reads),
        stream(in, out),
        network(stream, capnp::rpc::twoparty::Side::SERVER, receive_options()),
        rpc(capnp::makeRpcServer(network, kj::heap<BridgeImpl>(reads, actions, hub))),
        timer(t) {}

  // Members in dependency order: the RPC system (last) is destroyed first, so no capability
  // outlives the hub, the reads or the actions it points at.
  BridgeReads reads;
  BridgeActions actions;
  Hub hub;
  RecordingStream stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
  kj::Timer& timer;
};

Session::Session(ServeConfig cfg, kj::AsyncInputStream& in, kj::AsyncOutputStream& out,
                 kj::Timer& timer)
    : impl_(std::make_unique<Impl>(std::move(cfg), in, out, timer)) {}
Session::~Session() = default;

kj::Promise<void> Session::run() {
  return impl_->network.onDisconnect().exclusiveJoin(impl_->hub.watch(impl_->timer));
}

std::optional<std::string> Session::failure() const { return impl_->stream.failure(); }

Status serve_stdio(const ServeConfig& cfg) {
  // 1. Take the RPC channel off fds 0 and 1 (close-on-exec copies), then point 0 at /dev/null
  //    and 1 at stderr: cellctl and the supervisors the actions start inherit 0-2, and must
  //    neither write into the RPC stream nor hold the client's end open after the bridge exits.
  int in = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  if (in < 0) return Error::sys(errno, "serve: stdin");
  int out = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (out < 0) return Error::sys(errno, "serve: stdout");
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(2, 1) < 0) return Error::sys(errno, "serve: redirect stdio");
  ::close(null);
  // 2. A client that went away is EPIPE on the next write, not a SIGPIPE death.
  ::signal(SIGPIPE, SIG_IGN);
  // 3. The event loop, the streams and the session; serve until the peer is gone.
  try {
    auto io = kj::setupAsyncIo();
    auto input = io.lowLevelProvider->wrapInputFd(in, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    auto output = io.lowLevelProvider->wrapOutputFd(out, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    Session session(cfg, *input, *output, io.provider->getTimer());
    session.run().wait(io.waitScope);
    if (auto f = session.failure()) return Error::invalid("bad RPC input: " + *f);
  } catch (const kj::Exception& e) {
    return Error(ErrorKind::kSystem, std::string("serve: ") + e.getDescription().cStr());
  }
  return ok_status();
}

}  // namespace cells::rpc
