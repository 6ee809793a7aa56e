// The wire form of a SuperviseSpec (kernel/supervise.h): how `cellctl supervise` hands the
// checked spec to the supervisor daemon it execs (cli/cellctl/supervise_daemon.h), through a
// sealed memfd. Binary (kernel/wire.h) rather than JSON: the daemon lives as long as the cell,
// and a JSON parser was 60 KiB of its text (docs/PERFORMANCE.md, supervisor USS).
//
// cgroup_dir and init_pid are not carried: the daemon finds them from the cell's registry.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "kernel/supervise.h"

namespace cells::kernel {

std::string encode_supervise_spec(const SuperviseSpec& spec);

// kCorrupt naming the first field that does not decode ("supervise spec: bad argv").
Result<SuperviseSpec> decode_supervise_spec(std::string_view bytes);

}  // namespace cells::kernel
