#include "tui/theme.h"

#include <gtest/gtest.h>

#include <set>

namespace cells::tui {
namespace {

TEST(Theme, CollectionHasTheSixReferenceThemesWithDistinctNames) {
  std::set<std::string> names;
  for (const auto& t : themes()) names.insert(std::string(t.name));
  EXPECT_EQ(names, (std::set<std::string>{"sysinst", "mc", "amber-monitor", "green-monitor",
                                          "mono-gray", "synthwave-80s"}));
  EXPECT_EQ(themes().front().name, "sysinst");  // the default
}

TEST(Theme, FindThemeNamesTheBadOneAndTheValidOnes) {
  EXPECT_EQ(*find_theme("mc"), 1u);
  auto bad = find_theme("neon");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            "unknown theme 'neon' (themes: sysinst, mc, amber-monitor, green-monitor, mono-gray, "
            "synthwave-80s)");
}

TEST(Theme, SysinstIsWhiteOnInstallerBlue) {
  const Theme& t = themes()[0];
  EXPECT_EQ(hex(t.at(Role::kPageBg)), "#0000AA");
  EXPECT_EQ(hex(t.at(Role::kPageFg)), "#FFFFFF");
}

TEST(Theme, DepthFollowsTheTerminal) {
  EXPECT_EQ(depth_for(true, 256), Depth::kExact);
  EXPECT_EQ(depth_for(true, 64), Depth::kExact);
  EXPECT_EQ(depth_for(true, 16), Depth::k8);  // cannot program enough colours
  EXPECT_EQ(depth_for(false, 256), Depth::k256);
  EXPECT_EQ(depth_for(false, 8), Depth::k8);
  EXPECT_EQ(depth_for(false, 0), Depth::kMono);
}

TEST(Theme, Xterm256CubeAndGreyRamp) {
  EXPECT_EQ(xterm256_rgb(16), (Rgb{0, 0, 0}));
  EXPECT_EQ(xterm256_rgb(231), (Rgb{255, 255, 255}));
  EXPECT_EQ(xterm256_rgb(21), (Rgb{0, 0, 255}));
  EXPECT_EQ(xterm256_rgb(232), (Rgb{8, 8, 8}));
  EXPECT_EQ(xterm256_rgb(255), (Rgb{238, 238, 238}));
  // Exact cube members map to themselves; near values to their neighbour.
  EXPECT_EQ(nearest_xterm256({0, 0, 255}), 21);
  EXPECT_EQ(nearest_xterm256({255, 175, 0}), 214);
  EXPECT_EQ(nearest_xterm256({0xFF, 0xB0, 0x00}), 214);  // amber
  EXPECT_EQ(nearest_xterm256({0, 0, 0xAA}), 19);          // sysinst blue -> 0,0,175
  EXPECT_EQ(nearest_xterm256({0x1C, 0x1C, 0x1C}), 234);   // a grey goes to the ramp
}

TEST(Theme, Basic8PicksTheClosestAnsiColour) {
  EXPECT_EQ(nearest_basic8({0, 0, 0xAA}), 4);     // blue
  EXPECT_EQ(nearest_basic8({0xFF, 0xB0, 0}), 3);  // amber -> yellow
  EXPECT_EQ(nearest_basic8({0x33, 0xFF, 0x33}), 2);
  EXPECT_EQ(nearest_basic8({0xFF, 0xFF, 0xFF}), 7);
  EXPECT_EQ(nearest_basic8({0x24, 0x1B, 0x2F}), 0);  // synthwave night -> black
}

TEST(Theme, FallbackNeverLosesTextAgainstItsBackground) {
  // Two different greys collapse onto black in 8 colours: the text becomes white.
  Pair p = fallback_pair({0x3A, 0x3A, 0x3A}, {0x1C, 0x1C, 0x1C}, Depth::k8);
  EXPECT_EQ(p, (Pair{7, 0}));
  // Light on light: the text becomes black.
  p = fallback_pair({0xEE, 0xEE, 0xEE}, {0xC6, 0xC6, 0xC6}, Depth::k8);
  EXPECT_EQ(p, (Pair{0, 7}));
  // Every theme keeps every style readable in 8 and 256 colours.
  for (const auto& t : themes())
    for (int r = 0; r < kRoleCount; ++r)
      for (int b : {static_cast<int>(Role::kPageBg), static_cast<int>(Role::kPanelBg)}) {
        if (t.colours[r] == t.colours[b]) continue;
        for (Depth d : {Depth::k8, Depth::k256}) {
          Pair q = fallback_pair(t.colours[r], t.colours[b], d);
          EXPECT_NE(q.fg, q.bg) << t.name << " role " << r;
        }
      }
}

TEST(Theme, RcFileReadsAndRewritesOnlyTheThemeLine) {
  EXPECT_EQ(rc_theme(""), std::nullopt);
  EXPECT_EQ(rc_theme("theme=mc\n"), "mc");
  EXPECT_EQ(rc_theme("# mine\n theme = green-monitor \nother=1\n"), "green-monitor");
  EXPECT_EQ(rc_theme("theme=mc\ntheme=mono-gray\n"), "mono-gray");  // the last one wins
  EXPECT_EQ(rc_with_theme("", "mc"), "theme=mc\n");
  EXPECT_EQ(rc_with_theme("# mine\ntheme=mc\nother=1\n", "synthwave-80s"),
            "# mine\nother=1\ntheme=synthwave-80s\n");
}

}  // namespace
}  // namespace cells::tui
