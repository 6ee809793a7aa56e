// bash completion, sourced into a real bash: subcommands and options come from --help, and
// cell and volume names from a scratch --root with manifests (cellmgr) and one real kernel
// cell (cellctl). Privileged: creating the cell needs root.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "base/paths.h"
#include "kernel/bpf_policy.h"
#include "kernel/seed_ns.h"
#include "support.h"

namespace cells::packaging_test {
namespace {

namespace fs = std::filesystem;

class Completion : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("completion");
    ASSERT_FALSE(dir_.empty());
    root_ = dir_ + "/install";
    mgr_ = std::string(CELLMGR_PATH) + " --root " + root_;
    ctl_ = std::string(CELLCTL_PATH) + " --root " + root_;
    for (const char* c : {"cell create web --cmd true", "cell create db --cmd true",
                          "volume create www", "volume create logs"}) {
      auto r = run(mgr_ + " " + c);
      ASSERT_EQ(r.status, 0) << c << ": " << r.out;
    }
    std::string cell_root = dir_ + "/cellroot";
    for (const char* d : {"/bin", "/proc", "/dev", "/tmp", "/etc"}) fs::create_directories(cell_root + d);
    fs::copy_file("/bin/busybox", cell_root + "/bin/busybox");
    fs::create_symlink("busybox", cell_root + "/bin/sh");
    auto r = run(ctl_ + " create -l low -n kcell " + cell_root);
    ASSERT_EQ(r.status, 0) << r.out;
    created_cell_ = true;
  }

  void TearDown() override {
    if (created_cell_) {
      auto r = run(ctl_ + " destroy --force kcell");
      EXPECT_EQ(r.status, 0) << r.out;
      // Creating the cell loaded this scratch instance's cgroup-BPF programs; they go too.
      auto paths = Paths::from_root(root_);
      ASSERT_TRUE(paths.ok());
      auto st = kernel::BpfPolicy::unload(*paths);
      EXPECT_TRUE(st.ok()) << st.error().message();
      auto seed = kernel::release_seed_mount_ns(*paths);  // and the seed its namespace came from
      EXPECT_TRUE(seed.ok()) << seed.error().message();
    }
    fs::remove_all(dir_);
  }

  // COMPREPLY, sorted and space-separated, for the command LINE with the cursor at its end
  // (a trailing blank completes an empty word).
  std::string complete(const std::string& line) {
    std::string script =
        "PATH=" + fs::path(CELLCTL_PATH).parent_path().string() + ":" +
        fs::path(CELLMGR_PATH).parent_path().string() + ":$PATH\n"
        "source " + std::string(CELLS_COMPLETION) + "\n"
        "line=" + quote(line) + "\n"
        "read -r -a COMP_WORDS <<<\"$line\"\n"
        "[[ $line == *' ' ]] && COMP_WORDS+=('')\n"
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
        "complete -p ${COMP_WORDS[0]} >/dev/null || exit 3\n"
        "_${COMP_WORDS[0]}\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\" | LC_ALL=C sort | paste -sd ' '\n";
    auto r = run("bash --norc --noprofile -c " + quote(script));
    EXPECT_EQ(r.status, 0) << line << ": " << r.out;
    return r.out.substr(0, r.out.find_last_not_of('\n') + 1);
  }

  std::string dir_, root_, mgr_, ctl_;
  bool created_cell_ = false;
};

// The sorted names of the "Subcommands:" section of PROGRAM's --help.
std::string help_subcommands(const std::string& program) {
  std::set<std::string> names;
  bool in = false;
  for (const auto& l : lines_of(run(program + " --help").out)) {
    if (!l.empty() && l[0] != ' ') in = l == "Subcommands:";
    else if (in && l.size() > 2 && l[2] != ' ') names.insert(l.substr(2, l.find(' ', 2) - 2));
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

TEST_F(Completion, SubcommandsComeFromHelp) {
  // Whatever the program lists today (apply and backup landed after the completion was
  // written, and are offered without any change to it).
  EXPECT_EQ(complete("cellmgr "), help_subcommands(CELLMGR_PATH));
  for (const char* group : {"cell", "journal", "system", "volume"}) {
    EXPECT_NE((" " + complete("cellmgr ") + " ").find(std::string(" ") + group + " "), std::string::npos)
        << group;
  }
  EXPECT_EQ(complete("cellmgr c"), "cell");
  EXPECT_EQ(complete("cellmgr system "), "bootstrap reset status");
  EXPECT_EQ(complete("cellctl "), "create destroy exec list stats supervise");
  EXPECT_EQ(complete("cellctl --root " + root_ + " li"), "list");
}

TEST_F(Completion, OptionsComeFromHelp) {
  EXPECT_EQ(complete("cellctl list -"), "--json --no-header --tsv -H -T");
  // For stats, -h is the HTTP header, so it is offered; help is not.
  EXPECT_EQ(complete("cellctl stats --h"), "--http-header");
  EXPECT_EQ(complete("cellmgr system reset --"), "--cells --volumes --yes");
  EXPECT_EQ(complete("cellmgr --r"), "--root");
}

TEST_F(Completion, CellAndVolumeNamesFromTheRoot) {
  EXPECT_EQ(complete("cellmgr --root " + root_ + " cell start "), "db web");
  EXPECT_EQ(complete("cellmgr --root " + root_ + " cell show w"), "web");
  EXPECT_EQ(complete("cellmgr --root " + root_ + " volume remove "), "logs www");
  EXPECT_EQ(complete("cellmgr --root " + root_ + " cell set web --depends-on "), "db web");
  EXPECT_EQ(complete("cellmgr --root " + root_ + " cell create x --mount w"), "www:");
  // A new name is the operator's to choose.
  EXPECT_EQ(complete("cellmgr --root " + root_ + " cell create "), "");
  EXPECT_EQ(complete("cellmgr --root " + root_ + " volume backup create w"), "www");
  // cellctl offers the CID and the name of each kernel cell.
  auto list = run(ctl_ + " list -T -H");
  ASSERT_EQ(list.status, 0) << list.out;
  std::string cid = list.out.substr(0, list.out.find('\t'));
  ASSERT_FALSE(cid.empty());
  EXPECT_EQ(complete("cellctl --root " + root_ + " exec "), cid + " kcell");
  EXPECT_EQ(complete("cellctl --root " + root_ + " destroy -f k"), "kcell");
  // After the target comes the command run in the cell: no names.
  EXPECT_EQ(complete("cellctl --root " + root_ + " exec kcell "), "");
}

TEST_F(Completion, OptionValues) {
  EXPECT_EQ(complete("cellmgr cell set web --profile "), "high low medium");
  EXPECT_EQ(complete("cellmgr cell list --view m"), "merged");
  EXPECT_EQ(complete("cellmgr cell remove web --scope "), "both desired runtime");
  EXPECT_EQ(complete("cellctl supervise -o e"), "emerg err");
  EXPECT_EQ(complete("cellmgr --root " + root_ + " cell list -o autos"), "autostart");
}

TEST_F(Completion, ANameFromAnotherRootIsNotOffered) {
  // Names are read from the --root on the line, not from the host.
  std::string other = make_temp_dir("completion-other");
  EXPECT_EQ(complete("cellmgr --root " + other + " cell start "), "");
  fs::remove_all(other);
}

}  // namespace
}  // namespace cells::packaging_test
