#include "engine/rootwrite.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/files.h"
#include "engine/plan_exec.h"

namespace cells::engine {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& name) { return std::string(CELLS_ENGINE_TESTDATA) + "/" + name; }

// A scratch tree: BASE/root is the cell root, BASE/host stands for the host outside it, with a
// canary file that no write into the root may touch.
class RootWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-rootwrite-test-XXXXXX";
    base_ = mkdtemp(tmpl);
    root_dir_ = base_ + "/root";
    host_ = base_ + "/host";
    ASSERT_TRUE(make_dirs(root_dir_ + "/etc"));
    ASSERT_TRUE(make_dirs(root_dir_ + "/var/www"));
    ASSERT_TRUE(make_dirs(host_));
    ASSERT_TRUE(write_file_atomic(host_ + "/canary", "original\n", 0644));
    ASSERT_TRUE(write_file_atomic(root_dir_ + "/etc/passwd",
                                  "root:x:0:0:root:/root:/bin/sh\n"
                                  "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"));
    ASSERT_TRUE(write_file_atomic(root_dir_ + "/etc/group", "root:x:0:\nwww-data:x:33:\n"));
    auto root = CellRoot::open(root_dir_);
    ASSERT_TRUE(root) << root.error().message();
    root_.emplace(std::move(*root));
  }
  void TearDown() override { fs::remove_all(base_); }

  void plant(const std::string& target, const std::string& link_in_root) {
    ASSERT_EQ(::symlink(target.c_str(), (root_dir_ + link_in_root).c_str()), 0) << link_in_root;
  }
  // The host side is exactly as SetUp left it.
  void expect_host_untouched() {
    auto canary = read_file(host_ + "/canary");
    ASSERT_TRUE(canary);
    EXPECT_EQ(*canary, "original\n");
    size_t entries = 0;
    for (const auto& e : fs::directory_iterator(host_)) {
      EXPECT_EQ(e.path().filename(), "canary");
      ++entries;
    }
    EXPECT_EQ(entries, 1u);
  }
  std::string in_root(const std::string& p) {
    auto r = read_file(root_dir_ + p);
    return r ? *r : "(missing: " + r.error().message() + ")";
  }
  // The host path of the canary directory, written as a path relative to somewhere deep in
  // the root with enough ".." to climb out of it if ".." were not confined.
  std::string climb_to_host() { return "../../../../../../../../../.." + host_; }

  std::string base_, root_dir_, host_;
  std::optional<CellRoot> root_;
};

TEST_F(RootWriteTest, AbsoluteSymlinkToHostDirectoryIsConfined) {
  plant(host_, "/var/www/x");  // x -> /tmp/.../host: on the host, the canary's directory
  auto r = root_->write_file("/var/www/x/canary", "pwned\n", {});
  EXPECT_FALSE(r);  // inside the root, that target does not exist
  EXPECT_FALSE(root_->make_dir("/var/www/x/sub", {}));
  EXPECT_FALSE(root_->ensure_line("/var/www/x/canary", "pwned"));
  expect_host_untouched();

  // If the same path exists inside the root, the write lands there.
  ASSERT_TRUE(make_dirs(root_dir_ + host_));
  auto ok = root_->write_file("/var/www/x/canary", "inside\n", {});
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(in_root(host_ + "/canary"), "inside\n");
  expect_host_untouched();
}

