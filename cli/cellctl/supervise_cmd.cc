// cellctl supervise [-f facility] [-o stdout-level] [-e stderr-level] [-t tag]
//                   [-U uid -G gid [-g gid,...]] [--rlimit nofile=N,as=N,core=N]
//                   [--restart-budget N/WINDOW] [--grace SECONDS] [--reload-signal SIG]
//                   [--health-cmd SHELL-COMMAND [--health-timeout 5s] [--health-interval 30s]
//                    [--health-retries 3]] <cid|name> <command...>
// cellctl supervise --stop <cid|name>
// cellctl supervise --reload <cid|name>
//
// Starts a supervisor for the cell's service (kernel/supervise.h) as a daemon and prints
// `cell <id>` once it is running. The daemon re-executes cellctl with exactly the argv
// `cellctl supervise cell=<name> cid=<id>` (the small static cells-supervise program when it is
// installed, else cellctl itself), which is what ps shows on the host; its settings
// travel in a sealed memfd named by CELLS_SUPERVISE_SPEC_FD, and it reports "ready" or its
// error through the pipe named by CELLS_SUPERVISE_READY_FD, so every mistake is reported by
// the command the operator typed and a failed start leaves nothing running.
// --stop signals the supervisor and returns once it and every process of the cell but init
// have exited. --reload has the supervisor send the service its --reload-signal (the service
// re-reads its configuration without a restart); it returns once the request is delivered.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/files.h"
#include "base/signals.h"
#include "base/syscall.h"
#include "cli/cellctl/common.h"
#include "kernel/backoff.h"
#include "kernel/health.h"
#include "kernel/supervise.h"
#include "kernel/syslog.h"
#include "cli/cellctl/supervise_daemon.h"

namespace cells::cellctl {
namespace {


struct SuperviseOptions {
  std::string facility = "daemon";
  std::string stdout_level = "notice";
  std::string stderr_level = "err";
  std::string tag = "cellctl";
  std::string uid, gid, groups;
  std::string rlimits;
  std::string budget = "5/60s";
  double grace_s = 5;
  std::string health_cmd;
  std::string health_timeout = "5s";
  std::string health_interval = "30s";
  uint32_t health_retries = 3;
  bool health_tuned = false;  // a --health-* option other than --health-cmd was given
  std::string reload_signal;  // empty: the service has no reload
  bool stop = false, reload = false;
  std::string target;
  std::vector<std::string> command;
};

Result<uint32_t> parse_id(const std::string& flag, const std::string& text) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return Error::invalid(flag + " '" + text + "' is not a numeric id");
  }
  return v;
}

// -U/-G/-g as the reference: -U and -G together, -g only with both; no -g clears the groups.
Result<std::optional<kernel::Credentials>> parse_run_as(const SuperviseOptions& o) {
  if (o.uid.empty() != o.gid.empty()) return Error::invalid("-U and -G must be given together");
  if (!o.groups.empty() && o.uid.empty()) return Error::invalid("-g requires -U and -G");
  if (o.uid.empty()) return std::optional<kernel::Credentials>();
  kernel::Credentials c;
  c.uid = CELLS_TRY(parse_id("-U", o.uid));
  c.gid = CELLS_TRY(parse_id("-G", o.gid));
  std::istringstream in(o.groups);
  for (std::string g; std::getline(in, g, ',');) c.groups.push_back(CELLS_TRY(parse_id("-g", g)));
  return std::optional<kernel::Credentials>(c);
}

Result<kernel::Rlimits> parse_rlimits(const std::string& text) {
  kernel::Rlimits r;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (eq == std::string::npos) {
      return Error::invalid("--rlimit '" + item + "' must be KEY=VALUE (nofile, as, core)");
    }
    auto v = CELLS_TRY(parse_limit("--rlimit " + key, item.substr(eq + 1)));
    if (key == "nofile") {
      r.nofile = v;
    } else if (key == "as") {
      r.as = v;
    } else if (key == "core") {
      r.core = v;
    } else {
      return Error::invalid("--rlimit: unknown limit '" + key + "' (use nofile, as or core)");
    }
  }
  return r;
}

