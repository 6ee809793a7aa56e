#include "engine/rpc/client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>

#include "engine/rpc/cells.capnp.h"
#include "engine/rpc/codec.h"

namespace cells::rpc {
namespace {

// A word for the remote shell ssh hands its command line to.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "remote exception: [invalid] no cell named x" -> Error(kInvalid, "no cell named x").
Error from_exception(const kj::Exception& e) {
  std::string text = e.getDescription().cStr();
  const std::string remote = "remote exception: ";
  if (text.rfind(remote, 0) == 0) text.erase(0, remote.size());
  for (ErrorKind k : {ErrorKind::kInvalid, ErrorKind::kNotFound, ErrorKind::kExists,
                      ErrorKind::kBusy, ErrorKind::kSystem, ErrorKind::kCorrupt,
                      ErrorKind::kUnsupported, ErrorKind::kPermission}) {
    std::string tag = "[" + std::string(to_string(k)) + "] ";
    if (text.rfind(tag, 0) == 0) return Error(k, text.substr(tag.size()));
  }
  return Error(ErrorKind::kSystem, "bridge: " + text);
}

}  // namespace

struct Client::Impl {
  class ListenerImpl;

  explicit Impl(ClientOptions o) : opts(std::move(o)), io(kj::setupAsyncIo()) {}
  ~Impl() {
    teardown();
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (event_fd >= 0) ::close(event_fd);
  }

  std::vector<std::string> bridge_argv() const {
    std::vector<std::string> words = {opts.cellmgr};
    if (!opts.root.empty()) words.insert(words.end(), {"--root", opts.root});
    words.insert(words.end(), {"serve", "--stdio"});
    if (opts.host.empty()) return words;
    std::vector<std::string> argv = opts.ssh;
    argv.push_back(opts.host);
    for (const auto& w : words) argv.push_back(shell_quote(w));
    return argv;
  }

