// Test harness for supervision and telemetry tests: a private rsyslogd, a scratch cell cgroup
// and a host launcher that starts a process in that cgroup the way Runtime::spawn does (own
// session, stdio, rlimits, credentials), for tests that exercise the supervisor without a full
// cell.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/files.h"
#include "base/paths.h"
#include "kernel/cell.h"
#include "kernel/supervise.h"

namespace cells::testing {

namespace fs = std::filesystem;

inline std::string make_temp_dir(const char* what) {
  std::string tmpl = std::string("/tmp/cells-") + what + "-XXXXXX";
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// rsyslogd in the foreground with its own socket, work dir and output file. Each line of the
// output is "<rfc3339 receive time> <facility> <severity> <tag>: <message>".
class Rsyslog {
 public:
  explicit Rsyslog(const std::string& dir) : dir_(dir) {
    std::ofstream(dir + "/rsyslog.conf")
        << "global(workDirectory=\"" << dir << "\" maxMessageSize=\"8k\")\n"
        << "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
        << "input(type=\"imuxsock\" Socket=\"" << socket() << "\" RateLimit.Interval=\"0\")\n"
        << "template(name=\"t\" type=\"string\" string=\"%timegenerated:::date-rfc3339% "
           "%syslogfacility-text% %syslogseverity-text% %syslogtag%%msg%\\n\")\n"
        << "*.* action(type=\"omfile\" file=\"" << output() << "\" template=\"t\")\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string conf = dir + "/rsyslog.conf", pidf = dir + "/rsyslog.pid";
      ::execlp("rsyslogd", "rsyslogd", "-n", "-f", conf.c_str(), "-i", pidf.c_str(), nullptr);
      ::_exit(127);
    }
    EXPECT_TRUE(wait_until([&] { return fs::exists(socket()); }, std::chrono::seconds(10)))
        << "rsyslogd did not create " << socket();
  }
  ~Rsyslog() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string socket() const { return dir_ + "/log.sock"; }
  std::string output() const { return dir_ + "/out.log"; }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(slurp(output()));
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  // Waits until some line contains NEEDLE.
  bool wait_for(const std::string& needle, std::chrono::milliseconds limit) const {
    return wait_until([&] { return slurp(output()).find(needle) != std::string::npos; }, limit);
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// A cgroup v2 directory standing in for a cell (under the scratch instance's cgroup parent).
class ScratchCgroup {
 public:
  ScratchCgroup(const Paths& paths, const std::string& name)
      : parent_(paths.cgroup_parent()), dir_(parent_ + "/" + name) {
    EXPECT_TRUE(make_dirs(dir_).ok()) << dir_;
  }
  ~ScratchCgroup() {
    // Anything a failed test left behind goes, then the directories.
    (void)kernel::kill_cell_except(dir_, 0, std::chrono::seconds(5));
    ::rmdir(dir_.c_str());
    ::rmdir(parent_.c_str());
  }
  const std::string& dir() const { return dir_; }
  std::vector<pid_t> procs() const {
    std::vector<pid_t> out;
    std::istringstream in(slurp(dir_ + "/cgroup.procs"));
    for (pid_t p; in >> p;) out.push_back(p);
    return out;
  }

 private:
  std::string parent_, dir_;
};

inline void apply_rlimit(int resource, const std::optional<uint64_t>& v) {
  if (!v) return;
  rlimit rl{rlim_t(*v), rlim_t(*v)};
  if (::setrlimit(resource, &rl) != 0) ::_exit(126);
}

// Starts OPTS.argv in CGROUP_DIR as Runtime::spawn would (without namespaces or policy).
inline kernel::Launcher host_launcher(std::string cgroup_dir) {
  return [cgroup_dir](const kernel::SpawnOptions& o) -> Result<kernel::Child> {
    pid_t pid = ::fork();
    if (pid < 0) return Error::sys(errno, "fork");
    if (pid == 0) {
      int procs = ::open((cgroup_dir + "/cgroup.procs").c_str(), O_WRONLY);
      if (procs < 0 || ::write(procs, "0", 1) != 1) ::_exit(125);
      if (o.new_session) ::setsid();
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(o.stdout_fd >= 0 ? o.stdout_fd : devnull, 1);
      ::dup2(o.stderr_fd >= 0 ? o.stderr_fd : devnull, 2);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGHUP, SIG_DFL);
      ::signal(SIGPIPE, SIG_DFL);
      apply_rlimit(RLIMIT_NOFILE, o.rlimits.nofile);
      apply_rlimit(RLIMIT_AS, o.rlimits.as);
      apply_rlimit(RLIMIT_CORE, o.rlimits.core);
      if (o.run_as) {
        if (::setgroups(o.run_as->groups.size(), o.run_as->groups.data()) != 0 ||
            ::setgid(o.run_as->gid) != 0 || ::setuid(o.run_as->uid) != 0) {
          ::_exit(124);
        }
      }
      std::vector<char*> argv;
      for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    int pidfd = int(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return Error::sys(errno, "pidfd_open");
    return kernel::Child{pid, Fd(pidfd)};
  };
}

// Runs a supervisor in a child process (as `cellctl supervise` does after daemonising) and
// returns its pid once its pid file exists.
inline pid_t start_supervisor(const Paths& paths, kernel::SuperviseSpec spec,
                              kernel::Launcher launch) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto sup = kernel::Supervisor::create(paths, std::move(spec), std::move(launch));
    if (!sup.ok()) {
      std::fprintf(stderr, "supervisor: %s\n", sup.error().message().c_str());
      ::_exit(3);
    }
    auto st = sup->run();
    ::_exit(st.ok() ? 0 : 4);
  }
  return pid;
}

}  // namespace cells::testing
