// run_process: the one fork/exec for commands that run and end (cp, debootstrap, `cellctl
// supervise` until its supervisor is ready, the drivers of tests and benchmarks). Children that
// live on (services, supervisors, processes inside cells) have their own launchers: they enter
// namespaces and cgroups, and their output streams.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace cells {

struct RunOptions {
  // The child's stdin; without it /dev/null (a child never reads the caller's terminal).
  std::optional<std::string> input;
  // "NAME=value" entries added to the caller's environment (a same-named one is replaced).
  std::vector<std::string> env;
  // setsid(2) in the child: no controlling terminal, so nothing it runs can prompt.
  bool new_session = false;
  // The child is SIGKILLed when the caller dies (PR_SET_PDEATHSIG), so a step of a command
  // that was killed does not go on by itself (it would race the next command's recovery).
  bool die_with_parent = false;
  // stderr goes with stdout into `out`, interleaved as written; `err` stays empty.
  bool merge_stderr = false;
  // When set, stdout and stderr go to this file (created 0644, or truncated) instead of being
  // captured, so the log of a long command can be followed while it runs.
  std::string log_path;
};

struct ProcessResult {
  int exit_code = 0;  // when the child exited
  int signal = 0;     // the signal that ended it, or 0
  std::string out, err;

  bool ok() const { return signal == 0 && exit_code == 0; }
  // The shell's convention: the exit code, or 128 + the signal.
  int status() const { return signal != 0 ? 128 + signal : exit_code; }
  // "exit 3" or "signal 9", for messages.
  std::string describe() const;
};

// Runs ARGV (argv[0] searched in PATH) to its end and returns how it ended and what it wrote.
// Output is captured in memory files, not pipes: however much the child writes, nothing
// deadlocks, and the call returns when the child exits even if a process it left behind still
// holds the streams (what that process writes later is not captured).
// Errors: an empty ARGV (kInvalid); memfd, open or fork failure; a program that cannot be
// executed, with execve's errno (kNotFound when it does not exist). Any exit or signal of a
// program that ran is a ProcessResult, not an Error.
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const RunOptions& options = {});

// run_process, ok only when the program exits 0. Otherwise the error (kSystem) reads
// "<argv[0]> failed (exit N): <its stderr on one line>".
Status run_checked(const std::vector<std::string>& argv, const RunOptions& options = {});

}  // namespace cells