  // Steps of one connection: socketpair, the child on one end (its stdin and stdout), the RPC
  // client on the other, the version check, then the subscription.
  Status start() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return Error::sys(errno, "bridge: socketpair");
    }
    auto argv = bridge_argv();
    ExecImage image(argv, opts.env);  // built before fork: the child only execs
    pid = ::fork();
    if (pid < 0) {
      int err = errno;
      ::close(sv[0]);
      ::close(sv[1]);
      return Error::sys(err, "bridge: fork");
    }
    if (pid == 0) exec_child(sv[1], image);
    ::close(sv[1]);
    sock = sv[0];
    try {
      stream = io.lowLevelProvider->wrapSocketFd(sock, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
      rpc = kj::heap<capnp::TwoPartyClient>(*stream);
      bridge = rpc->bootstrap().castAs<schema::Bridge>();
      connected = true;
      reason.clear();
      watch = rpc->onDisconnect()
                  .then([this] { lost("the bridge closed the connection"); },
                        [this](kj::Exception&& e) { lost(e.getDescription().cStr()); })
                  .eagerlyEvaluate(nullptr);
    } catch (const kj::Exception& e) {
      return from_exception(e);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = sock;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, sock, &ev) != 0) return Error::sys(errno, "bridge: epoll_ctl");
    auto v = version();
    if (!v) return std::move(v).error().wrap("bridge " + argv[0]);
    if (v->major != schema::VERSION_MAJOR) {
      return Error(ErrorKind::kUnsupported,
                   "bridge speaks protocol " + std::to_string(v->major) + "." +
                       std::to_string(v->minor) + ", this client " +
                       std::to_string(schema::VERSION_MAJOR) + ".x");
    }
    if (opts.subscribe) CELLS_TRY(subscribe());
    return ok_status();
  }

  // The child's argv and environment (ours with ENV's "K=V" replacing or adding K) as the
  // arrays execvpe takes. (execvpe searches our PATH, not one given in ENV.)
  struct ExecImage {
    ExecImage(const std::vector<std::string>& argv, const std::vector<std::string>& env)
        : env_strings(env) {
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      for (char** e = environ; *e; ++e) {
        std::string_view kv(*e);
        bool replaced = std::any_of(env_strings.begin(), env_strings.end(), [&](const std::string& mine) {
          return kv.substr(0, kv.find('=') + 1) == mine.substr(0, mine.find('=') + 1);
        });
        if (!replaced) envp.push_back(*e);
      }
      for (const auto& kv : env_strings) envp.push_back(const_cast<char*>(kv.c_str()));
      envp.push_back(nullptr);
    }
    std::vector<std::string> env_strings;
    std::vector<char*> args, envp;
  };

  // Between fork and exec: nothing allocates (CONTRIBUTING.md); IMAGE was built before fork.
  [[noreturn]] void exec_child(int fd, const ExecImage& image) {
    ::dup2(fd, 0);
    ::dup2(fd, 1);
    if (!opts.log_path.empty()) {
      int log = ::open(opts.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log >= 0) ::dup2(log, 2);
    }
    ::execvpe(image.args[0], image.args.data(), image.envp.data());
    std::fprintf(stderr, "cellui: exec %s: %s\n", image.args[0], std::strerror(errno));
    ::_exit(127);
  }

  Status subscribe();

  Result<Version> version() {
    return call([&]() {
      auto r = bridge->versionRequest().send().wait(io.waitScope);
      return Version{r.getMajor(), r.getMinor()};
    });
  }

  // Runs F (which waits for one RPC) and turns exceptions into Errors. A disconnect marks the
  // client disconnected (the event is queued once, by lost()).
  template <typename F>
  auto call(F&& f) -> Result<decltype(f())> {
    if (!connected || !bridge) return Error(ErrorKind::kSystem, "bridge disconnected: " + reason);
    try {
      return f();
    } catch (const kj::Exception& e) {
      if (e.getType() == kj::Exception::Type::DISCONNECTED) {
        lost(e.getDescription().cStr());
        return Error(ErrorKind::kSystem, "bridge disconnected: " + reason);
      }
      return from_exception(e);
    }
  }

  void lost(const std::string& why) {
    if (!connected) return;
    connected = false;
    reason = why;
    Event e;
    e.kind = Event::Kind::kDisconnected;
    e.reason = why;
    queue(std::move(e));
  }

  void queue(Event e) {
    events.push_back(std::move(e));
    uint64_t one = 1;
    (void)!::write(event_fd, &one, sizeof one);
  }

  // Ends the connection: capabilities first, then the RPC system and the socket (EOF tells
  // the bridge to exit), then the child is reaped (killed if it does not exit promptly).
  void teardown() {
    subscription = std::nullopt;
    bridge = std::nullopt;
    watch = nullptr;
    rpc = nullptr;
    if (sock >= 0) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, sock, nullptr);
      sock = -1;
    }
    stream = nullptr;
    connected = false;
    if (pid > 0) {
      int status = 0;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      pid = 0;
    }
  }

  ClientOptions opts;
  kj::AsyncIoContext io;
  int epoll_fd = -1, event_fd = -1;
  pid_t pid = 0;
  int sock = -1;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  std::optional<schema::Bridge::Client> bridge;
  std::optional<schema::Subscription::Client> subscription;
  kj::Promise<void> watch = nullptr;
  bool connected = false;
  std::string reason = "not connected";
  std::deque<Event> events;
};

class Client::Impl::ListenerImpl final : public schema::Listener::Server {
 public:
  explicit ListenerImpl(Impl& impl) : impl_(impl) {}

