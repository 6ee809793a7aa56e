// cells-supervise: the daemon of `cellctl supervise` (cli/cellctl/supervise_daemon.h), as a
// small static program: started only by cellctl, which execs it as
// `cellctl supervise cell=<name> cid=<id>` with the spec in an inherited memfd.
#include <sys/prctl.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/cellctl/supervise_daemon.h"

// libstdc++'s default terminate handler prints the uncaught exception's demangled type, which
// links the C++ demangler and stdio (about 50 KiB of text, paged into the first supervisor;
// docs/PERFORMANCE.md). This program's stderr is /dev/null, so nobody would read that line.
// Defining the handler here keeps the library's (and what it calls) out of the static link;
// it still aborts, so the core dump and the exit status are unchanged.
namespace __gnu_cxx {
void __verbose_terminate_handler() {
  static const char kMsg[] = "cells-supervise: terminate called\n";
  (void)!::write(2, kMsg, sizeof kMsg - 1);
  std::abort();
}
}  // namespace __gnu_cxx

// The same for failed assertions (glibc's own start-up code has some even with NDEBUG): glibc's
// reporter translates its message through gettext, which links gettext, iconv and the static
// dlopen behind them, about 150 KiB. This one writes the untranslated line and aborts.
extern "C" void __assert_fail(const char* assertion, const char* file, unsigned int line,
                              const char* function) noexcept {
  char num[12];
  char* p = num + sizeof num;
  do *--p = char('0' + line % 10); while ((line /= 10) != 0);
  for (const char* part : {"cells-supervise: ", file, ":"}) (void)!::write(2, part, strlen(part));
  (void)!::write(2, p, size_t(num + sizeof num - p));
  for (const char* part : {": ", function, ": assertion failed: ", assertion, "\n"}) {
    (void)!::write(2, part, strlen(part));
  }
  std::abort();
}

int main() {
  if (std::getenv(cells::cellctl::kSpecFdEnv) == nullptr ||
      std::getenv(cells::cellctl::kReadyFdEnv) == nullptr) {
    std::fprintf(stderr, "cells-supervise: internal program of cellctl supervise; not for direct use\n");
    return 2;
  }
  // ps -o comm shows the program's file name otherwise; operators look for cellctl.
  ::prctl(PR_SET_NAME, "cellctl", 0, 0, 0);
  return cells::cellctl::run_supervise_daemon("");
}
