// Screen geometry: where the header, status bar, table, detail panel and help lines go for a
// terminal size, and how wide each table column is. An 80x24 terminal stacks the detail panel
// under the table; a wide one (kWideColumns and more) puts it to the right.
#pragma once

#include <string>
#include <vector>

#include "tui/model.h"

namespace cells::tui {

inline constexpr int kMinColumns = 60, kMinLines = 16;
inline constexpr int kWideColumns = 140;
inline constexpr int kColumnGap = 2;

struct Rect {
  int y = 0, x = 0, h = 0, w = 0;
  bool operator==(const Rect&) const = default;
};

struct Layout {
  Rect header, status, table, detail, help;  // table and detail include their borders
  bool wide = false;
  // Rows of the table that fit between its border and header line.
  int table_rows() const { return table.h > 3 ? table.h - 3 : 0; }
};

// DETAIL_LINES is the detail panel's wish (7 in cell mode, 12 in storage mode); on a short
// terminal it shrinks so that the table keeps at least a few rows.
Layout layout_for(int columns, int lines, int detail_lines);

// Column widths for TABLE inside AVAIL columns: each column is as wide as its widest value or
// header; when that does not fit, column FLEX (the name or summary) shrinks down to its header
// width, then columns are dropped from the right (width 0) until the rest fit.
std::vector<int> column_widths(const TextTable& table, int avail, int flex);

// TEXT cut or padded to exactly W columns (a cut value ends in '~' so it is not mistaken for
// the whole name).
std::string fit(const std::string& text, int w);

}  // namespace cells::tui