 protected:
  kj::Promise<void> cellsChanged(CellsChangedContext ctx) override {
    Event e;
    e.kind = Event::Kind::kCellsChanged;
    e.cells = to_plain_list<schema::Cell>(ctx.getParams().getCells());
    impl_.queue(std::move(e));
    return kj::READY_NOW;
  }
  kj::Promise<void> journalAppended(JournalAppendedContext ctx) override {
    Event e;
    e.kind = Event::Kind::kJournalAppended;
    e.journal = to_plain_list<schema::JournalEntry>(ctx.getParams().getEntries());
    impl_.queue(std::move(e));
    return kj::READY_NOW;
  }
  kj::Promise<void> telemetryTick(TelemetryTickContext ctx) override {
    Event e;
    e.kind = Event::Kind::kTelemetryTick;
    e.telemetry = to_plain_list<schema::CellStats>(ctx.getParams().getStats());
    impl_.queue(std::move(e));
    return kj::READY_NOW;
  }

 private:
  Impl& impl_;
};

Status Client::Impl::subscribe() {
  auto sub = call([&]() {
    auto req = bridge->subscribeRequest();
    req.setListener(kj::heap<ListenerImpl>(*this));
    return req.send().wait(io.waitScope).getSubscription();
  });
  if (!sub) return std::move(sub).error().wrap("subscribe to bridge events");
  subscription = std::move(*sub);
  return ok_status();
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::connect(ClientOptions options) {
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(std::move(options));
  } catch (const kj::Exception& e) {
    return Error(ErrorKind::kSystem, std::string("bridge client: ") + e.getDescription().cStr());
  }
  // A SIGPIPE from a dead bridge would kill the TUI; a failed write is an error instead.
  ::signal(SIGPIPE, SIG_IGN);
  impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  impl->event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->epoll_fd < 0 || impl->event_fd < 0) return Error::sys(errno, "bridge client: epoll");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = impl->event_fd;
  if (::epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->event_fd, &ev) != 0) {
    return Error::sys(errno, "bridge client: epoll_ctl");
  }
  CELLS_TRY(impl->start());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Status Client::reconnect() {
  impl_->teardown();
  impl_->events.clear();
  return impl_->start();
}

bool Client::connected() const { return impl_->connected; }
pid_t Client::bridge_pid() const { return impl_->pid; }
int Client::fd() const { return impl_->epoll_fd; }

void Client::pump() {
  try {
    impl_->io.waitScope.poll();
  } catch (const kj::Exception& e) {
    impl_->lost(e.getDescription().cStr());
  }
}

std::optional<Event> Client::next_event() {
  if (impl_->events.empty()) return std::nullopt;
  Event e = std::move(impl_->events.front());
  impl_->events.pop_front();
  if (impl_->events.empty()) {
    uint64_t n;
    (void)!::read(impl_->event_fd, &n, sizeof n);
  }
  return e;
}

Result<Version> Client::version() { return impl_->version(); }

Result<std::vector<CellInfo>> Client::cells() {
  return impl_->call([&]() {
    auto r = impl_->bridge->cellsRequest().send().wait(impl_->io.waitScope);
    return to_plain_list<schema::Cell>(r.getCells());
  });
}

Result<std::vector<VolumeInfo>> Client::volumes() {
  return impl_->call([&]() {
    auto r = impl_->bridge->volumesRequest().send().wait(impl_->io.waitScope);
    return to_plain_list<schema::Volume>(r.getVolumes());
  });
}

Result<std::vector<OverlayInfo>> Client::overlays() {
  return impl_->call([&]() {
    auto r = impl_->bridge->overlaysRequest().send().wait(impl_->io.waitScope);
    return to_plain_list<schema::Overlay>(r.getOverlays());
  });
}

Result<std::vector<BackupInfo>> Client::backups(BackupKind kind, const std::string& name) {
  return impl_->call([&]() {
    auto req = impl_->bridge->backupsRequest();
    req.setKind(to_schema(kind));
    req.setName(name);
    auto r = req.send().wait(impl_->io.waitScope);
    return to_plain_list<schema::Backup>(r.getBackups());
  });
}

Result<std::vector<JournalRecord>> Client::journal(const std::string& cell, uint32_t limit,
                                                   uint64_t before) {
  return impl_->call([&]() {
    auto req = impl_->bridge->journalRequest();
    req.setCell(cell);
    req.setLimit(limit);
    req.setBefore(before);
    auto r = req.send().wait(impl_->io.waitScope);
    return to_plain_list<schema::JournalEntry>(r.getEntries());
  });
}

