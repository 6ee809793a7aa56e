// one_line: errors are one line, but a parser's message may quote the bad input it saw
// (toml++, Cap'n Proto), newlines and all. Header-only so that adding it rebuilt nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cells {

// TEXT with every control character (newline, tab, NUL, DEL, ...) replaced by a space.
inline std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

// The lines of TEXT without their '\n', empty ones included; a final '\n' ends the last line
// rather than starting an empty one. The views point into TEXT.
inline std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace cells
