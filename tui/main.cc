// cellui [--root DIR] [--host HOST] [--theme NAME]: the full-screen TUI (DESIGN section 13).
//
// Startup is a list of steps whose order matters:
//   1. options and theme: a bad --theme is refused before anything starts;
//   2. the bridge: started and version-checked before curses takes the terminal, so a failure
//      prints a plain one-line error instead of flashing a screen;
//   3. the terminal, then the first full read;
//   4. the event loop: poll() on the terminal and the client's fd, redrawing only when a key,
//      a pushed event or a status-message expiry changed something (no fixed poll).
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "base/files.h"
#include "cli/cli_common.h"
#include "tui/keys.h"
#include "tui/render.h"
#include "tui/session.h"
#include "tui/term.h"
#include "tui/theme.h"
#include "tui/ui.h"

extern char** environ;

namespace cells::tui {
namespace {

volatile sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The theme at startup: --theme, else ~/.celluirc, else the default. A bad name in the rc file
// is reported on screen but does not stop cellui (the file may come from a newer version).
size_t initial_theme(const std::string& option, std::string* warning) {
  if (!option.empty()) return *find_theme(option);  // validated by the caller
  std::string path = rc_path();
  if (path.empty()) return 0;
  auto text = read_file(path);
  if (!text) return 0;
  auto name = rc_theme(*text);
  if (!name) return 0;
  auto i = find_theme(*name);
  if (!i) {
    *warning = path + ": " + i.error().message();
    return 0;
  }
  return *i;
}

Status save_theme(size_t theme) {
  std::string path = rc_path();
  if (path.empty()) return Error::invalid("theme not saved: HOME is not set");
  auto old = read_file(path);
  return write_file_atomic(path, rc_with_theme(old ? *old : "", themes()[theme].name), 0644);
}

// Runs ARGV on the terminal with curses suspended and waits for it. cellui ignores the
// terminal's signals meanwhile (Ctrl-C belongs to the shell); the child gets them back.
Status run_on_terminal(Terminal& term, const std::vector<std::string>& argv) {
  if (argv.empty()) return Error::invalid("shell: the bridge returned no command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGQUIT, SIGTSTP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  struct sigaction ignore {}, old[3];
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old[0]);
  sigaction(SIGQUIT, &ignore, &old[1]);
  sigaction(SIGTSTP, &ignore, &old[2]);
  term.suspend();
  pid_t pid = 0;
  int err = posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), environ);
  int status = 0;
  if (err == 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  term.resume();
  sigaction(SIGINT, &old[0], nullptr);
  sigaction(SIGQUIT, &old[1], nullptr);
  sigaction(SIGTSTP, &old[2], nullptr);
  posix_spawnattr_destroy(&attr);
  if (err) return Error::sys(err, "shell: run " + argv[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 130)
    return Error::invalid("shell: " + argv[0] + " exited with status " + std::to_string(WEXITSTATUS(status)));
  return {};
}

struct Options {
  std::string root, host, theme, cellmgr = "cellmgr", bridge_log = "/dev/null";
};

int run(const Options& o) {
  // 1. Theme.
  std::string warning;
  size_t theme = initial_theme(o.theme, &warning);

  // 2. The bridge. CELLUI_SSH replaces the ssh command for --host (e.g. "ssh -p 2222 -i key").
  rpc::ClientOptions co;
  co.root = o.root;
  co.host = o.host;
  co.cellmgr = o.cellmgr;
  co.log_path = o.bridge_log;
  if (const char* ssh = getenv("CELLUI_SSH"); ssh && *ssh) co.ssh = split_words(ssh);
  auto session = Session::open(co);
  if (!session) return cli::fail("cellui", session.error().message());
  Session& s = **session;

  // 3. Terminal and first read.
  std::setlocale(LC_ALL, "");
  auto opened = Terminal::open();
  if (!opened) return cli::fail("cellui", opened.error().message());
  Terminal term = std::move(*opened);
  for (int sig : {SIGTERM, SIGHUP}) {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigaction(sig, &sa, nullptr);
  }
  Ui ui(theme);
  term.apply_theme(themes()[theme]);
  if (!warning.empty()) ui.notify(warning, true, now_ms());
  if (auto r = s.refresh_all(); !r) ui.notify(r.error().message(), true, now_ms());
  ui.set_snapshot(s.snapshot());

  // 4. Event loop.
  bool dirty = true;
  auto draw = [&] {
    Canvas c(term.columns(), term.lines());
    render(ui, s.where(), now_ms(), c);
    term.draw(c);
    dirty = false;
  };
  auto pump = [&] {
    std::optional<std::string> dropped;
    // Telemetry ticks come every second: copy the snapshot into the Ui only when it changed.
    if (s.pump(&dropped)) {
      dirty = true;
      ui.set_snapshot(s.snapshot());
    }
    if (dropped) {
      ui.disconnected(*dropped);
      return;
    }
    // The pushed change goes on screen first; the storage reads it made stale follow.
    if (dirty) draw();
    auto read = s.catch_up();
    if (!read) {
      ui.notify(read.error().message(), true, now_ms());
      dirty = true;
    } else if (*read) {
      ui.set_snapshot(s.snapshot());
      dirty = true;
    }
  };
  auto handle = [&](const Request& r) {
    using K = Request::Kind;
    switch (r.kind) {
      case K::kNone: return true;
      case K::kQuit: return false;
      case K::kThemeChanged:
        term.apply_theme(themes()[ui.theme()]);
        if (auto st = save_theme(ui.theme()); !st)
          ui.notify(st.error().message(), true, now_ms());
        else
          ui.notify(std::string("theme ") + std::string(themes()[ui.theme()].name), false, now_ms());
        return true;
      case K::kReconnect:
        if (auto st = s.reconnect(); !st) ui.disconnected(st.error().message());
        ui.set_snapshot(s.snapshot());
        return true;
      case K::kShell: {
        auto argv = s.shell_argv(r.target);
        Status st = argv ? run_on_terminal(term, *argv) : Status(std::move(argv).error());
        if (!st) ui.notify(st.error().message(), true, now_ms());
        return true;
      }
      default: {
        // The call is synchronous: show the spinner for its duration.
        ui.set_busy(true);
        ui.tick_spinner();
        draw();
        auto text = s.run(r);
        ui.set_busy(false);
        if (text)
          ui.notify(*text, false, now_ms());
        else
          ui.notify(text.error().message(), true, now_ms());
        ui.set_snapshot(s.snapshot());
        return true;
      }
    }
  };

  for (;;) {
    if (g_stop) return 0;
    if (dirty) draw();
    int timeout = -1;
    if (int64_t d = ui.message_deadline(); d >= 0) {
      int64_t left = d - now_ms();
      timeout = left > 0 ? static_cast<int>(left) + 1 : -1;
    }
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {s.fd(), POLLIN, 0}};
    int n = poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "cellui: poll: %s\n", strerror(errno));
      return 1;
    }
    if (timeout >= 0 && n == 0) dirty = true;  // a status message expired
    if (n < 0) dirty = true;                    // a signal: SIGWINCH arrives as a resize key
    for (int k; (k = term.read_key()) != -1;) {
      dirty = true;
      if (k == key::kResize) continue;
      Layout l = layout_of(ui, term.columns(), term.lines());
      if (!handle(ui.on_key(k, l.table_rows(), now_ms()))) return 0;
    }
    if (fds[1].revents) pump();
  }
}

}  // namespace
}  // namespace cells::tui

int main(int argc, char** argv) {
  cells::tui::Options o;
  CLI::App app{"cellui: full-screen terminal interface for cells"};
  app.add_option("--root", o.root, "install prefix the bridge manages (its --root)")->envname("CELLS_ROOT");
  app.add_option("--host", o.host, "manage HOST through `ssh HOST cellmgr serve --stdio`");
  std::string names;
  for (const auto& t : cells::tui::themes()) names += (names.empty() ? "" : ", ") + std::string(t.name);
  app.add_option("--theme", o.theme, "colour theme for this run (" + names + ")");
  app.add_option("--cellmgr", o.cellmgr, "the cellmgr program that serves the bridge")
      ->envname("CELLUI_CELLMGR");
  app.add_option("--bridge-log", o.bridge_log, "where the bridge's stderr goes");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "cellui: %s\n", e.what());
    return 2;  // usage error, as cellmgr
  }
  if (!o.theme.empty()) {
    if (auto t = cells::tui::find_theme(o.theme); !t) {
      cells::cli::fail("cellui", t.error().message());
      return 2;  // a usage error: nothing was started
    }
  }
  return cells::tui::run(o);
}
