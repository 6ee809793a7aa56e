// Themes: 21 colour roles per theme as exact RGB, and the fallback that picks what the
// terminal can show (anchor-cells.md section 6). Pure code: nothing here touches curses, so the
// colour arithmetic and the ~/.celluirc format are unit-tested without a terminal.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cells::tui {

// The colour roles a theme defines. Foreground and background of one screen element are
// separate roles so that a theme can give, say, the header its own background.
enum class Role : int {
  kPageBg, kPageFg,
  kHeaderBg, kHeaderFg,
  kSubheaderFg,
  kHelpBg, kHelpFg, kKeyFg, kHelpSepFg,
  kPanelBg, kPanelFg, kBorderFg,
  kTableHeaderFg,
  kSelectedBg, kSelectedFg,
  kErrorBg, kErrorFg,
  kRunningFg, kStoppedFg, kStateFg,
  kDialogBg,
};
inline constexpr int kRoleCount = 21;

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

struct Theme {
  std::string_view name;
  std::array<Rgb, kRoleCount> colours;
  Rgb at(Role r) const { return colours[static_cast<int>(r)]; }
};

// The theme collection, the default (sysinst) first; `m` rotates through it in this order.
const std::vector<Theme>& themes();
// The index of NAME, or an error naming it and listing the valid names.
Result<size_t> find_theme(std::string_view name);

// What the terminal can show. kExact: the RGB values are programmed (can_change_color() and
// at least 64 colours); k256: nearest xterm-256 index; k8: nearest of the eight ANSI colours;
// kMono: no colour at all (attributes only).
enum class Depth { kExact, k256, k8, kMono };
Depth depth_for(bool can_change_color, int colors);

// Nearest colour of the xterm-256 cube (16..231) and grey ramp (232..255). The first 16 are
// left out because terminals disagree about their RGB values.
int nearest_xterm256(Rgb c);
// RGB of xterm-256 index I (16..255).
Rgb xterm256_rgb(int i);
// Nearest of the eight ANSI colours (COLOR_BLACK..COLOR_WHITE numbering).
int nearest_basic8(Rgb c);

// A foreground/background pair in the terminal's numbering. Fallback can map two distinct
// colours onto the same index; the foreground then becomes black or white, whichever stands
// out more against the background, so text never disappears.
struct Pair {
  int fg = 0, bg = 0;
  bool operator==(const Pair&) const = default;
};
Pair fallback_pair(Rgb fg, Rgb bg, Depth depth);

// "#RRGGBB" for docs and tests.
std::string hex(Rgb c);

// ~/.celluirc: "key=value" lines; only `theme` is read. Other lines are kept on rewrite so that
// a later version's keys survive an older cellui.
std::optional<std::string> rc_theme(std::string_view rc_text);
std::string rc_with_theme(std::string_view rc_text, std::string_view theme);
// $HOME/.celluirc, or empty when HOME is unset (the theme is then not persisted).
std::string rc_path();

}  // namespace cells::tui
