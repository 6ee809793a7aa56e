// Supervisor: keeps one cell's service running (DESIGN section 9, `cellctl supervise`).
//
// One supervisor process per supervised cell. It starts the service through a Launcher (in
// production Runtime::spawn, so the service gets the cell's namespaces, cgroup and policy),
// forwards its stdout and stderr line by line to syslog, restarts it with backoff when it
// exits, gives up (state `failed`) when the crash-loop budget is spent, and publishes its state
// and restart count into the cell's telemetry slot. It records its pid in
// <run_dir>/supervise/<name>.pid so that stop_supervisor() (and the control plane) can find it.
//
// Healthcheck (optional): every `interval` while the service runs, the check command runs in
// the cell with its timeout; after `retries` consecutive failures the service is stopped as at
// a stop (SIGTERM, grace, SIGKILL) and restarted like a crash (backoff, restart budget). Health
// is published with the state: up after a passing check, down from the start of each run
// until the first check passes and after `retries` failures; unknown only without a check.
//
// Stop (SIGTERM, SIGINT or SIGQUIT to the supervisor): SIGTERM to the service's process group,
// up to `grace` for it to exit, then every process left in the cell but its init is killed;
// the supervisor exits only once they are gone, so a caller waiting for the supervisor's exit
// knows the cell is empty. SIGHUP is ignored.
//
// Reload (SIGUSR1 to the supervisor, reload_supervisor()): the supervisor sends the spec's
// reload_signal to the running service's main process, which is how a service is told to
// re-read its configuration without a restart (nginx, most daemons: SIGHUP). The supervisor
// relays it rather than the caller signalling the service, because only the supervisor knows
// which process of the cell is the service. Between two runs (backoff) there is nothing to
// reload: the next start reads the new configuration anyway.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "kernel/backoff.h"
#include "kernel/cell.h"
#include "kernel/health.h"
#include "kernel/syslog.h"

namespace cells::kernel {

struct SuperviseSpec {
  uint32_t cid = 0;
  std::string name;
  std::vector<std::string> argv;
  std::optional<Credentials> run_as;
  Rlimits rlimits;
  LogConfig log;
  RestartBudget budget;
  std::chrono::milliseconds grace{5000};
  std::string cgroup_dir;  // the cell's cgroup directory (for the final kill)
  pid_t init_pid = 0;      // the cell's init, spared by the final kill; 0 = none
  std::optional<HealthcheckSpec> health;  // none = no healthcheck, health stays unknown
  int reload_signal = 0;                  // sent to the service on a reload; 0 = none
};

// Checks what does not need the kernel: a command, a cid and name, a cgroup directory, and
// the healthcheck if there is one.
Status validate(const SuperviseSpec& spec);

using Launcher = std::function<Result<Child>(const SpawnOptions&)>;

uint64_t process_start_time(pid_t pid);  // 0 if unknown
std::string supervisor_pid_path(const Paths& paths, std::string_view cell_name);

class Supervisor {
 public:
  // Installs the stop signal handlers (SIGTERM, SIGINT, SIGQUIT; SIGHUP is ignored), opens
  // the syslog writer and the telemetry slot and writes the pid file. Call in the process
  // that will run(). The supervisor publishes its state when it changes and has no timer of its
  // own: the instance's sampler publishes the cell's denial counters (instance_sampler.h).
  static Result<Supervisor> create(const Paths& paths, SuperviseSpec spec, Launcher launch);

  // Supervises until stopped; returns once the service and every other cell process but init
  // are gone. A service that has failed stays failed (no restarts) until the stop.
  Status run();

  Supervisor(Supervisor&&) = default;
  ~Supervisor();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  explicit Supervisor(std::unique_ptr<Impl> impl);
};

// "<run>/supervise/<name>.lock". `cellctl supervise` flocks it before it looks for a running
// supervisor, and the supervisor it starts inherits the lock and holds it for as long as it
// lives. So one supervisor per cell exists or is starting at a time, and a stopper can tell
// "none" from "starting, no pid file yet" (a command killed while it started one leaves its
// launcher running, and the supervisor appears a moment later).
std::string supervisor_lock_path(const Paths& paths, std::string_view cell_name);

// Takes the cell's supervise lock without waiting; the returned fd holds it (O_CLOEXEC).
// Errors: kBusy while a supervisor of the cell runs or is being started.
Result<Fd> lock_supervision(const Paths& paths, std::string_view cell_name);

// Whether a supervisor of CELL_NAME runs or is starting (its supervise lock is held).
bool supervisor_running(const Paths& paths, std::string_view cell_name);

// Sends SIGTERM to the supervisor of CELL_NAME and waits until it has exited (then the cell
// holds nothing but init), at most TIMEOUT. One that is still starting (the lock is held, the
// pid file not written yet) is waited for and then stopped. kNotFound if no supervisor runs.
Status stop_supervisor(const Paths& paths, std::string_view cell_name,
                       std::chrono::milliseconds timeout);

// Asks the supervisor of CELL_NAME to send the service its reload signal (SIGUSR1 to the
// supervisor, found as stop_supervisor finds it; one still starting is waited for, at most
// TIMEOUT, since it would miss the request). Returns once the request is delivered, not when
// the service has acted on it. kNotFound if no supervisor runs.
Status reload_supervisor(const Paths& paths, std::string_view cell_name,
                         std::chrono::milliseconds timeout);

// Kills every process in the cgroup at CGROUP_DIR except KEEP (0 = kill all, via cgroup.kill)
// and waits until they are gone, at most TIMEOUT. The cgroup is frozen while its members are
// listed and killed, so a process forking (or starting new sessions) cannot escape.
Status kill_cell_except(const std::string& cgroup_dir, pid_t keep,
                        std::chrono::milliseconds timeout);

}  // namespace cells::kernel