// Everything that can be checked before starting anything.
Result<kernel::SuperviseSpec> build_spec(const SuperviseOptions& o) {
  kernel::SuperviseSpec s;
  s.log.facility = CELLS_TRY(kernel::parse_facility(o.facility));
  s.log.stdout_level = CELLS_TRY(kernel::parse_level(o.stdout_level));
  s.log.stderr_level = CELLS_TRY(kernel::parse_level(o.stderr_level));
  if (o.tag.empty() || o.tag.size() > 32 || o.tag.find_first_of(" :[]\n") != std::string::npos) {
    return Error::invalid("-t '" + o.tag + "': a tag is 1..32 characters without blanks, ':' or '['");
  }
  s.log.tag = o.tag;
  s.run_as = CELLS_TRY(parse_run_as(o));
  s.rlimits = CELLS_TRY(parse_rlimits(o.rlimits));
  s.budget = CELLS_TRY(kernel::parse_restart_budget(o.budget));
  if (!(o.grace_s >= 0 && o.grace_s <= 3600)) {
    return Error::invalid("--grace must be 0..3600 seconds");
  }
  s.grace = std::chrono::milliseconds(long(o.grace_s * 1000));
  if (o.health_cmd.empty() && o.health_tuned) {
    return Error::invalid("--health-timeout, --health-interval and --health-retries need "
                          "--health-cmd");
  }
  if (!o.health_cmd.empty()) {
    kernel::HealthcheckSpec h;
    // One string, as operators write it; the cell's shell runs it (pipes, ||, redirections).
    h.argv = {"/bin/sh", "-c", o.health_cmd};
    h.timeout = CELLS_TRY(kernel::parse_duration("--health-timeout", o.health_timeout));
    h.interval = CELLS_TRY(kernel::parse_duration("--health-interval", o.health_interval));
    h.retries = o.health_retries;
    CELLS_TRY(kernel::validate(h));
    s.health = std::move(h);
  }
  if (!o.reload_signal.empty()) {
    s.reload_signal = CELLS_TRY_CTX(parse_signal_name(o.reload_signal), "--reload-signal");
  }
  if (o.command.empty()) return Error::invalid("supervise: no command given (nothing to run)");
  s.argv = o.command;
  return s;
}

// The daemon side when no cells-supervise program is installed: this cellctl re-executed.
int run_monitor(const Context& ctx) {
  ::prctl(PR_SET_NAME, "cellctl", 0, 0, 0);
  return run_supervise_daemon(ctx.root);
}

// --stop and --reload: a request to the cell's running supervisor.
int run_request(const Context& ctx, const SuperviseOptions& o) {
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  std::string name = o.target;
  if (auto runtime = open_runtime(ctx); runtime) {
    if (auto cell = runtime->find(o.target); cell) name = cell->name;
  }
  // A stop waits out the supervisor's own grace period and its final kill; a reload only
  // waits for a supervisor that is still starting.
  auto st = o.stop ? kernel::stop_supervisor(*paths, name, std::chrono::seconds(60))
                   : kernel::reload_supervisor(*paths, name, std::chrono::seconds(10));
  if (!st) return fail(st.error());
  return 0;
}

