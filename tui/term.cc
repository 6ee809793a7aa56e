#include "tui/term.h"

#include <curses.h>
#include <unistd.h>

#include "tui/keys.h"

namespace cells::tui {

namespace {
// Colours 0..15 stay as the terminal has them; a theme's roles are programmed from 16 on.
constexpr short kFirstColour = 16;
short pair_of(Style s) { return static_cast<short>(static_cast<int>(s) + 1); }
short scale(uint8_t v) { return static_cast<short>(v * 1000 / 255); }

// Without colours, attributes keep the important elements apart.
attr_t mono_attr(Style s) {
  switch (s) {
    case Style::kHeader:
    case Style::kSelected:
    case Style::kError:
    case Style::kDialog: return A_REVERSE;
    case Style::kHeaderMode:
    case Style::kHelpKey:
    case Style::kTableHeader:
    case Style::kDialogTitle: return A_BOLD;
    default: return A_NORMAL;
  }
}
}  // namespace

Result<Terminal> Terminal::open() {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    return Error::invalid("cellui needs a terminal on stdin and stdout");
  // newterm instead of initscr: initscr exits the process on an unknown TERM.
  SCREEN* s = newterm(nullptr, stdout, stdin);
  if (!s) return Error::invalid(std::string("cannot use terminal type '") + (getenv("TERM") ? getenv("TERM") : "") + "'");
  Terminal t;
  t.open_ = true;
  raw();  // Ctrl-C arrives as a key (quit), not as SIGINT
  noecho();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
  if (has_colors()) {
    start_color();
    t.depth_ = depth_for(can_change_color(), COLORS);
    if (COLOR_PAIRS <= kStyleCount) t.depth_ = Depth::kMono;
  }
  return t;
}

Terminal::~Terminal() {
  if (open_) endwin();
}

int Terminal::columns() const { return COLS; }
int Terminal::lines() const { return LINES; }

void Terminal::apply_theme(const Theme& t) {
  if (depth_ == Depth::kMono) return;
  if (depth_ == Depth::kExact) {
    for (int r = 0; r < kRoleCount; ++r) {
      Rgb c = t.colours[r];
      init_color(static_cast<short>(kFirstColour + r), scale(c.r), scale(c.g), scale(c.b));
    }
  }
  for (int s = 0; s < kStyleCount; ++s) {
    StyleRoles roles = style_roles(static_cast<Style>(s));
    if (depth_ == Depth::kExact) {
      init_pair(pair_of(static_cast<Style>(s)), static_cast<short>(kFirstColour + static_cast<int>(roles.fg)),
                static_cast<short>(kFirstColour + static_cast<int>(roles.bg)));
    } else {
      Pair p = fallback_pair(t.at(roles.fg), t.at(roles.bg), depth_);
      init_pair(pair_of(static_cast<Style>(s)), static_cast<short>(p.fg), static_cast<short>(p.bg));
    }
  }
  bkgdset(COLOR_PAIR(pair_of(Style::kPage)));
  // Every cell is redrawn in the new colours, not only those that change.
  clearok(stdscr, TRUE);
}

void Terminal::draw(const Canvas& c) {
  for (int y = 0; y < c.lines() && y < LINES; ++y) {
    move(y, 0);
    for (int x = 0; x < c.columns() && x < COLS; ++x) {
      const Cell& cell = c.at(y, x);
      chtype attr = depth_ == Depth::kMono ? mono_attr(cell.style) : COLOR_PAIR(pair_of(cell.style));
      chtype ch;
      switch (cell.ch) {
        case glyph::kHLine: ch = ACS_HLINE; break;
        case glyph::kVLine: ch = ACS_VLINE; break;
        case glyph::kUpperLeft: ch = ACS_ULCORNER; break;
        case glyph::kUpperRight: ch = ACS_URCORNER; break;
        case glyph::kLowerLeft: ch = ACS_LLCORNER; break;
        case glyph::kLowerRight: ch = ACS_LRCORNER; break;
        default: ch = static_cast<chtype>(cell.ch);
      }
      // The bottom-right corner: addch would scroll on terminals without auto-margin control.
      if (y == LINES - 1 && x == COLS - 1) {
        insch(ch | attr);
        continue;
      }
      addch(ch | attr);
    }
  }
  refresh();
}

int Terminal::read_key() {
  int k = getch();
  switch (k) {
    case ERR: return -1;
    case KEY_UP: return key::kUp;
    case KEY_DOWN: return key::kDown;
    case KEY_LEFT: return key::kLeft;
    case KEY_RIGHT: return key::kRight;
    case KEY_PPAGE: return key::kPageUp;
    case KEY_NPAGE: return key::kPageDown;
    case KEY_HOME: return key::kHome;
    case KEY_END: return key::kEnd;
    case KEY_ENTER: return key::kEnter;
    case KEY_RESIZE: return key::kResize;
    default: return k;
  }
}

void Terminal::suspend() {
  def_prog_mode();
  endwin();
}

void Terminal::resume() {
  reset_prog_mode();
  clearok(stdscr, TRUE);
  refresh();
}

}  // namespace cells::tui
