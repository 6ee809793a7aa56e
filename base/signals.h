// Signal names as operators write them in manifests and on command lines ("HUP", "SIGHUP").
// Only the signals a service may reasonably be asked to act on are known: those that a
// service handles by convention (reload, log reopen, status), not SIGKILL or SIGSTOP, whose
// only effect would be to kill or freeze the service behind the supervisor's back.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace cells {

// "HUP", "SIGHUP", "hup" -> SIGHUP. kInvalid naming the accepted names otherwise.
Result<int> parse_signal_name(std::string_view name);

// SIGHUP -> "SIGHUP"; an unknown number -> "signal N".
std::string signal_name(int sig);

}  // namespace cells
