#include "backup/naming.h"

#include <gtest/gtest.h>

namespace cells::backup {
namespace {

TEST(Naming, ArchiveNamesRoundTrip) {
  ArchiveName n = make_archive_name("data", 1795325398, 0);  // 2026-11-22 05:29:58 UTC
  EXPECT_EQ(n.file(), "data_20261122052958.tar.zst");
  n.seq = 2;
  EXPECT_EQ(n.file(), "data_20261122052958-2.tar.zst");
  auto p = parse_archive_file(n.file());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "data");
  EXPECT_EQ(p->timestamp, "20261122052958");
  EXPECT_EQ(p->seq, 2u);
  auto u = parse_archive_file("my_vol_20261122052958.tar.zst");  // '_' inside the name
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "my_vol");
}

TEST(Naming, RejectsNonArchives) {
  for (const char* f : {"data_20261122052958.tar.zst.partial", "data_20261122052958.tar",
                        "data_2026112205295.tar.zst", "data_20261122052958-0.tar.zst",
                        "data_20261122052958-x.tar.zst", "_20261122052958.tar.zst",
                        "data20261122052958.tar.zst", ".x_20261122052958.tar.zst", ".tar.zst"}) {
    EXPECT_FALSE(parse_archive_file(f)) << f;
  }
}

TEST(Naming, NewestFirstOrder) {
  auto a = *parse_archive_file("d_20261122052958.tar.zst");
  auto b = *parse_archive_file("d_20261122052958-1.tar.zst");
  auto c = *parse_archive_file("d_20261122053000.tar.zst");
  EXPECT_TRUE(b.newer_than(a));
  EXPECT_TRUE(c.newer_than(b));
  EXPECT_FALSE(a.newer_than(a));
}

TEST(Naming, ValidateName) {
  EXPECT_TRUE(validate_name("web-1.data_x").ok());
  for (const char* bad : {"", ".hidden", "-opt", "a/b", "a b", "x\n"}) {
    auto st = validate_name(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().kind(), ErrorKind::kInvalid);
  }
  EXPECT_FALSE(validate_name(std::string(65, 'a')).ok());
}

TEST(Naming, RecordRoundTripAndCorruption) {
  ArchiveRecord r{Kind::kOverlay, "web", "web_20261122052958.tar.zst", 1234, "ab", 9, 77, 5};
  auto back = decode_record(encode_record(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, Kind::kOverlay);
  EXPECT_EQ(back->file, r.file);
  EXPECT_EQ(back->size, 1234u);
  EXPECT_EQ(back->generation, 9u);
  EXPECT_EQ(back->freeze_ns, 77);
  auto bad = decode_record("{\"kind\":\"volume\"}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(bad.error().message().find("name"), std::string::npos);
  EXPECT_FALSE(decode_record("not json").ok());
  std::string wrong = encode_record(r);
  wrong.replace(wrong.find("overlay"), 7, "printer");
  EXPECT_FALSE(decode_record(wrong).ok());
}

TEST(Naming, Targets) {
  EXPECT_EQ(journal_target(Kind::kVolume, "data"), "volume/data");
  EXPECT_EQ(journal_target(Kind::kOverlay, "web"), "cell/web/overlay");
  EXPECT_FALSE(parse_kind("tape").ok());
}

}  // namespace
}  // namespace cells::backup
