#include "kernel/linesplit.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cells::kernel {
namespace {

struct Collect {
  std::vector<std::string> lines;
  LineSplitter::Emit fn() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
};

TEST(LineSplitter, SplitsCompleteLinesAndHoldsPartial) {
  LineSplitter s;
  Collect c;
  s.feed("one\ntwo\nthr", c.fn());
  EXPECT_EQ(c.lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(s.pending(), 3u);
  s.feed("ee\n", c.fn());
  EXPECT_EQ(c.lines.back(), "three");
  EXPECT_EQ(s.pending(), 0u);
}

TEST(LineSplitter, FlushEmitsPartialLastLineOnce) {
  LineSplitter s;
  Collect c;
  s.feed("no newline", c.fn());
  EXPECT_TRUE(c.lines.empty());
  s.flush(c.fn());
  s.flush(c.fn());
  EXPECT_EQ(c.lines, (std::vector<std::string>{"no newline"}));
}

TEST(LineSplitter, CutsOverlongLinesAtTheLimit) {
  LineSplitter s(4);
  Collect c;
  s.feed("abcdefghij\nxy", c.fn());
  EXPECT_EQ(c.lines, (std::vector<std::string>{"abcd", "efgh", "ij"}));
  s.flush(c.fn());
  EXPECT_EQ(c.lines.back(), "xy");
}

TEST(LineSplitter, LineOfExactlyTheLimitIsOneLine) {
  LineSplitter s(4);
  Collect c;
  s.feed("abcd", c.fn());
  s.feed("\n", c.fn());
  EXPECT_EQ(c.lines, (std::vector<std::string>{"abcd"}));
}

TEST(LineSplitter, OverlongLineFedByteByByteIsCut) {
  LineSplitter s;
  Collect c;
  std::string big(3000, 'x');
  for (char ch : big) s.feed(std::string_view(&ch, 1), c.fn());
  s.feed("\n", c.fn());
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[0].size(), 1024u);
  EXPECT_EQ(c.lines[1].size(), 1024u);
  EXPECT_EQ(c.lines[2].size(), 952u);
}

TEST(LineSplitter, DropsCarriageReturnAndKeepsEmptyLines) {
  LineSplitter s;
  Collect c;
  s.feed("a\r\n\nb\n", c.fn());
  EXPECT_EQ(c.lines, (std::vector<std::string>{"a", "", "b"}));
}

}  // namespace
}  // namespace cells::kernel
