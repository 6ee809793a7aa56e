// The curses side: one Terminal owns the screen from initscr() to endwin(), programs the
// theme's colours at the depth the terminal offers, copies a Canvas to the screen and reads
// keys. The only file that includes curses.h (its macros clash with ordinary names).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "tui/render.h"
#include "tui/theme.h"

namespace cells::tui {

class Terminal {
 public:
  // Takes over the terminal (stdin/stdout). Fails when stdout is no terminal or TERM is unknown.
  static Result<Terminal> open();
  ~Terminal();
  Terminal(Terminal&& o) noexcept : open_(o.open_), depth_(o.depth_) { o.open_ = false; }
  Terminal& operator=(Terminal&&) = delete;
  Terminal(const Terminal&) = delete;

  int columns() const;
  int lines() const;

  void apply_theme(const Theme& t);
  void draw(const Canvas& c);
  // The next key (key.h codes), or -1 when none is waiting. Never blocks.
  int read_key();

  // Gives the terminal back (endwin) for a child such as a shell, and takes it again.
  void suspend();
  void resume();

 private:
  Terminal() = default;
  bool open_ = false;
  Depth depth_ = Depth::kMono;
};

}  // namespace cells::tui
