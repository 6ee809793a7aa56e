// The Debian package: cpack builds it from this build tree, dpkg installs it on this machine,
// the installed programs, man pages, completion and unit are where operators look, and a
// purge removes them again. Privileged (dpkg). The quickstart with the installed programs is
// installed_quickstart_test.cc.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support.h"

namespace cells::packaging_test {
namespace {

namespace fs = std::filesystem;

bool package_installed() {
  auto r = run("dpkg-query -W -f='${Status}' cells");
  return r.status == 0 && r.out.find("install ok installed") != std::string::npos;
}

class Deb : public ::testing::Test {
 protected:
  void SetUp() override {
    // Never replace a cells package the operator installed.
    ASSERT_FALSE(package_installed()) << "package cells is already installed; not touching it";
    out_ = make_temp_dir("deb");
    ASSERT_FALSE(out_.empty());
  }
  void TearDown() override {
    if (installed_by_us_) {
      auto r = run("dpkg --purge cells");
      EXPECT_EQ(r.status, 0) << r.out;
    }
    fs::remove_all(out_);
  }
  std::string out_;
  bool installed_by_us_ = false;
};

TEST_F(Deb, BuildsInstallsAndPurges) {
  auto pack = run("cd " + quote(CELLS_BUILD_DIR) + " && cpack -G DEB -B " + quote(out_));
  ASSERT_EQ(pack.status, 0) << pack.out;
  std::string deb;
  for (const auto& e : fs::directory_iterator(out_)) {
    if (e.path().extension() == ".deb") deb = e.path();
  }
  ASSERT_FALSE(deb.empty()) << pack.out;

  auto info = run("dpkg-deb -f " + quote(deb) + " Package Depends Recommends");
  ASSERT_EQ(info.status, 0) << info.out;
  EXPECT_NE(info.out.find("Package: cells"), std::string::npos) << info.out;
  for (const char* dep : {"libc6", "libseccomp2", "libbpf1", "liblmdb0", "busybox-static"}) {
    EXPECT_NE(info.out.find(dep), std::string::npos) << dep << " in " << info.out;
  }
  EXPECT_NE(info.out.find("Recommends: rsyslog"), std::string::npos) << info.out;

  auto install = run("dpkg -i " + quote(deb));
  installed_by_us_ = package_installed();
  ASSERT_EQ(install.status, 0) << install.out;

  auto help = run("/usr/sbin/cellctl --help");
  EXPECT_EQ(help.status, 0) << help.out;
  EXPECT_NE(help.out.find("Subcommands:"), std::string::npos) << help.out;
  auto mgr = run("/usr/sbin/cellmgr --help");
  EXPECT_EQ(mgr.status, 0) << mgr.out;

  auto man = run("MANPATH=/usr/share/man man -w cellmgr");
  EXPECT_EQ(man.out, "/usr/share/man/man8/cellmgr.8\n");
  auto man5 = run("MANPATH=/usr/share/man man -w 5 cellmgr.cell");
  EXPECT_EQ(man5.out, "/usr/share/man/man5/cellmgr.cell.5\n");

  struct stat st {};
  ASSERT_EQ(::stat("/usr/libexec/cells/cells-init", &st), 0);
  EXPECT_EQ(st.st_mode & 0111, 0111u);
  for (const char* f : {"/usr/share/bash-completion/completions/cellctl",
                        "/usr/share/bash-completion/completions/cellmgr",
                        "/lib/systemd/system/cellmgr.service"}) {
    EXPECT_TRUE(fs::is_regular_file(f)) << f;
  }
  // The installed completion loads in a login-like bash through bash-completion's loader.
  auto comp = run("bash --norc --noprofile -c 'source /usr/share/bash-completion/bash_completion; "
                  "_completion_loader cellmgr; complete -p cellmgr'");
  EXPECT_NE(comp.out.find("_cellmgr"), std::string::npos) << comp.out;

  auto purge = run("dpkg --purge cells");
  EXPECT_EQ(purge.status, 0) << purge.out;
  installed_by_us_ = package_installed();
  EXPECT_FALSE(installed_by_us_);
  for (const char* f : {"/usr/sbin/cellctl", "/usr/sbin/cellmgr", "/usr/libexec/cells/cells-init",
                        "/usr/share/man/man8/cellmgr.8", "/lib/systemd/system/cellmgr.service"}) {
    EXPECT_FALSE(fs::exists(f)) << f << " left after purge";
  }
}

}  // namespace
}  // namespace cells::packaging_test
