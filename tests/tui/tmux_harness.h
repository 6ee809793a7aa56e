// Privileged end-to-end tests of cellui: the real binary runs in a private tmux server (its
// own socket in the scratch root) against the real cellmgr bridge and real cells, driven with
// send-keys and read with capture-pane. Builds on the control-plane harness (scratch --root,
// cellmgr runner, leak checks in TearDown).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/controlplane/harness.h"

namespace cells::tui::testing {

class TuiTest : public controlplane::testing::ControlPlaneTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts cellui --root <scratch> ARGS in a COLUMNS x LINES tmux pane, with HOME set to a
  // scratch home and ENV ("K=V") added. TERM inside is tmux-256color.
  void start_cellui(const std::vector<std::string>& args = {}, int columns = 100, int lines = 30,
                    const std::vector<std::string>& env = {});
  // tmux send-keys (key names as tmux spells them: "Enter", "Tab", "Escape", or plain text).
  void keys(const std::vector<std::string>& k);
  // The pane as text (ESCAPES: with SGR colour sequences, capture-pane -e).
  std::string screen(bool escapes = false);
  // Waits until the screen contains TEXT (or, with ABSENT, no longer does). Returns whether it
  // happened before TIMEOUT; the last screen is left in last_screen_ for messages.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(15),
                bool absent = false);
  // The line of the screen that contains TEXT ("" if none).
  std::string line_with(const std::string& text);
  // cellui's pid (the pane's process) and the bridge it started (its one child).
  pid_t cellui_pid();
  pid_t bridge_pid();
  // Waits for cellui to exit (the pane is gone) and returns whether it did.
  bool wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // cellmgr ... -T -H -o name,running for NAME: "1" or "0".
  std::string running(const std::string& name);
  // A medium cell that sleeps, declared (not started).
  void declare_sleeper(const std::string& name);

  static std::string cellui_path();
  static std::string cellmgr_path();

  std::string tmux_socket_, home_, last_screen_;
  bool tmux_started_ = false;
  bool pass_cellmgr_ = true;  // --cellmgr <build tree's cellmgr>; off: "cellmgr" from PATH
};

}  // namespace cells::tui::testing
