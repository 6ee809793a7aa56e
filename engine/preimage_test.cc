#include "engine/preimage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "base/files.h"
#include "engine/plan_exec.h"

namespace cells::engine {
namespace {

namespace fs = std::filesystem;

// Every entry under DIR with what a restore must bring back: type, mode, owner, content or
// link target, and extended attributes.
std::map<std::string, std::string> walk(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string p = e.path().string();
    struct stat st;
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    std::string d = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                    std::to_string(st.st_gid);
    if (S_ISREG(st.st_mode)) d += " " + read_file(p).value_or("?");
    if (S_ISLNK(st.st_mode)) d += " -> " + fs::read_symlink(p).string();
    char names[1024];
    ssize_t n = ::llistxattr(p.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n; i += ssize_t(std::strlen(names + i)) + 1) {
      char value[256];
      ssize_t v = ::lgetxattr(p.c_str(), names + i, value, sizeof value);
      d += std::string(" x:") + (names + i) + "=" + std::string(value, size_t(std::max<ssize_t>(v, 0)));
    }
    out[p.substr(dir.size())] = d;
  }
  return out;
}

class PreimageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-preimage-test-XXXXXX";
    base_ = mkdtemp(tmpl);
    root_dir_ = base_ + "/root";
    ASSERT_TRUE(make_dirs(root_dir_ + "/etc/nginx"));
    ASSERT_TRUE(make_dirs(root_dir_ + "/var/www"));
    ASSERT_TRUE(write_file_atomic(root_dir_ + "/etc/nginx/edge.conf", "listen 8080;\n", 0640));
    ASSERT_EQ(::chown((root_dir_ + "/etc/nginx/edge.conf").c_str(), 33, 44), 0);
    ASSERT_EQ(::setxattr((root_dir_ + "/etc/nginx/edge.conf").c_str(), "user.origin", "plan", 4, 0), 0);
    ASSERT_TRUE(write_file_atomic(root_dir_ + "/var/www/real.html", "real\n", 0644));
    ASSERT_EQ(::symlink("real.html", (root_dir_ + "/var/www/index.html").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/old", (root_dir_ + "/etc/current").c_str()), 0);
    ASSERT_EQ(::chmod((root_dir_ + "/var/www").c_str(), 0750), 0);
    auto root = CellRoot::open(root_dir_);
    ASSERT_TRUE(root) << root.error().message();
    root_.emplace(std::move(*root));
  }
  void TearDown() override { fs::remove_all(base_); }

  LoadedPlan plan(const std::string& text) {
    auto p = load_plan_text("/etc/cellmgr/edge.apply", text, base_);
    EXPECT_TRUE(p) << p.error().message();
    return p ? *p : LoadedPlan{};
  }

  std::string base_, root_dir_;
  std::optional<CellRoot> root_;
};

class NoRunner : public PlanRunner {
 public:
  Status exec(const std::string&) override { return Error::invalid("no EXEC in a live plan"); }
  Status pkg(const std::vector<std::string>&) override { return Error::invalid("no PKG"); }
};

// Every kind of write a live plan makes, undone: a changed file (mode, owner and xattr back),
// a file written through an in-root symlink, a replaced symlink, a directory's mode, a new
// directory tree, a LINE and a PATCH of the same file.
TEST_F(PreimageTest, RestoreUndoesEveryHostSideStepExactly) {
  const auto before = walk(root_dir_);
  auto p = plan(
      "FILE_BEGIN /etc/nginx/edge.conf mode=0600 owner=0\nbroken;\nFILE_END\n"
      "FILE_BEGIN /var/www/index.html\nnew\nFILE_END\n"
      "SYMLINK /etc/new /etc/current\n"
      "DIR /var/www mode=0755\n"
      "DIR /srv/site/static\n"
      "FILE_BEGIN /srv/site/static/a.css\nbody{}\nFILE_END\n"
      "LINE /etc/nginx/edge.conf | worker_processes 1;\n"
      "PATCH_BEGIN /etc/nginx/edge.conf\n@@\n-broken;\n+fixed;\n worker_processes 1;\nPATCH_END\n");
  auto images = capture_preimage(p.plan, *root_);
  ASSERT_TRUE(images) << images.error().message();
  // One image per entry: the link's target (not the link), the missing /srv for all below it.
  std::vector<std::string> paths;
  for (const auto& e : *images) paths.push_back(e.path);
  ASSERT_EQ(paths, (std::vector<std::string>{"/etc/nginx/edge.conf", "/var/www/real.html",
                                             "/etc/current", "/var/www", "/srv"}));
  EXPECT_EQ((*images)[0].xattrs.size(), 1u);
  EXPECT_EQ((*images)[4].kind, EntryImage::Kind::kAbsent);

  NoRunner runner;
  auto ran = run_plan(p, *root_, {}, runner);
  ASSERT_TRUE(ran) << ran.error().message();
  ASSERT_NE(walk(root_dir_), before);
  EXPECT_EQ(read_file(root_dir_ + "/etc/nginx/edge.conf").value_or(""), "fixed;\nworker_processes 1;\n");

  Preimage pre{7, *images};
  ASSERT_TRUE(restore_preimage(*root_, pre));
  EXPECT_EQ(walk(root_dir_), before);
  // Idempotent: recovery may restore a second time after a crash in the first.
  ASSERT_TRUE(restore_preimage(*root_, pre));
  EXPECT_EQ(walk(root_dir_), before);
}

TEST_F(PreimageTest, PlansThatRunCommandsAreNotLive) {
  auto p = plan("FILE_BEGIN /etc/x\nx\nFILE_END\nEXEC nginx -t\n");
  EXPECT_FALSE(plan_is_live(p.plan));
  auto images = capture_preimage(p.plan, *root_);
  ASSERT_FALSE(images);
  EXPECT_EQ(images.error().kind(), ErrorKind::kInvalid);
  EXPECT_EQ(images.error().message(),
            "/etc/cellmgr/edge.apply: EXEC and PKG steps cannot be applied to a running cell");
  EXPECT_TRUE(plan_is_live(plan("DIR /a\nSYMLINK /a /b\n").plan));
}

// A planted link that points out of the root is resolved inside it, like every write.
TEST_F(PreimageTest, ImagesStayInsideTheRoot) {
  ASSERT_EQ(::symlink("../../..", (root_dir_ + "/var/www/up").c_str()), 0);
  auto img = root_->image("/var/www/up/etc/nginx/edge.conf", true);
  ASSERT_TRUE(img) << img.error().message();
  EXPECT_EQ(img->kind, EntryImage::Kind::kFile);
  EXPECT_EQ(img->data, "listen 8080;\n");
  // A file written through a link that leads nowhere cannot be written (link targets get no
  // directories), so it has no image either: the link itself is not what changes.
  ASSERT_EQ(::symlink("/nowhere/x", (root_dir_ + "/etc/dangling").c_str()), 0);
  auto dangling = root_->image("/etc/dangling", true);
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error().message(),
            "image of /etc/dangling: a symlink in it leads to a missing directory");
  auto link_itself = root_->image("/etc/dangling", false);
  ASSERT_TRUE(link_itself) << link_itself.error().message();
  EXPECT_EQ(link_itself->kind, EntryImage::Kind::kSymlink);
  EXPECT_EQ(link_itself->data, "/nowhere/x");
  auto fifo_path = root_dir_ + "/etc/fifo";
  ASSERT_EQ(::mkfifo(fifo_path.c_str(), 0600), 0);
  auto fifo = root_->image("/etc/fifo", true);
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().message(),
            "image of /etc/fifo: /etc/fifo is neither a file, a symlink nor a directory");
}

TEST_F(PreimageTest, FileRoundTripsAndRefusesDamage) {
  auto images = capture_preimage(plan("FILE_BEGIN /etc/nginx/edge.conf\nx\nFILE_END\n"
                                      "DIR /new/dir\n").plan,
                                 *root_);
  ASSERT_TRUE(images);
  Preimage p{42, *images};
  const std::string file = base_ + "/preimage";
  ASSERT_TRUE(save_preimage(file, p));
  auto back = load_preimage(file);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(*back);
  EXPECT_EQ(**back, p);

  // Every truncation is refused as corrupt, never half-read.
  const std::string bytes = encode_preimage(p);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto cut = decode_preimage(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(cut) << n;
    EXPECT_EQ(cut.error().kind(), ErrorKind::kCorrupt) << n;
  }
  auto longer = decode_preimage(bytes + "x");
  ASSERT_FALSE(longer);
  EXPECT_EQ(longer.error().message(), "preimage: bad length");

  ASSERT_TRUE(drop_preimage(file));
  auto none = load_preimage(file);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_TRUE(drop_preimage(file));  // nothing to drop is fine
}

}  // namespace
}  // namespace cells::engine
