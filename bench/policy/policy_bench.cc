// policy_bench ROUNDS N: what the in-process policy costs a spawn, per profile.
//   prepare  prepare_policy() in the parent (libseccomp compile + export, Landlock ruleset)
//   enter    fork + enter_policy() + _exit + waitpid, against the peer fork + _exit + waitpid
//            in alternating rounds of the same run, so machine noise hits both alike.
// Prints median and p10..p90 of the per-round means, and enter/peer ratio. Needs root.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "kernel/policy.h"

namespace {

using cells::kernel::CellInfo;
using cells::kernel::PreparedPolicy;
using cells::kernel::Profile;
using Clock = std::chrono::steady_clock;

struct Stats {
  double median, p10, p90;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
}

// Mean microseconds of N fork/child/wait cycles; the child enters POLICY if given.
double fork_cycle_us(int n, const PreparedPolicy* policy) {
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(policy ? (cells::kernel::enter_policy(*policy) == 0 ? 0 : 1) : 0);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "child failed to enter the policy\n");
      std::exit(1);
    }
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / n;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  const int n = argc > 2 ? std::atoi(argv[2]) : 200;
  std::printf("%-7s %-26s %-26s %-26s %s\n", "profile", "prepare us", "fork+enter+exit us",
              "peer fork+exit us", "ratio");
  for (Profile profile : {Profile::kLow, Profile::kMedium, Profile::kHigh}) {
    CellInfo cell;
    cell.name = "bench";
    cell.profile = profile;
    cell.ports = {18080, 18443};
    std::vector<double> prepare, enter, peer;
    std::optional<PreparedPolicy> policy;
    for (int r = 0; r < rounds; ++r) {
      auto start = Clock::now();
      for (int i = 0; i < 20; ++i) {
        auto p = cells::kernel::prepare_policy(cell);
        if (!p.ok()) {
          std::fprintf(stderr, "prepare_policy: %s\n", p.error().message().c_str());
          return 1;
        }
        policy.emplace(std::move(*p));
      }
      prepare.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
                        20);
      if (r % 2 == 0) {
        enter.push_back(fork_cycle_us(n, &*policy));
        peer.push_back(fork_cycle_us(n, nullptr));
      } else {
        peer.push_back(fork_cycle_us(n, nullptr));
        enter.push_back(fork_cycle_us(n, &*policy));
      }
    }
    Stats s1 = stats(prepare), s2 = stats(enter), s3 = stats(peer);
    char a[64], b[64], c[64];
    std::snprintf(a, sizeof a, "%.1f [%.1f..%.1f]", s1.median, s1.p10, s1.p90);
    std::snprintf(b, sizeof b, "%.1f [%.1f..%.1f]", s2.median, s2.p10, s2.p90);
    std::snprintf(c, sizeof c, "%.1f [%.1f..%.1f]", s3.median, s3.p10, s3.p90);
    std::printf("%-7s %-26s %-26s %-26s %.2f\n",
                std::string(cells::kernel::to_string(profile)).c_str(), a, b, c,
                s2.median / s3.median);
  }
  return 0;
}