Result<uint64_t> Client::journal_head() {
  return impl_->call([&]() {
    return impl_->bridge->journalHeadRequest().send().wait(impl_->io.waitScope).getSeq();
  });
}

Result<std::vector<CellTelemetry>> Client::telemetry() {
  return impl_->call([&]() {
    auto r = impl_->bridge->telemetryRequest().send().wait(impl_->io.waitScope);
    return to_plain_list<schema::CellStats>(r.getStats());
  });
}

namespace {
template <typename Request>
void set_names(Request& req, const std::vector<std::string>& names, bool all) {
  fill_texts(req.initNames(unsigned(names.size())), names);
  req.setAll(all);
}
}  // namespace

Result<std::vector<std::string>> Client::start(const std::vector<std::string>& names, bool all) {
  return impl_->call([&]() {
    auto req = impl_->bridge->startRequest();
    set_names(req, names, all);
    return to_strings(req.send().wait(impl_->io.waitScope).getCells());
  });
}

Result<std::vector<std::string>> Client::stop(const std::vector<std::string>& names, bool all) {
  return impl_->call([&]() {
    auto req = impl_->bridge->stopRequest();
    set_names(req, names, all);
    return to_strings(req.send().wait(impl_->io.waitScope).getCells());
  });
}

Result<std::vector<std::string>> Client::restart(const std::vector<std::string>& names, bool all) {
  return impl_->call([&]() {
    auto req = impl_->bridge->restartRequest();
    set_names(req, names, all);
    return to_strings(req.send().wait(impl_->io.waitScope).getCells());
  });
}

Result<ApplyResult> Client::apply(const std::vector<std::string>& names, bool dry_run) {
  return impl_->call([&]() {
    auto req = impl_->bridge->applyRequest();
    fill_texts(req.initNames(unsigned(names.size())), names);
    req.setDryRun(dry_run);
    return to_plain(req.send().wait(impl_->io.waitScope).getOutcome());
  });
}

Result<BackupMade> Client::backup_create(BackupKind kind, const std::string& name) {
  return impl_->call([&]() {
    auto req = impl_->bridge->backupCreateRequest();
    req.setKind(to_schema(kind));
    req.setName(name);
    return to_plain(req.send().wait(impl_->io.waitScope).getMade());
  });
}

Result<RestoreDone> Client::backup_restore(BackupKind kind, const std::string& name,
                                           const std::string& file, bool stop,
                                           bool with_manifest) {
  return impl_->call([&]() {
    auto req = impl_->bridge->backupRestoreRequest();
    req.setKind(to_schema(kind));
    req.setName(name);
    req.setFile(file);
    req.setStop(stop);
    req.setWithManifest(with_manifest);
    return to_plain(req.send().wait(impl_->io.waitScope).getDone());
  });
}

Status Client::backup_delete(BackupKind kind, const std::string& name, const std::string& file) {
  auto r = impl_->call([&]() {
    auto req = impl_->bridge->backupDeleteRequest();
    req.setKind(to_schema(kind));
    req.setName(name);
    req.setFile(file);
    req.send().wait(impl_->io.waitScope);
    return true;
  });
  if (!r) return std::move(r).error();
  return ok_status();
}

Result<std::vector<std::string>> Client::shell_command(const std::string& name) {
  auto argv = impl_->call([&]() {
    auto req = impl_->bridge->shellRequest();
    req.setName(name);
    return to_strings(req.send().wait(impl_->io.waitScope).getArgv());
  });
  if (!argv || impl_->opts.host.empty()) return argv;
  std::vector<std::string> out = impl_->opts.ssh;
  out.insert(out.end(), {"-t", impl_->opts.host});
  for (const auto& w : *argv) out.push_back(shell_quote(w));
  return out;
}

}  // namespace cells::rpc
