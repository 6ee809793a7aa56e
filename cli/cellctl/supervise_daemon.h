// The supervisor daemon of `cellctl supervise` (kernel/supervise.h), shared by cellctl and the
// small static cells-supervise program that cellctl execs into (its memory is what a
// supervised cell costs for as long as it runs, so it carries only the kernel layer).
//
// Hand-over: `cellctl supervise` checks everything, writes the spec into a sealed memfd named
// by $CELLS_SUPERVISE_SPEC_FD and execs the daemon with a pipe named by
// $CELLS_SUPERVISE_READY_FD, on which the daemon answers "ready" or its one-line error.
#pragma once

#include <string>

#include "kernel/supervise.h"
#include "kernel/supervise_spec.h"

namespace cells::cellctl {

inline constexpr const char* kSpecFdEnv = "CELLS_SUPERVISE_SPEC_FD";
inline constexpr const char* kReadyFdEnv = "CELLS_SUPERVISE_READY_FD";
// The cell's supervise lock (kernel::lock_supervision), held by the supervisor for its life.
inline constexpr const char* kLockFdEnv = "CELLS_SUPERVISE_LOCK_FD";

// The program to exec as the daemon: $CELLS_SUPERVISE_PROGRAM, else the one installed with
// the running cellctl (installed_helper_path), else the cells-supervise built with cellctl,
// else /usr/libexec/cells/cells-supervise, else /proc/self/exe (cellctl itself).
std::string supervise_program();

// The daemon: reads the spec, starts the supervisor of the cell in the installation at ROOT
// (empty: $CELLS_ROOT, else /), reports, and supervises until stopped. Returns the exit code.
int run_supervise_daemon(const std::string& root);

}  // namespace cells::cellctl
