// What every fuzz target shares: a property failure aborts, so libFuzzer (or the replay main)
// saves the input and the run fails. assert() would vanish under NDEBUG in RelWithDebInfo.
#pragma once
#include <cstdio>
#include <cstdlib>

#define CELLS_FUZZ_CHECK(cond, what)                                            \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", what, __FILE__, \
                   __LINE__);                                                   \
      std::abort();                                                             \
    }                                                                           \
  } while (0)
