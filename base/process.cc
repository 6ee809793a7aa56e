#include "base/process.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "base/syscall.h"
#include "base/text.h"

extern char** environ;

namespace cells {
namespace {

Result<Fd> memory_file(const char* name) {
  return CELLS_SYSCALL_FD(::memfd_create(name, MFD_CLOEXEC), std::string("memfd_create ") + name);
}

Result<std::string> read_all(int fd) {
  std::string out;
  char buf[8192];
  for (off_t at = 0;;) {
    ssize_t n = CELLS_SYSCALL(::pread(fd, buf, sizeof buf, at), "read captured output");
    if (n == 0) return out;
    out.append(buf, size_t(n));
    at += n;
  }
}

// The caller's environment with ADDED ("NAME=value") on top. The strings live in ADDED and
// environ; the vector only points at them.
std::vector<char*> merged_env(const std::vector<std::string>& added) {
  std::vector<char*> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    const size_t name_len = eq ? size_t(eq - *e) + 1 : std::strlen(*e);
    bool replaced = false;
    for (const auto& a : added) replaced = replaced || a.compare(0, name_len, *e, name_len) == 0;
    if (!replaced) out.push_back(*e);
  }
  for (const auto& a : added) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ProcessResult::describe() const {
  return signal != 0 ? "signal " + std::to_string(signal) : "exit " + std::to_string(exit_code);
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv, const RunOptions& options) {
  if (argv.empty()) return Error::invalid("run: no program given");
  // Everything the child needs is built here: between fork and execve nothing allocates.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env = merged_env(options.env);

  Fd in;
  if (options.input) {
    in = CELLS_TRY(memory_file("stdin"));
    const std::string& text = *options.input;
    for (size_t done = 0; done < text.size();) {
      done += size_t(CELLS_SYSCALL(::write(in.get(), text.data() + done, text.size() - done),
                                   "write stdin of " + argv[0]));
    }
    CELLS_SYSCALL(::lseek(in.get(), 0, SEEK_SET), "rewind stdin of " + argv[0]);
  } else {
    in = CELLS_SYSCALL_FD(::open("/dev/null", O_RDONLY | O_CLOEXEC), "open /dev/null");
  }
  Fd out, err;
  if (!options.log_path.empty()) {
    out = CELLS_SYSCALL_FD(
        ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
        "open " + options.log_path);
  } else {
    out = CELLS_TRY(memory_file("stdout"));
  }
  if (options.log_path.empty() && !options.merge_stderr) err = CELLS_TRY(memory_file("stderr"));
  const int err_fd = err.valid() ? err.get() : out.get();

  // A failed execve reports its errno through this pipe; a successful one closes it (CLOEXEC).
  int report[2];
  CELLS_SYSCALL(::pipe2(report, O_CLOEXEC), "pipe");
  Fd report_read(report[0]), report_write(report[1]);

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Error::sys(errno, "fork for " + argv[0]);
  if (pid == 0) {
    // The parent may have died before the death signal was armed: then it never comes.
    if (options.die_with_parent &&
        (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent)) {
      ::_exit(127);
    }
    if (options.new_session) ::setsid();
    int e = 0;
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err_fd, 2) < 0) {
      e = errno;
    } else {
      ::execvpe(args[0], args.data(), env.data());
      e = errno;
    }
    (void)!::write(report_write.get(), &e, sizeof e);
    ::_exit(127);
  }
  report_write.reset();
  int exec_errno = 0;
  const ssize_t got = detail::retry_eintr([&] { return ::read(report_read.get(), &exec_errno, sizeof exec_errno); });
  int status = 0;
  CELLS_SYSCALL(::waitpid(pid, &status, 0), "wait for " + argv[0]);
  if (got == ssize_t(sizeof exec_errno)) return Error::sys(exec_errno, "run " + argv[0]);

  ProcessResult r;
  if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  } else {
    r.exit_code = WEXITSTATUS(status);
  }
  if (options.log_path.empty()) {
    r.out = CELLS_TRY(read_all(out.get()));
    if (err.valid()) r.err = CELLS_TRY(read_all(err.get()));
  }
  return r;
}

Status run_checked(const std::vector<std::string>& argv, const RunOptions& options) {
  auto r = CELLS_TRY(run_process(argv, options));
  if (r.ok()) return ok_status();
  std::string text = r.err;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return Error(ErrorKind::kSystem, argv[0] + " failed (" + r.describe() + ")" +
                                       (text.empty() ? "" : ": " + one_line(text)));
}

}  // namespace cells
