// The hostile archive corpus: archives built member by member with libarchive (so they can say
// anything), each restored over a target with old content. Every one must be refused with an
// error naming the problem, the old content must be intact, no staging directory may remain,
// and nothing outside the target may change (canary files and the would-be escape paths).
#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>

#include <gtest/gtest.h>

#include "backup/backup.h"
#include "tests/backup/harness.h"

namespace cells::backup {
namespace {

namespace fs = std::filesystem;
using testing::ScratchRoot;
using testing::snapshot;

struct Member {
  std::string path;
  mode_t type = AE_IFREG;
  std::string data;
  std::string symlink;
  std::string hardlink;
  uint64_t zeros = 0;  // that many zero bytes of data instead of DATA
  dev_t rdev = 0;
};

void write_corpus(const std::string& path, const std::vector<Member>& members) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_add_filter_zstd(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  std::string zero(1 << 20, '\0');
  for (const auto& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.path.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0644);
    if (!m.symlink.empty()) archive_entry_set_symlink(e, m.symlink.c_str());
    if (!m.hardlink.empty()) archive_entry_set_hardlink(e, m.hardlink.c_str());
    if (m.rdev != 0) archive_entry_set_rdev(e, m.rdev);
    uint64_t size = m.zeros > 0 ? m.zeros : m.data.size();
    if (m.type == AE_IFREG && m.hardlink.empty())
      archive_entry_set_size(e, static_cast<la_int64_t>(size));
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (m.zeros > 0) {
      for (uint64_t left = m.zeros; left > 0;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, zero.size()));
        archive_write_data(a, zero.data(), n);
        left -= n;
      }
    } else if (!m.data.empty()) {
      archive_write_data(a, m.data.data(), m.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class Hostile : public testing::BackupTest {
 protected:
  void SetUp() override {
    testing::BackupTest::SetUp();
    if (HasFatalFailure()) return;
    fs::create_directories(root_ / "corpus");
    fs::create_directories(root_ / "outside");
    testing::write_text(root_ / "outside/canary", "canary");
    fs::create_directories(target_ + "/keep");
    testing::write_text(target_ + "/keep/old.txt", "old content");
    ::stat("/etc/shadow", &shadow_);
    target_before_ = snapshot(target_);
    outside_before_ = snapshot(root_ / "outside");
  }

  // Restores the corpus archive NAME (unrecorded) and checks the refusal and that nothing moved.
  void expect_refused(const std::string& name, const std::vector<Member>& members,
                      const std::string& message_part, Kind kind = Kind::kVolume,
                      RestoreOptions options = {}) {
    std::string archive = root_ / ("corpus/" + name + ".tar.zst");
    write_corpus(archive, members);
    options.allow_unrecorded = true;
    auto r = backups_->restore(kind, "data", archive, target_, options);
    ASSERT_FALSE(r.ok()) << name << " was not refused";
    EXPECT_NE(r.error().message().find(message_part), std::string::npos)
        << name << ": " << r.error().message();
    EXPECT_EQ(r.error().message().find('\n'), std::string::npos);  // one line
    check_untouched(name);
  }

  void check_untouched(const std::string& name) {
    EXPECT_EQ(snapshot(target_), target_before_) << name;
    EXPECT_EQ(snapshot(root_ / "outside"), outside_before_) << name;
    EXPECT_EQ(testing::read_text(root_ / "outside/canary"), "canary");
    for (const auto& e : fs::directory_iterator(root_.path)) {
      EXPECT_EQ(e.path().filename().string().find(".restore-"), std::string::npos) << name;
    }
    EXPECT_FALSE(fs::exists(root_ / "x"));
    EXPECT_FALSE(fs::exists(root_.path + "/../x"));
    struct stat now {};
    ::stat("/etc/shadow", &now);
    EXPECT_EQ(now.st_nlink, shadow_.st_nlink);
    EXPECT_EQ(now.st_mtim.tv_nsec, shadow_.st_mtim.tv_nsec);
  }

  std::string target_ = root_ / "target";
  std::map<std::string, std::string> target_before_, outside_before_;
  struct stat shadow_ {};
};

TEST_F(Hostile, TarSlip) {
  expect_refused("slip", {{.path = "ok.txt", .data = "fine"}, {.path = "../../x", .data = "pwned"}},
                 "entry '../../x' has a '..' component");
  expect_refused("slip2", {{.path = "a/../../x", .data = "pwned"}}, "'..' component");
}

TEST_F(Hostile, AbsolutePath) {
  expect_refused("abs", {{.path = root_ / "outside/abs-pwned", .data = "pwned"}},
                 "has an absolute path");
}

TEST_F(Hostile, SymlinkThenFileThroughIt) {
  // A volume refuses the escaping symlink itself.
  expect_refused("symlink-out",
                 {{.path = "esc", .type = AE_IFLNK, .symlink = "../outside"},
                  {.path = "esc/pwned", .data = "pwned"}},
                 "symlink 'esc' -> '../outside' points outside the target");
  // An overlay allows absolute symlinks (they resolve inside the cell), but never a write
  // through one.
  expect_refused("symlink-abs",
                 {{.path = "esc", .type = AE_IFLNK, .symlink = root_ / "outside"},
                  {.path = "esc/pwned", .data = "pwned"}},
                 "entry 'esc/pwned' lies below the symlink 'esc'", Kind::kOverlay);
  // A file member at the path of an earlier symlink member would overwrite the link's target.
  expect_refused("symlink-replaced",
                 {{.path = "l", .type = AE_IFLNK, .symlink = root_ / "outside/canary"},
                  {.path = "l", .data = "pwned"}},
                 "entry 'l' replaces the earlier symlink 'l'", Kind::kOverlay);
  // Even a symlink that stays inside may not be written through.
  expect_refused("symlink-in",
                 {{.path = "sub", .type = AE_IFDIR},
                  {.path = "in", .type = AE_IFLNK, .symlink = "sub"},
                  {.path = "in/x", .data = "through"}},
                 "lies below the symlink 'in'");
}

TEST_F(Hostile, HardLinkToEtcShadow) {
  expect_refused("hardlink-abs", {{.path = "shadow", .hardlink = "/etc/shadow"}},
                 "hard link 'shadow' -> '/etc/shadow' points outside the target");
  expect_refused("hardlink-dotdot",
                 {{.path = "shadow", .hardlink = "../../../../../../etc/shadow"}},
                 "'..' component");
  expect_refused("hardlink-unknown", {{.path = "shadow", .hardlink = "etc/shadow"}},
                 "does not name an earlier file of the archive");
}

TEST_F(Hostile, DeviceNodes) {
  expect_refused("chardev", {{.path = "null", .type = AE_IFCHR, .rdev = makedev(1, 3)}},
                 "entry 'null' is a device node");
  expect_refused("blockdev", {{.path = "sda", .type = AE_IFBLK, .rdev = makedev(8, 0)}},
                 "entry 'sda' is a device node");
}

TEST_F(Hostile, DevicesAllowedWhenAskedFor) {
  std::string archive = root_ / "corpus/dev-ok.tar.zst";
  write_corpus(archive, {{.path = "null", .type = AE_IFCHR, .rdev = makedev(1, 3)}});
  RestoreOptions o;
  o.allow_unrecorded = true;
  o.allow_devices = true;
  auto r = backups_->restore(Kind::kVolume, "data", archive, root_ / "devs", o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "devs/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(Hostile, DecompressionBomb) {
  RestoreOptions o;
  o.max_bytes = 16 << 20;
  expect_refused("bomb", {{.path = "bomb", .zeros = 256ull << 20}}, "decompression bomb",
                 Kind::kVolume, o);
  EXPECT_LT(fs::file_size(root_ / "corpus/bomb.tar.zst"), 1u << 20);
}

TEST_F(Hostile, TruncatedZstd) {
  testing::make_rich_tree(root_ / "src");
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  std::string cut = root_ / "corpus/truncated.tar.zst";
  fs::copy_file(made->path, cut);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  RestoreOptions o;
  o.allow_unrecorded = true;
  auto r = backups_->restore(Kind::kVolume, "data", cut, target_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt) << r.error().message();
  EXPECT_NE(r.error().message().find(cut), std::string::npos) << r.error().message();
  check_untouched("truncated");
}

TEST_F(Hostile, ArchiveModifiedAfterItsRecord) {
  testing::make_rich_tree(root_ / "src");
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  auto other = backups_->create(Kind::kVolume, "data", root_ / "src/sub/deeper", {});
  ASSERT_TRUE(other.ok()) << other.error().message();
  // A different, well-formed archive under the recorded name: only the checksum catches it.
  fs::copy_file(other->path, made->path, fs::copy_options::overwrite_existing);
  auto r = backups_->restore(Kind::kVolume, "data", made->record.file, target_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("was modified after it was recorded"), std::string::npos)
      << r.error().message();
  check_untouched("swapped");
  auto v = backups_->verify(Kind::kVolume, made->record.file);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().kind(), ErrorKind::kCorrupt);

  // One flipped byte in the recorded archive.
  std::string path = other->path;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path) / 2));
    f.put('\x5a');
  }
  r = backups_->restore(Kind::kVolume, "data", other->record.file, target_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt) << r.error().message();
  check_untouched("flipped");
}

}  // namespace
}  // namespace cells::backup
