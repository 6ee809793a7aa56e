#include "tui/layout.h"

#include <algorithm>
#include <numeric>

namespace cells::tui {

Layout layout_for(int columns, int lines, int detail_lines) {
  Layout l;
  l.header = {0, 0, 1, columns};
  l.status = {1, 0, 1, columns};
  l.help = {lines - 2, 0, 2, columns};
  int body_top = 2, body_h = std::max(0, lines - 4);
  l.wide = columns >= kWideColumns;
  if (l.wide) {
    // Side by side: the table keeps the columns it needs at most (about 100), the detail
    // panel takes the rest, both full height.
    int detail_w = std::max(40, columns - 100);
    l.table = {body_top, 0, body_h, columns - detail_w};
    l.detail = {body_top, columns - detail_w, body_h, detail_w};
    return l;
  }
  // Stacked: the table keeps at least three rows (border, header, three rows, border).
  int detail_h = std::min(detail_lines + 2, std::max(0, body_h - 6));
  l.table = {body_top, 0, body_h - detail_h, columns};
  l.detail = {body_top + body_h - detail_h, 0, detail_h, columns};
  return l;
}

std::vector<int> column_widths(const TextTable& table, int avail, int flex) {
  const size_t n = table.headers.size();
  std::vector<int> w(n);
  for (size_t i = 0; i < n; ++i) {
    w[i] = static_cast<int>(table.headers[i].size());
    for (const auto& row : table.rows)
      if (i < row.size()) w[i] = std::max(w[i], static_cast<int>(row[i].size()));
  }
  auto total = [&] {
    int sum = 0, shown = 0;
    for (int x : w) sum += x, shown += x > 0;
    return sum + kColumnGap * std::max(0, shown - 1);
  };
  if (total() > avail && flex >= 0 && static_cast<size_t>(flex) < n) {
    int floor = static_cast<int>(table.headers[flex].size());
    w[flex] = std::max(floor, w[flex] - (total() - avail));
  }
  for (size_t i = n; i-- > 1 && total() > avail;) w[i] = 0;
  // The last column may take what is left (a long summary reads better than a cut one).
  if (n && flex == static_cast<int>(n) - 1 && w[flex] > 0 && total() < avail)
    w[flex] += avail - total();
  return w;
}

std::string fit(const std::string& text, int w) {
  if (w <= 0) return "";
  if (static_cast<int>(text.size()) <= w) return text + std::string(w - text.size(), ' ');
  return text.substr(0, w - 1) + "~";
}

}  // namespace cells::tui
