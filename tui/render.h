// Drawing: the whole screen is rendered into a Canvas (a grid of characters with a style
// each) from the Ui state alone; term.cc copies the canvas to curses. Tests read the canvas
// as text, so layout, tables, dialogs and help lines are checked without a terminal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tui/layout.h"
#include "tui/theme.h"
#include "tui/ui.h"

namespace cells::tui {

// What a screen element is; each style is a foreground and a background role of the theme.
enum class Style : int {
  kPage, kHeader, kHeaderMode, kSubheader, kHelp, kHelpKey, kHelpSep, kPanel, kBorder,
  kTableHeader, kSelected, kError, kRunning, kStopped, kState, kDialog, kDialogTitle,
};
inline constexpr int kStyleCount = 17;
struct StyleRoles {
  Role fg, bg;
};
StyleRoles style_roles(Style s);

// Line-drawing glyphs; term.cc draws them with the terminal's alternate character set.
namespace glyph {
inline constexpr char32_t kHLine = 0x2500, kVLine = 0x2502, kUpperLeft = 0x250C,
                          kUpperRight = 0x2510, kLowerLeft = 0x2514, kLowerRight = 0x2518;
}

struct Cell {
  char32_t ch = ' ';
  Style style = Style::kPage;
  bool operator==(const Cell&) const = default;
};

class Canvas {
 public:
  Canvas(int columns, int lines);
  int columns() const { return w_; }
  int lines() const { return h_; }
  const Cell& at(int y, int x) const { return cells_[y * w_ + x]; }

  void fill(Rect r, Style s);
  // TEXT from (Y, X), at most MAX columns (to the right edge when negative). Bytes outside
  // printable ASCII show as '?', so a hostile name cannot send escape sequences.
  void text(int y, int x, const std::string& text, Style s, int max = -1);
  void box(Rect r, Style border, Style inside, const std::string& title);

  // Row Y as plain text (line glyphs as '-', '|', '+'), trailing blanks removed.
  std::string row(int y) const;
  std::string dump() const;  // all rows, newline-terminated

 private:
  int w_, h_;
  std::vector<Cell> cells_;
};

// Everything on screen for UI at NOW_MS. HEADER_RIGHT names where cellui is connected
// ("root /tmp/x", "host web1").
void render(const Ui& ui, const std::string& header_right, int64_t now_ms, Canvas& canvas);

// The layout render() uses for UI's mode on a canvas of this size.
Layout layout_of(const Ui& ui, int columns, int lines);

}  // namespace cells::tui
