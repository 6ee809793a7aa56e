#include "base/signals.h"

#include <signal.h>

#include <cctype>

namespace cells {
namespace {

struct Known {
  const char* name;  // without "SIG"
  int number;
};
constexpr Known kKnown[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},
                            {"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"TERM", SIGTERM},
                            {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}, {"CONT", SIGCONT}};

}  // namespace

Result<int> parse_signal_name(std::string_view name) {
  std::string upper;
  for (char c : name) upper += char(std::toupper(static_cast<unsigned char>(c)));
  std::string_view bare = upper;
  if (bare.starts_with("SIG")) bare.remove_prefix(3);
  std::string accepted;
  for (const auto& k : kKnown) {
    if (bare == k.name) return k.number;
    accepted += std::string(accepted.empty() ? "" : ", ") + k.name;
  }
  return Error::invalid("unknown signal '" + std::string(name) + "' (one of " + accepted +
                        ", with or without SIG)");
}

std::string signal_name(int sig) {
  for (const auto& k : kKnown) {
    if (k.number == sig) return std::string("SIG") + k.name;
  }
  return "signal " + std::to_string(sig);
}

}  // namespace cells
