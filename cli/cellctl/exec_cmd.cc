// cellctl exec <cid|name> [command [args...]]
// Runs COMMAND in the cell (its namespaces, cgroup, root and policy) as the cell's root and
// exits with its status (128 + signal if it was killed). Without a command: a login shell,
// argv[0] "-sh", with the prompt "[<name>]# ".
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>

#include "cli/cellctl/common.h"

namespace cells::cellctl {
namespace {

// The terminal's signals a command run in the foreground expects to receive.
constexpr int kForwarded[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};

struct ExecOptions {
  std::string target;
  std::vector<std::string> command;
};

int run_exec(const Context& ctx, const ExecOptions& o) {
  auto runtime = open_runtime(ctx);
  if (!runtime) return fail(runtime.error());
  auto cell = runtime->find(o.target);
  if (!cell) return fail(cell.error());

  kernel::SpawnOptions opts;
  opts.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
              "USER=root", "LOGNAME=root"};
  if (const char* term = std::getenv("TERM")) opts.env.push_back(std::string("TERM=") + term);
  if (o.command.empty()) {
    // A login shell: argv[0] starts with '-'; the binary is /bin/sh of the cell's root.
    opts.program = "/bin/sh";
    opts.argv = {"-sh", "-i"};
    opts.env.push_back("PS1=[" + cell->name + "]# ");
    opts.env.push_back("SHELL=/bin/sh");
  } else {
    opts.argv = o.command;
  }
  opts.stdin_fd = 0;
  opts.stdout_fd = 1;
  opts.stderr_fd = 2;
  // Forked by the cell's init, inside the cell's one Landlock domain, so the command can
  // signal the cell's service (cellctl exec web kill <pid>). It runs in a session of its own
  // there, so the terminal's signals are forwarded to its process group.
  opts.shared_domain = true;

  sigset_t forwarded, previous;
  sigemptyset(&forwarded);
  for (int sig : kForwarded) sigaddset(&forwarded, sig);
  sigprocmask(SIG_BLOCK, &forwarded, &previous);
  auto child = runtime->spawn(*cell, opts);
  if (!child) return fail(child.error());
  Fd sigfd(signalfd(-1, &forwarded, SFD_CLOEXEC));
  for (;;) {
    pollfd pfd[2] = {{child->pidfd.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail(Error::sys(errno, "wait for the command"));
    }
    if (pfd[1].revents) {
      signalfd_siginfo si{};
      if (read(sigfd.get(), &si, sizeof si) == ssize_t(sizeof si)) {
        int sig = int(si.ssi_signo);
        // The group the command leads, or the command alone if it left it.
        if (::kill(-child->pid, sig) != 0) ::kill(child->pid, sig);
      }
    }
    if (pfd[0].revents) {
      auto done = kernel::wait_spawned(*child);
      if (!done) return fail(std::move(done).error().wrap("wait for the command"));
      return WIFEXITED(*done) ? WEXITSTATUS(*done) : 128 + (*done & 0x7f);
    }
  }
}

}  // namespace

void add_exec_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ExecOptions>();
  CLI::App* sub = app.add_subcommand("exec", "run a command (default: a login shell) in a cell");
  sub->add_option("target", o->target, "cell id or name")->required();
  // Everything after the target belongs to the command, options included (cellctl exec web
  // ls -l), so parsing stops there.
  sub->prefix_command();
  sub->callback([&ctx, o, sub] {
    o->command = sub->remaining();
    ctx.run = [&ctx, o] { return run_exec(ctx, *o); };
  });
}

}  // namespace cells::cellctl