int run_supervise(const Context& ctx, const SuperviseOptions& o) {
  if (o.stop || o.reload) {
    const char* flag = o.stop ? "--stop" : "--reload";
    if (o.stop && o.reload) return fail("--stop and --reload exclude each other");
    if (!o.command.empty()) return fail(std::string(flag) + " takes only the cell, no command");
    return run_request(ctx, o);
  }
  auto spec = build_spec(o);
  if (!spec) return fail(spec.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  auto runtime = open_runtime(ctx);
  if (!runtime) return fail(runtime.error());
  auto cell = runtime->find(o.target);
  if (!cell) return fail(cell.error());
  // The lock first, held from here on and then by the supervisor: two starts at once, or a
  // start and a stop, cannot both miss each other.
  auto lock = kernel::lock_supervision(*paths, cell->name);
  if (!lock && lock.error().kind() != ErrorKind::kBusy) return fail(lock.error());
  // (The lock, not the pid file: a supervisor that died uncleanly leaves its pid file, and
  // until someone reaps it, a zombie with the same start time.)
  if (!lock) {
    return fail("cell " + cell->name + " is already supervised (stop it first with "
                "cellctl supervise --stop " + cell->name + ")");
  }
  spec->cid = cell->cid;
  spec->name = cell->name;

  // The spec goes in a sealed memfd: nothing of it shows in ps, and it cannot change after
  // the checks above.
  std::string wire = kernel::encode_supervise_spec(*spec);
  Fd memfd(::memfd_create("cellctl-supervise-spec", MFD_ALLOW_SEALING));
  if (!memfd.valid() || ::write(memfd.get(), wire.data(), wire.size()) != ssize_t(wire.size()) ||
      ::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) != 0) {
    return fail(Error::sys(errno, "write supervise spec"));
  }
  int ready[2];
  if (::pipe(ready) != 0) return fail(Error::sys(errno, "pipe"));
  std::fflush(nullptr);

  // Double fork: the supervisor is no child of this command and owns no terminal.
  pid_t first = ::fork();
  if (first < 0) return fail(Error::sys(errno, "fork"));
  if (first == 0) {
    ::close(ready[0]);
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (devnull > 2) ::close(devnull);
    (void)!::chdir("/");
    ::setenv(kSpecFdEnv, std::to_string(memfd.get()).c_str(), 1);
    ::setenv(kReadyFdEnv, std::to_string(ready[1]).c_str(), 1);
    // A copy without CLOEXEC, so the supervisor inherits the lock across its exec.
    ::setenv(kLockFdEnv, std::to_string(::fcntl(lock->get(), F_DUPFD, 3)).c_str(), 1);
    ::setenv("CELLS_ROOT", paths->root.c_str(), 1);
    std::string cell_arg = "cell=" + spec->name, cid_arg = "cid=" + std::to_string(spec->cid);
    // The small static supervisor program when there is one (its memory is what a supervised
    // cell costs for as long as it runs), else this cellctl again.
    std::string program = supervise_program();
    ::execl(program.c_str(), "cellctl", "supervise", cell_arg.c_str(), cid_arg.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(ready[1]);
  ::waitpid(first, nullptr, 0);
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = ::read(ready[0], buf, sizeof buf)) > 0;) answer.append(buf, size_t(n));
  ::close(ready[0]);
  if (answer != "ready") {
    return fail(answer.empty() ? "supervisor exited before it was ready" : answer);
  }
  std::printf("cell %u\n", spec->cid);
  return 0;
}

}  // namespace

void add_supervise_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<SuperviseOptions>();
  CLI::App* sub = app.add_subcommand("supervise", "run a cell's service under a supervisor");
  sub->add_option("-f,--facility", o->facility, "syslog facility (default daemon)");
  sub->add_option("-o,--stdout-level", o->stdout_level, "level of stdout lines (default notice)");
  sub->add_option("-e,--stderr-level", o->stderr_level, "level of stderr lines (default err)");
  sub->add_option("-t,--tag", o->tag, "syslog tag (default cellctl)");
  sub->add_option("-U,--uid", o->uid, "run the service as this uid (needs -G)");
  sub->add_option("-G,--gid", o->gid, "run the service as this gid (needs -U)");
  sub->add_option("-g,--groups", o->groups, "supplementary gids, comma separated");
  sub->add_option("--rlimit", o->rlimits, "nofile=N,as=N,core=N (N or unlimited)");
  sub->add_option("--restart-budget", o->budget,
                  "N/WINDOW: at most N restarts per WINDOW, then failed (default 5/60s)");
  sub->add_option("--grace", o->grace_s, "seconds between SIGTERM and SIGKILL at stop (default 5)");
  sub->add_option("--health-cmd", o->health_cmd,
                  "healthcheck: shell command run in the cell; exit 0 = healthy");
  auto tuned = [o](const auto&) { o->health_tuned = true; };
  sub->add_option("--health-timeout", o->health_timeout, "healthcheck timeout (default 5s)")
      ->each(tuned);
  sub->add_option("--health-interval", o->health_interval,
                  "time between healthchecks (default 30s)")
      ->each(tuned);
  sub->add_option("--health-retries", o->health_retries,
                  "consecutive failed healthchecks that restart the service (default 3)")
      ->each(tuned);
  sub->add_option("--reload-signal", o->reload_signal,
                  "signal that makes the service re-read its configuration (e.g. HUP)");
  sub->add_flag("--stop", o->stop, "stop the cell's supervisor and everything it started");
  sub->add_flag("--reload", o->reload, "have the supervisor send the service its reload signal");
  sub->add_option("target", o->target, "cell id or name")->required();
  // Everything after the target is the command, its options included.
  sub->prefix_command();
  sub->callback([&ctx, o, sub] {
    o->command = sub->remaining();
    // The daemonised supervisor re-enters here as `cellctl supervise cell=<name> cid=<id>`.
    if (o->target.rfind("cell=", 0) == 0 && std::getenv(kSpecFdEnv) != nullptr) {
      ctx.run = [&ctx] { return run_monitor(ctx); };
      return;
    }
    ctx.run = [&ctx, o] { return run_supervise(ctx, *o); };
  });
}

}  // namespace cells::cellctl
