// A pass over manifest text before toml++ sees it.
//
// Why: toml++ 3.3.0 (Debian 12's libtomlplusplus-dev) answers "is this non-ASCII code point
// whitespace?" with a generated lookup whose mask leaves out three blocks (U+00A1..U+0499,
// U+2C4E..U+3047, U+FB26..U+FEFE). A question about one of them falls to
// __builtin_unreachable(), which is undefined behaviour. The parser asks that question in more
// places than a reading of TOML suggests: while it scans a bare value it looks up to 127 code
// points ahead, past quotes, so `a = 0"x"'é'` asks about the é. fuzz_manifest (UBSan) found
// both a bare key and that case. Rather than chase each place, this pass hands toml++ ASCII
// only, and for ASCII the lookup returns before the broken mask:
//   - a non-ASCII character in a basic string becomes its \u or \U escape;
//   - a literal string, one-line or multi-line, becomes the basic string with the same value
//     (backslashes and double quotes escaped, then as above);
//   - a non-ASCII character in a comment becomes '?' (comments have no value);
//   - a byte order mark at the start is dropped (toml++ skips it too).
// What TOML 1.0 forbids anyway is refused with the line: a non-ASCII character outside strings
// and comments, a backslash followed by one in a basic string, and invalid UTF-8 anywhere. So no
// valid manifest is refused and each one means what it said. Lines keep their numbers, so
// toml++'s errors still name the right line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cells::engine {

struct GuardedToml {
  // The ASCII text to parse, when the original held anything else; empty otherwise.
  std::string rewritten;
  bool changed = false;
  // Set when the text is refused: the 1-based line and what is wrong there.
  uint32_t line = 0;
  std::string refusal;
};

GuardedToml guard_toml(std::string_view text);

}  // namespace cells::engine
