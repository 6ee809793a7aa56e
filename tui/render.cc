#include "tui/render.h"

#include <algorithm>

namespace cells::tui {

StyleRoles style_roles(Style s) {
  switch (s) {
    case Style::kPage: return {Role::kPageFg, Role::kPageBg};
    case Style::kHeader: return {Role::kHeaderFg, Role::kHeaderBg};
    case Style::kHeaderMode: return {Role::kHeaderBg, Role::kHeaderFg};  // the active tab, inverted
    case Style::kSubheader: return {Role::kSubheaderFg, Role::kPageBg};
    case Style::kHelp: return {Role::kHelpFg, Role::kHelpBg};
    case Style::kHelpKey: return {Role::kKeyFg, Role::kHelpBg};
    case Style::kHelpSep: return {Role::kHelpSepFg, Role::kHelpBg};
    case Style::kPanel: return {Role::kPanelFg, Role::kPanelBg};
    case Style::kBorder: return {Role::kBorderFg, Role::kPanelBg};
    case Style::kTableHeader: return {Role::kTableHeaderFg, Role::kPanelBg};
    case Style::kSelected: return {Role::kSelectedFg, Role::kSelectedBg};
    case Style::kError: return {Role::kErrorFg, Role::kErrorBg};
    case Style::kRunning: return {Role::kRunningFg, Role::kPanelBg};
    case Style::kStopped: return {Role::kStoppedFg, Role::kPanelBg};
    case Style::kState: return {Role::kStateFg, Role::kPanelBg};
    case Style::kDialog: return {Role::kPanelFg, Role::kDialogBg};
    case Style::kDialogTitle: return {Role::kSubheaderFg, Role::kDialogBg};
  }
  return {Role::kPageFg, Role::kPageBg};
}

Canvas::Canvas(int columns, int lines)
    : w_(std::max(columns, 1)), h_(std::max(lines, 1)), cells_(w_ * h_) {}

void Canvas::fill(Rect r, Style s) {
  for (int y = std::max(r.y, 0); y < std::min(r.y + r.h, h_); ++y)
    for (int x = std::max(r.x, 0); x < std::min(r.x + r.w, w_); ++x) cells_[y * w_ + x] = {' ', s};
}

void Canvas::text(int y, int x, const std::string& text, Style s, int max) {
  if (y < 0 || y >= h_) return;
  int limit = max < 0 ? w_ - x : std::min(max, w_ - x);
  for (int i = 0; i < static_cast<int>(text.size()) && i < limit; ++i) {
    if (x + i < 0) continue;
    unsigned char c = static_cast<unsigned char>(text[i]);
    cells_[y * w_ + x + i] = {c >= 0x20 && c < 0x7f ? char32_t(c) : char32_t('?'), s};
  }
}

void Canvas::box(Rect r, Style border, Style inside, const std::string& title) {
  if (r.h < 2 || r.w < 2) return;
  fill(r, inside);
  auto put = [&](int y, int x, char32_t ch) {
    if (y >= 0 && y < h_ && x >= 0 && x < w_) cells_[y * w_ + x] = {ch, border};
  };
  for (int x = r.x + 1; x < r.x + r.w - 1; ++x) put(r.y, x, glyph::kHLine), put(r.y + r.h - 1, x, glyph::kHLine);
  for (int y = r.y + 1; y < r.y + r.h - 1; ++y) put(y, r.x, glyph::kVLine), put(y, r.x + r.w - 1, glyph::kVLine);
  put(r.y, r.x, glyph::kUpperLeft);
  put(r.y, r.x + r.w - 1, glyph::kUpperRight);
  put(r.y + r.h - 1, r.x, glyph::kLowerLeft);
  put(r.y + r.h - 1, r.x + r.w - 1, glyph::kLowerRight);
  if (!title.empty() && r.w > 6) text(r.y, r.x + 2, " " + title + " ", border, r.w - 4);
}

std::string Canvas::row(int y) const {
  std::string out;
  for (int x = 0; x < w_; ++x) {
    char32_t c = at(y, x).ch;
    switch (c) {
      case glyph::kHLine: out += '-'; break;
      case glyph::kVLine: out += '|'; break;
      case glyph::kUpperLeft:
      case glyph::kUpperRight:
      case glyph::kLowerLeft:
      case glyph::kLowerRight: out += '+'; break;
      default: out += c < 0x80 ? static_cast<char>(c) : '?';
    }
  }
  out.erase(out.find_last_not_of(' ') + 1);
  return out;
}

std::string Canvas::dump() const {
  std::string out;
  for (int y = 0; y < h_; ++y) out += row(y) + "\n";
  return out;
}

Layout layout_of(const Ui& ui, int columns, int lines) {
  int detail = ui.mode() == Mode::kCells ? 7 : ui.mode() == Mode::kStorage ? 12 : 3;
  return layout_for(columns, lines, detail);
}

namespace {

// Header: program, mode tabs, and where cellui is connected (with the spinner while busy).
void draw_header(const Ui& ui, const std::string& right, const Rect& r, Canvas& c) {
  c.fill(r, Style::kHeader);
  c.text(r.y, 1, "cellui", Style::kHeader);
  int x = 9;
  for (int m = 0; m < kModeCount; ++m) {
    std::string tab = std::string(" ") + mode_name(static_cast<Mode>(m)) + " ";
    c.text(r.y, x, tab, static_cast<Mode>(m) == ui.mode() ? Style::kHeaderMode : Style::kHeader);
    x += static_cast<int>(tab.size()) + 1;
  }
  std::string tail = right + (ui.busy() ? std::string(" ") + ui.spinner() : std::string("  "));
  int tx = std::max(x + 1, r.w - static_cast<int>(tail.size()) - 1);
  c.text(r.y, tx, tail, Style::kHeader, r.w - tx);
}

void draw_status(const Ui& ui, int64_t now_ms, const Rect& r, Canvas& c) {
  c.fill(r, Style::kSubheader);
  std::string right = "| updated " + (ui.snapshot().updated.empty() ? "--:--:--" : ui.snapshot().updated);
  int rx = std::max(0, r.w - static_cast<int>(right.size()) - 1);
  if (auto m = ui.message(now_ms)) {
    c.text(r.y, 1, m->first, m->second ? Style::kError : Style::kSubheader, rx - 2);
  } else {
    c.text(r.y, 1, status_text(ui.snapshot(), ui.mode(), ui.filter(), ui.journal_cell()),
           Style::kSubheader, rx - 2);
  }
  c.text(r.y, rx, right, Style::kSubheader);
}

// The table of the current mode inside its box, scrolled so the selection is visible.
void draw_table(const Ui& ui, const TextTable& t, int flex, int state_col, const Rect& r,
                Canvas& c) {
  std::string title = mode_name(ui.mode());
  if (ui.mode() == Mode::kJournal && !ui.journal_cell().empty()) title += ": " + ui.journal_cell();
  c.box(r, Style::kBorder, Style::kPanel, title);
  // Text starts right at the border: 80 columns then show every cell column of a 17-letter
  // name (mysite-edge-httpd) uncut.
  int inner_w = r.w - 2, x0 = r.x + 1, rows = r.h - 3;
  if (inner_w <= 0 || rows < 0) return;
  auto widths = column_widths(t, inner_w, flex);
  auto draw_row = [&](int y, const std::vector<std::string>& cells, Style base, bool selected) {
    if (selected) c.fill({y, r.x + 1, 1, r.w - 2}, Style::kSelected);
    int x = x0;
    for (size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      if (widths[i] == 0) continue;
      Style s = selected ? Style::kSelected : base;
      if (!selected && static_cast<int>(i) == state_col)
        s = cells[i] == "running" ? Style::kRunning : cells[i] == "stopped" ? Style::kStopped : Style::kState;
      c.text(y, x, fit(cells[i], widths[i]), s);
      x += widths[i] + kColumnGap;
    }
  };
  draw_row(r.y + 1, t.headers, Style::kTableHeader, false);
  size_t sel = ui.selected();
  size_t top = sel >= static_cast<size_t>(rows) ? sel - rows + 1 : 0;
  for (int i = 0; i < rows && top + i < t.rows.size(); ++i)
    draw_row(r.y + 2 + i, t.rows[top + i], Style::kPanel, top + i == sel);
  if (t.rows.empty()) c.text(r.y + 2, x0, "(none)", Style::kPanel, inner_w);
}

void draw_detail(const std::string& title, const std::vector<std::string>& lines, const Rect& r,
                 Canvas& c) {
  if (r.h < 3) return;
  c.box(r, Style::kBorder, Style::kPanel, title);
  for (int i = 0; i < r.h - 2 && i < static_cast<int>(lines.size()); ++i)
    c.text(r.y + 1 + i, r.x + 2, lines[i], Style::kPanel, r.w - 4);
}

void draw_help(Mode mode, const Rect& r, Canvas& c) {
  c.fill(r, Style::kHelp);
  for (int line = 0; line < 2 && line < r.h; ++line) {
    int x = 1;
    bool first = true;
    for (const auto& item : help_line(mode, line)) {
      if (!first) c.text(r.y + line, x, " | ", Style::kHelpSep), x += 3;
      first = false;
      c.text(r.y + line, x, item.key, Style::kHelpKey);
      x += static_cast<int>(std::string(item.key).size());
      c.text(r.y + line, x, std::string(" ") + item.label, Style::kHelp);
      x += 1 + static_cast<int>(std::string(item.label).size());
    }
  }
}

void draw_dialog(const Dialog& d, Canvas& c) {
  int w = static_cast<int>(d.confirm_label.size() + d.cancel_label.size()) + 7;
  for (const auto& l : d.lines) w = std::max(w, static_cast<int>(l.size()) + 4);
  w = std::min(w, c.columns() - 2);
  int h = static_cast<int>(d.lines.size()) + 4;
  Rect r{(c.lines() - h) / 2, (c.columns() - w) / 2, h, w};
  Style body = d.error ? Style::kError : Style::kDialog;
  c.box(r, body, body, d.title);
  for (size_t i = 0; i < d.lines.size(); ++i)
    c.text(r.y + 1 + static_cast<int>(i), r.x + 2, d.lines[i], body, w - 4);
  std::string keys = d.confirm_label + " | " + d.cancel_label;
  c.text(r.y + h - 2, r.x + 2, keys, d.error ? Style::kError : Style::kDialogTitle, w - 4);
}

}  // namespace

void render(const Ui& ui, const std::string& header_right, int64_t now_ms, Canvas& c) {
  Layout l = layout_of(ui, c.columns(), c.lines());
  c.fill({0, 0, c.lines(), c.columns()}, Style::kPage);
  draw_header(ui, header_right, l.header, c);
  draw_status(ui, now_ms, l.status, c);
  const Snapshot& s = ui.snapshot();
  switch (ui.mode()) {
    case Mode::kCells: {
      auto rows = visible_cells(s, ui.filter());
      draw_table(ui, cell_table(rows), 0, 1, l.table, c);
      const CellRow* sel = ui.selected_cell();
      draw_detail(sel ? "cell " + sel->name : "cell", sel ? cell_detail(*sel) : std::vector<std::string>{}, l.detail, c);
      break;
    }
    case Mode::kStorage: {
      draw_table(ui, storage_table(s.storage), 0, -1, l.table, c);
      const StorageRow* sel = ui.selected_storage();
      draw_detail(sel ? sel->kind + " " + sel->name : "storage",
                  sel ? storage_detail(*sel, ui.backup_selected()) : std::vector<std::string>{},
                  l.detail, c);
      break;
    }
    case Mode::kJournal: {
      auto rows = visible_journal(s, ui.journal_cell());
      auto t = journal_table(rows);
      draw_table(ui, t, static_cast<int>(t.headers.size()) - 1, -1, l.table, c);
      size_t i = ui.selected();
      if (i < rows.size()) {
        const JournalRow& j = *rows[i];
        draw_detail("entry " + std::to_string(j.seq),
                    {"time: " + j.time + "  op: " + j.op + "  kind: " + j.kind,
                     "target: " + j.target, j.summary},
                    l.detail, c);
      }
      break;
    }
  }
  draw_help(ui.mode(), l.help, c);
  if (ui.dialog()) draw_dialog(*ui.dialog(), c);
}

}  // namespace cells::tui