TEST_F(RootWriteTest, SymlinkToEtcLandsInTheCellsEtc) {
  plant("/etc", "/var/www/x");
  const std::string name = "cells-rootwrite-test-" + std::to_string(getpid());
  auto r = root_->write_file("/var/www/x/" + name, "cell data\n", {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(in_root("/etc/" + name), "cell data\n");
  EXPECT_FALSE(fs::exists("/etc/" + name));
  if (fs::exists("/etc/" + name)) fs::remove("/etc/" + name);
}

TEST_F(RootWriteTest, RelativeDotDotSymlinkIsConfined) {
  plant("../../..", "/var/www/up");  // climbs to the root, and no further
  auto r = root_->write_file("/var/www/up/top.txt", "top\n", {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(in_root("/top.txt"), "top\n");
  EXPECT_FALSE(fs::exists(base_ + "/top.txt"));

  plant(climb_to_host(), "/var/www/far");
  EXPECT_FALSE(root_->write_file("/var/www/far/canary", "pwned\n", {}));
  EXPECT_FALSE(root_->make_dir("/var/www/far/d", {}));
  expect_host_untouched();
}

TEST_F(RootWriteTest, SymlinkedParentDirectoryIsConfined) {
  plant(host_, "/data");  // a whole parent directory swapped for a link to the host
  EXPECT_FALSE(root_->write_file("/data/new/file", "x\n", {}));
  EXPECT_FALSE(root_->symlink("/etc/passwd", "/data/link"));
  plant(climb_to_host(), "/etc/rel-parent");
  EXPECT_FALSE(root_->write_file("/etc/rel-parent/canary", "pwned\n", {}));
  expect_host_untouched();
}

TEST_F(RootWriteTest, SymlinkAsTheFileItselfIsConfined) {
  plant(host_ + "/canary", "/etc/motd");             // absolute
  plant(climb_to_host() + "/canary", "/etc/issue");  // relative
  EXPECT_FALSE(root_->write_file("/etc/motd", "pwned\n", {}));
  EXPECT_FALSE(root_->write_file("/etc/issue", "pwned\n", {}));
  EXPECT_FALSE(root_->ensure_line("/etc/motd", "pwned"));
  auto read = root_->read("/etc/motd");
  EXPECT_FALSE(read);
  // SYMLINK replaces the planted link itself instead of writing through it.
  auto ln = root_->symlink("/usr/share/motd", "/etc/motd");
  ASSERT_TRUE(ln) << ln.error().message();
  EXPECT_EQ(fs::read_symlink(root_dir_ + "/etc/motd"), "/usr/share/motd");
  expect_host_untouched();
}

TEST_F(RootWriteTest, MagicLinksAreRefused) {
  plant("/proc/self/root" + host_, "/etc/magic");
  EXPECT_FALSE(root_->write_file("/etc/magic/canary", "pwned\n", {}));
  expect_host_untouched();
}

TEST_F(RootWriteTest, LegitimateInRootSymlinksAreWrittenThrough) {
  plant("/var/www", "/srv");           // absolute, in-root parent
  plant("../var/www", "/etc/webroot");  // relative, in-root parent
  ASSERT_TRUE(make_dirs(root_dir_ + "/usr/share"));
  ASSERT_TRUE(write_file_atomic(root_dir_ + "/usr/share/motd", "old\n"));
  plant("/usr/share/motd", "/etc/motd");  // the file itself is an in-root link

  ASSERT_TRUE(root_->write_file("/srv/index.html", "hi\n", {}));
  EXPECT_EQ(in_root("/var/www/index.html"), "hi\n");
  ASSERT_TRUE(root_->write_file("/etc/webroot/b.html", "b\n", {}));
  EXPECT_EQ(in_root("/var/www/b.html"), "b\n");
  ASSERT_TRUE(root_->write_file("/etc/motd", "new\n", {}));
  EXPECT_EQ(in_root("/usr/share/motd"), "new\n");
  EXPECT_TRUE(fs::is_symlink(root_dir_ + "/etc/motd"));  // the link is kept
  ASSERT_TRUE(root_->ensure_line("/etc/motd", "more"));
  EXPECT_EQ(in_root("/usr/share/motd"), "new\nmore\n");
}

TEST_F(RootWriteTest, WritesAreIdempotentAtomicAndApplyAttributes) {
  FileAttrs attrs{0640, "www-data", "www-data"};
  auto first = root_->write_file("/var/www/site/index.html", "hello\n", attrs);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*root_->write_file("/var/www/site/index.html", "hello\n", attrs));
  struct stat st;
  ASSERT_EQ(::stat((root_dir_ + "/var/www/site/index.html").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 33u);
    EXPECT_EQ(st.st_gid, 33u);
  }
  // No attributes given: the existing file keeps its mode and owner.
  ASSERT_TRUE(*root_->write_file("/var/www/site/index.html", "bye\n", {}));
  ASSERT_EQ(::stat((root_dir_ + "/var/www/site/index.html").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  // No temp files are left behind.
  for (const auto& e : fs::directory_iterator(root_dir_ + "/var/www/site")) {
    EXPECT_EQ(e.path().filename(), "index.html");
  }

  auto dir = root_->make_dir("/var/www/a/b", {0750, "33", "www-data"});
  ASSERT_TRUE(dir) << dir.error().message();
  EXPECT_TRUE(*dir);
  EXPECT_FALSE(*root_->make_dir("/var/www/a/b", {0750, "33", "www-data"}));
  ASSERT_EQ(::stat((root_dir_ + "/var/www/a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);

  EXPECT_TRUE(*root_->ensure_line("/etc/hosts", "127.0.0.1 web"));
  EXPECT_FALSE(*root_->ensure_line("/etc/hosts", "127.0.0.1 web"));
  EXPECT_TRUE(*root_->ensure_line("/etc/hosts", "127.0.0.1 we"));  // a prefix is not a match
  EXPECT_EQ(in_root("/etc/hosts"), "127.0.0.1 web\n127.0.0.1 we\n");

  EXPECT_TRUE(*root_->symlink("/var/www", "/srv/www"));
  EXPECT_FALSE(*root_->symlink("/var/www", "/srv/www"));
  EXPECT_TRUE(*root_->symlink("/var/www/a", "/srv/www"));
  EXPECT_EQ(fs::read_symlink(root_dir_ + "/srv/www"), "/var/www/a");
}

TEST_F(RootWriteTest, BadInputsAreRefusedAndChangeNothing) {
  auto unknown = root_->write_file("/etc/x", "x", {std::nullopt, "nobody", std::nullopt});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "write /etc/x: 'nobody' is not in the cell's /etc/passwd");
  EXPECT_FALSE(fs::exists(root_dir_ + "/etc/x"));
  auto rel = root_->write_file("etc/x", "x", {});
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().message(), "write etc/x: 'etc/x' is not an absolute path");
  ASSERT_EQ(mkfifo((root_dir_ + "/etc/fifo").c_str(), 0600), 0);
  auto fifo = root_->read("/etc/fifo");  // must not block
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().message(), "/etc/fifo is not a regular file");
  auto over_dir = root_->write_file("/var/www", "x", {});
  ASSERT_FALSE(over_dir);
  EXPECT_EQ(over_dir.error().message(), "write /var/www: exists and is not a regular file");
}

// Records what the plan asks to run inside the cell.
class FakeRunner : public PlanRunner {
 public:
  Status exec(const std::string& command) override {
    calls.push_back("exec " + command);
    if (command == "false") return Error::invalid("exit status 1");
    return {};
  }
  Status pkg(const std::vector<std::string>& packages) override {
    std::string all;
    for (const auto& p : packages) all += " " + p;
    calls.push_back("pkg" + all);
    return {};
  }
  std::vector<std::string> calls;
};

TEST_F(RootWriteTest, RunsTheExamplePlanTwice) {
  ASSERT_TRUE(write_file_atomic(root_dir_ + "/etc/nsswitch.conf",
                                "passwd: files\nhosts: files dns\n"));
  auto plan = load_plan(data("web.apply"));
  ASSERT_TRUE(plan) << plan.error().message();
  auto tokens = plan_tokens("web", 3, "medium", {{"port", "8080"}});
  ASSERT_TRUE(tokens);
  FakeRunner runner;
  auto first = run_plan(*plan, *root_, *tokens, runner);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->changed, 9u);
  EXPECT_EQ(runner.calls, (std::vector<std::string>{"pkg busybox ca-certificates",
                                                    "exec busybox httpd -t -c /etc/httpd.conf"}));
  EXPECT_EQ(in_root("/etc/httpd.conf"),
            "# httpd.conf for web (cid 3, profile medium)\nH:/var/www/web\nP:8080\n");
  EXPECT_EQ(in_root("/var/www/web/index.html").substr(0, 15), "<!doctype html>");
  EXPECT_EQ(in_root("/etc/nsswitch.conf"), "passwd: files\nhosts: files\n");
  EXPECT_EQ(in_root("/etc/hosts"), "127.0.0.1 web.local\n");
  EXPECT_EQ(fs::read_symlink(root_dir_ + "/srv/www"), "/var/www/web");

  // The second run changes no file; only EXEC and PKG run again (they are the caller's to
  // make idempotent).
  auto second = run_plan(*plan, *root_, *tokens, runner);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->changed, 2u);
  for (const StepOutcome& s : second->steps) {
    EXPECT_EQ(s.changed, s.kind == StepKind::kExec || s.kind == StepKind::kPkg) << s.target;
  }
}

TEST_F(RootWriteTest, UnknownTemplateTokenFailsBeforeAnyWrite) {
  auto plan = load_plan(data("web.apply"));
  ASSERT_TRUE(plan);
  auto tokens = plan_tokens("web", 3, "medium");  // no "port"
  FakeRunner runner;
  auto r = run_plan(*plan, *root_, *tokens, runner);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            data("web.apply") + ":5: TEMPLATE /etc/httpd.conf: web/httpd.conf.tmpl:3: unknown "
            "template token 'port' (known: cell_name, cid, profile)");
  EXPECT_TRUE(runner.calls.empty());
  EXPECT_FALSE(fs::exists(root_dir_ + "/var/www/web"));
}

TEST_F(RootWriteTest, FailingStepNamesPlanLine) {
  auto plan = load_plan_text("/etc/cellmgr/t.apply",
                             "DIR /opt/t\nEXEC false\nFILE_BEGIN /opt/t/after\nx\nFILE_END\n",
                             base_);
  ASSERT_TRUE(plan) << plan.error().message();
  FakeRunner runner;
  auto r = run_plan(*plan, *root_, {}, runner);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "/etc/cellmgr/t.apply:2: EXEC false: exit status 1");
  EXPECT_FALSE(fs::exists(root_dir_ + "/opt/t/after"));

  auto patch = load_plan_text("/etc/cellmgr/t.apply",
                              "PATCH_BEGIN /etc/passwd\n@@\n root:x:0:0:root:/root:/bin/sh\n"
                              "-nobody:x:1:1\n+nobody:x:2:2\nPATCH_END\n",
                              base_);
  ASSERT_TRUE(patch);
  auto conflict = run_plan(*patch, *root_, {}, runner);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().message(),
            "/etc/cellmgr/t.apply:1: PATCH_BEGIN /etc/passwd: /etc/cellmgr/t.apply:2: PATCH hunk "
            "does not apply: neither the original nor the patched text is present");
}

}  // namespace
}  // namespace cells::engine
