#include "tests/tui/tmux_harness.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "base/files.h"

namespace cells::tui::testing {

std::string TuiTest::cellui_path() { return CELLUI_PATH; }
std::string TuiTest::cellmgr_path() { return CELLMGR_PATH; }

void TuiTest::SetUp() {
  ControlPlaneTest::SetUp();
  if (IsSkipped()) return;
  tmux_socket_ = scratch_ + "/tmux.sock";
  home_ = scratch_ + "/home";
  ASSERT_EQ(::mkdir(home_.c_str(), 0700), 0);
}

void TuiTest::TearDown() {
  if (tmux_started_) {
    pid_t pid = cellui_pid();
    host({"tmux", "-S", tmux_socket_, "kill-server"});
    // The pane's process gets SIGHUP; wait until it and its bridge are gone so that the
    // control-plane checks below see no process of this root.
    for (int i = 0; pid > 0 && i < 100 && ::kill(pid, 0) == 0; ++i) ::usleep(50 * 1000);
  }
  ControlPlaneTest::TearDown();
}

void TuiTest::start_cellui(const std::vector<std::string>& args, int columns, int lines,
                           const std::vector<std::string>& env) {
  // A private config: no user settings, 256 colours inside, no status line to capture.
  std::string conf = scratch_ + "/tmux.conf";
  ASSERT_TRUE(write_file_atomic(conf, "set -g default-terminal tmux-256color\nset -g status off\n"
                                      "set -g escape-time 0\n").ok());
  std::string cmd = "exec env HOME=" + home_ + " CELLS_CELLCTL=" + std::string(CELLCTL_PATH);
  for (const auto& e : env) cmd += " '" + e + "'";
  cmd += " " + cellui_path() + " --root " + scratch_;
  if (pass_cellmgr_) cmd += " --cellmgr " + cellmgr_path();
  for (const auto& a : args) cmd += " '" + a + "'";
  auto r = host({"tmux", "-S", tmux_socket_, "-f", conf, "new-session", "-d", "-x",
                 std::to_string(columns), "-y", std::to_string(lines), cmd});
  ASSERT_EQ(r.status, 0) << r.err;
  tmux_started_ = true;
  // Keep the pane after cellui exits, so a test can read its last words.
  host({"tmux", "-S", tmux_socket_, "set", "-g", "remain-on-exit", "on"});
}

void TuiTest::keys(const std::vector<std::string>& k) {
  std::vector<std::string> argv = {"tmux", "-S", tmux_socket_, "send-keys"};
  argv.insert(argv.end(), k.begin(), k.end());
  auto r = host(argv);
  EXPECT_EQ(r.status, 0) << r.err;
}

std::string TuiTest::screen(bool escapes) {
  std::vector<std::string> argv = {"tmux", "-S", tmux_socket_, "capture-pane", "-p"};
  if (escapes) argv.push_back("-e");
  return host(argv).out;
}

bool TuiTest::wait_for(const std::string& text, std::chrono::milliseconds timeout, bool absent) {
  auto end = std::chrono::steady_clock::now() + timeout;
  do {
    last_screen_ = screen();
    if ((last_screen_.find(text) != std::string::npos) != absent) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

std::string TuiTest::line_with(const std::string& text) {
  std::istringstream in(screen());
  for (std::string l; std::getline(in, l);)
    if (l.find(text) != std::string::npos) return l;
  return "";
}

pid_t TuiTest::cellui_pid() {
  auto r = host({"tmux", "-S", tmux_socket_, "display", "-p", "#{pane_pid}"});
  return r.status == 0 ? static_cast<pid_t>(std::atol(r.out.c_str())) : 0;
}

pid_t TuiTest::bridge_pid() {
  pid_t ui = cellui_pid();
  std::ifstream in("/proc/" + std::to_string(ui) + "/task/" + std::to_string(ui) + "/children");
  pid_t child = 0;
  in >> child;
  return child;
}

bool TuiTest::wait_exit(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  do {
    auto r = host({"tmux", "-S", tmux_socket_, "display", "-p", "#{pane_dead}"});
    if (r.out == "1\n") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

std::string TuiTest::running(const std::string& name) {
  auto r = cellmgr({"cell", "list", "-T", "-H", "-o", "name,running"});
  std::istringstream in(r.out);
  for (std::string n, v; in >> n >> v;)
    if (n == name) return v;
  return "?";
}

void TuiTest::declare_sleeper(const std::string& name) {
  auto r = cellmgr({"cell", "create", name, "--profile", "medium", "--cmd", "busybox sleep 100000",
                    "--scope", "desired"});
  ASSERT_EQ(r.status, 0) << r.err;
}

}  // namespace cells::tui::testing
