#include "engine/toml_guard.h"

#include <algorithm>
#include <cstdio>

namespace cells::engine {
namespace {

constexpr uint32_t kNotUtf8 = 0xFFFFFFFF;

// Decodes the UTF-8 sequence at T[I] and sets LEN to its length, or returns kNotUtf8. Strict,
// as the TOML spec asks: no overlong forms, no surrogates, nothing above U+10FFFF.
uint32_t decode_utf8(std::string_view t, size_t i, size_t& len) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(t[k]); };
  uint8_t lead = byte(i);
  uint32_t cp = 0;
  uint32_t least = 0;
  size_t n = 0;
  if ((lead & 0xE0) == 0xC0) {
    n = 2, cp = lead & 0x1F, least = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    n = 3, cp = lead & 0x0F, least = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    n = 4, cp = lead & 0x07, least = 0x10000;
  } else {
    return kNotUtf8;
  }
  if (t.size() - i < n) return kNotUtf8;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return kNotUtf8;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kNotUtf8;
  len = n;
  return cp;
}

std::string code_point_name(uint32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

std::string escape_sequence(uint32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, c <= 0xFFFF ? "\\u%04X" : "\\U%08X", static_cast<unsigned>(c));
  return buf;
}

bool is_ascii(std::string_view t) {
  return std::all_of(t.begin(), t.end(), [](char c) { return static_cast<uint8_t>(c) < 0x80; });
}

// Where the scan stands. A literal string is written out as a basic one, so it keeps its own
// state only to know its closing quote and that a backslash in it is content.
enum class Context { kBare, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

class Rewriter {
 public:
  explicit Rewriter(std::string_view text) : t_(text) { out_.rewritten.reserve(t_.size() + 64); }

  GuardedToml run() {
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;
    while (i_ < t_.size()) {
      if (!step()) {
        out_.rewritten.clear();
        return std::move(out_);
      }
    }
    out_.changed = true;
    return std::move(out_);
  }

 private:
  bool refuse(std::string why) {
    out_.line = line_;
    out_.refusal = std::move(why);
    return false;
  }

  void emit(char c) { out_.rewritten += c; }
  void emit(std::string_view s) { out_.rewritten += s; }

  bool literal() const {
    return context_ == Context::kLiteral || context_ == Context::kMultiLiteral;
  }
  bool basic() const { return context_ == Context::kBasic || context_ == Context::kMultiBasic; }
  bool multi() const {
    return context_ == Context::kMultiBasic || context_ == Context::kMultiLiteral;
  }

  // One character (or one run of quotes) of the text. False when the text is refused.
  bool step() {
    if (static_cast<uint8_t>(t_[i_]) >= 0x80) return non_ascii();
    char c = t_[i_];
    if (c == '\n') ++line_;
    switch (context_) {
      case Context::kBare:
        if (c == '#') context_ = Context::kComment;
        if (c == '"' || c == '\'') return open_string(c);
        break;
      case Context::kComment:
        if (c == '\n') context_ = Context::kBare;
        break;
      default:
        return in_string(c);
    }
    emit(c);
    ++i_;
    return true;
  }

  bool non_ascii() {
    size_t len = 0;
    uint32_t cp = decode_utf8(t_, i_, len);
    if (cp == kNotUtf8) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(static_cast<uint8_t>(t_[i_])));
      return refuse(std::string("invalid UTF-8 (byte ") + buf + ")");
    }
    if (context_ == Context::kBare) {
      return refuse("non-ASCII character " + code_point_name(cp) +
                    " outside a string or comment (TOML keys and whitespace are ASCII; quote the "
                    "key)");
    }
    emit(context_ == Context::kComment ? std::string("?") : escape_sequence(cp));
    i_ += len;
    return true;
  }

  // A quote or a backslash: where basic and literal strings differ. Other characters, tabs and
  // newlines included, mean the same in both and are copied.
  bool in_string(char c) {
    char quote = basic() ? '"' : '\'';
    if (c == quote) return multi() ? close_multi(quote) : close_one_line();
    if (c == '\\' && basic()) return after_backslash();
    if (literal() && (c == '\\' || c == '"')) {
      emit('\\');
    } else if (c == '\n' && !multi()) {
      // A one-line string cannot hold a newline: toml++ reports it on this line. The scan goes on
      // in bare context so that the rest is still made ASCII.
      context_ = Context::kBare;
    }
    emit(c);
    ++i_;
    return true;
  }

  bool open_string(char quote) {
    bool is_multi = t_.substr(i_, 3) == std::string(3, quote);
    if (quote == '"') {
      context_ = is_multi ? Context::kMultiBasic : Context::kBasic;
    } else {
      context_ = is_multi ? Context::kMultiLiteral : Context::kLiteral;
    }
    emit(is_multi ? "\"\"\"" : "\"");
    i_ += is_multi ? 3 : 1;
    return true;
  }

  bool close_one_line() {
    context_ = Context::kBare;
    emit('"');
    ++i_;
    return true;
  }

  // A run of N quotes inside a multi-line string. Three or more end it and up to two before
  // those are content; a literal string's single quotes are content of the basic string too.
  bool close_multi(char quote) {
    size_t n = 0;
    while (i_ + n < t_.size() && t_[i_ + n] == quote) ++n;
    i_ += n;
    if (n < 3) {
      emit(std::string(n, quote));
      return true;
    }
    context_ = Context::kBare;
    // A longer run is toml++'s error to report, so it stays too long rather than becoming
    // content.
    emit(n > 5 ? std::string(n, '"') : std::string(n - 3, quote) + "\"\"\"");
    return true;
  }

  // I_ is at a backslash inside a basic string: it and the character it escapes are copied,
  // so that an escaped quote or backslash is not read as one.
  bool after_backslash() {
    emit('\\');
    ++i_;
    if (i_ >= t_.size()) return true;
    char next = t_[i_];
    if (static_cast<uint8_t>(next) >= 0x80) {
      size_t len = 0;
      uint32_t cp = decode_utf8(t_, i_, len);
      if (cp == kNotUtf8) return non_ascii();  // refused as invalid UTF-8, with its byte
      return refuse("a backslash before " + code_point_name(cp) + " is no TOML escape sequence");
    }
    if (next == '"' || next == '\\') {
      emit(next);
      ++i_;
    }
    return true;
  }

  std::string_view t_;
  size_t i_ = 0;
  uint32_t line_ = 1;
  Context context_ = Context::kBare;
  GuardedToml out_;
};

}  // namespace

GuardedToml guard_toml(std::string_view text) {
  // Nearly every manifest is ASCII, and then there is nothing to do.
  if (is_ascii(text)) return {};
  return Rewriter(text).run();
}

}  // namespace cells::engine
