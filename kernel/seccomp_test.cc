// The seccomp filter must stay cheap for the syscalls it allows. Since Linux 5.11 the kernel
// emulates each new filter once per syscall number (seccomp_cache_prepare) and, when the
// filter reaches SECCOMP_RET_ALLOW by only loading the number and the architecture, marks that
// number as allowed in a bitmap: such a syscall never runs the filter again. One argument
// load, ALU op or log action on an allowed syscall's path would make every such syscall run
// the BPF program. These tests run the kernel's emulation rules over the exported program.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include <algorithm>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "kernel/seccomp.h"

namespace cells::kernel {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
#endif

// The kernel's rules (kernel/seccomp.c, seccomp_is_const_allow): true when PROG returns
// ALLOW for NR on the native architecture through constant loads only; nullopt when the
// outcome depends on something the cache cannot know (an argument, the instruction pointer).
std::optional<bool> constant_allow(const std::vector<sock_filter>& prog, uint32_t nr) {
  uint32_t a = 0;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& in = prog[pc];
    switch (in.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (in.k == offsetof(seccomp_data, nr)) {
          a = nr;
        } else if (in.k == offsetof(seccomp_data, arch)) {
          a = kNativeArch;
        } else {
          return std::nullopt;
        }
        break;
      case BPF_RET | BPF_K:
        return in.k == SECCOMP_RET_ALLOW;
      case BPF_JMP | BPF_JA:
        pc += in.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == in.k ? in.jt : in.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += a >= in.k ? in.jt : in.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += a > in.k ? in.jt : in.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & in.k) ? in.jt : in.jf;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= in.k;
        break;
      default:
        return std::nullopt;
    }
  }
  return false;
}

// Syscalls with an argument rule in some profile: the only ones allowed to need the program.
bool has_argument_rule(uint32_t nr) { return nr == SYS_clone || nr == SYS_socket; }

class SeccompCache : public ::testing::TestWithParam<Profile> {};

TEST_P(SeccompCache, EverySyscallWithoutARuleIsConstantAllow) {
  auto prog = build_seccomp_filter(GetParam());
  ASSERT_TRUE(prog.ok()) << prog.error().message();
  std::vector<uint32_t> slow;
  for (uint32_t nr = 0; nr < 512; ++nr) {
    auto allow = constant_allow(*prog, nr);
    if (!allow && !has_argument_rule(nr)) slow.push_back(nr);
  }
  EXPECT_TRUE(slow.empty()) << "first syscall that would run the filter: " << slow.front();
  EXPECT_EQ(constant_allow(*prog, SYS_getpid), true);
  EXPECT_EQ(constant_allow(*prog, SYS_read), true);
}

TEST_P(SeccompCache, DeniedSyscallsAreNeverCachedAsAllowed) {
  auto prog = build_seccomp_filter(GetParam());
  ASSERT_TRUE(prog.ok()) << prog.error().message();
  for (uint32_t nr : {SYS_bpf, SYS_init_module, SYS_unshare, SYS_setns, SYS_open_by_handle_at,
                      SYS_clone3}) {
    EXPECT_EQ(constant_allow(*prog, nr), false) << "syscall " << nr;
  }
  EXPECT_EQ(constant_allow(*prog, SYS_clone), std::nullopt);  // depends on the flags
  if (GetParam() != Profile::kLow) {
    EXPECT_EQ(constant_allow(*prog, SYS_mount), false);
    EXPECT_EQ(constant_allow(*prog, SYS_socket), std::nullopt);  // AF_PACKET / SOCK_RAW
  } else {
    EXPECT_EQ(constant_allow(*prog, SYS_mount), true);  // low relies on capabilities instead
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, SeccompCache,
                         ::testing::Values(Profile::kLow, Profile::kMedium, Profile::kHigh));

// The emulation itself can tell a cacheable program from one that is not.
TEST(SeccompCacheEmulation, ArgumentLoadBeforeTheVerdictIsNotCacheable) {
  std::vector<sock_filter> prog = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  EXPECT_EQ(constant_allow(prog, SYS_getpid), std::nullopt);
  prog = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG)};  // logged is not allowed
  EXPECT_EQ(constant_allow(prog, SYS_getpid), false);
  prog = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  EXPECT_EQ(constant_allow(prog, SYS_getpid), true);
}

}  // namespace
}  // namespace cells::kernel
