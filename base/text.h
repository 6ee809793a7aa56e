// one_line: errors are one line, but a parser's message may quote the bad input it saw
// (toml++, Cap'n Proto), newlines and all. Header-only so that adding it rebuilt nothing.
#pragma once

#include <string>
#include <string_view>

namespace cells {

// TEXT with every control character (newline, tab, NUL, DEL, ...) replaced by a space.
inline std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

}  // namespace cells
