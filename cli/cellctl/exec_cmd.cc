// cellctl exec <cid|name> [command [args...]]
// Runs COMMAND in the cell (its namespaces, cgroup, root and policy) as the cell's root and
// exits with its status (128 + signal if it was killed). Without a command: a login shell,
// argv[0] "-sh", with the prompt "[<name>]# ".
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>

#include "cli/cellctl/common.h"

namespace cells::cellctl {
namespace {

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
  // Same session and process group as cellctl: the command gets the terminal's job control
  // and ^C reaches it directly.
  opts.new_session = false;

  // Like system(3): while the command runs, the terminal's signals are its business.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  auto child = runtime->spawn(*cell, opts);
  if (!child) return fail(child.error());
  siginfo_t info{};
  while (waitid(P_PIDFD, static_cast<id_t>(child->pidfd.get()), &info, WEXITED) < 0) {
    if (errno != EINTR) return fail(Error::sys(errno, "wait for the command"));
  }
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;
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
