#include "tui/theme.h"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace cells::tui {
namespace {

constexpr Rgb h(uint32_t v) {
  return Rgb{static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// Roles in enum order: page bg/fg, header bg/fg, subheader, help bg/fg, key, help separator,
// panel bg/fg, border, table header, selected bg/fg, error bg/fg, running, stopped, state,
// dialog bg.
const std::vector<Theme>& collection() {
  static const std::vector<Theme> all = {
      // NetBSD's sysinst: white on the installer's blue, grey bars, yellow accents.
      {"sysinst",
       {h(0x0000AA), h(0xFFFFFF), h(0xAAAAAA), h(0x000000), h(0xFFFF55), h(0x0000AA), h(0xFFFFFF),
        h(0xFFFF55), h(0x55FFFF), h(0x0000AA), h(0xFFFFFF), h(0xFFFFFF), h(0xFFFF55), h(0x00AAAA),
        h(0x000000), h(0xAA0000), h(0xFFFFFF), h(0x55FF55), h(0xFF5555), h(0xFFFFFF),
        h(0xAAAAAA)}},
      // Midnight Commander: cyan menu bar, blue panels, black-on-cyan help labels.
      {"mc",
       {h(0x000000), h(0xAAAAAA), h(0x00AAAA), h(0x000000), h(0xFFFF55), h(0x00AAAA), h(0x000000),
        h(0xFFFFFF), h(0x000000), h(0x0000AA), h(0x55FFFF), h(0xAAAAAA), h(0xFFFF55), h(0x00AAAA),
        h(0x000000), h(0xAA0000), h(0xFFFFFF), h(0x55FF55), h(0xFF5555), h(0xFFFFFF),
        h(0xAAAAAA)}},
      // An amber phosphor monitor: one hue in four intensities.
      {"amber-monitor",
       {h(0x140C00), h(0xFFB000), h(0xFFB000), h(0x140C00), h(0xFFCC4D), h(0x140C00), h(0xCC8C00),
        h(0xFFD27F), h(0x7F5800), h(0x140C00), h(0xFFB000), h(0xCC8C00), h(0xFFD27F), h(0xFFB000),
        h(0x140C00), h(0xFFD27F), h(0x140C00), h(0xFFD27F), h(0x996A00), h(0xFFB000),
        h(0x3D2A00)}},
      // A green phosphor monitor (P1).
      {"green-monitor",
       {h(0x001400), h(0x33FF33), h(0x33FF33), h(0x001400), h(0x99FF99), h(0x001400), h(0x22BB22),
        h(0x99FF99), h(0x116611), h(0x001400), h(0x33FF33), h(0x22BB22), h(0x99FF99), h(0x33FF33),
        h(0x001400), h(0x99FF99), h(0x001400), h(0x99FF99), h(0x1A881A), h(0x33FF33),
        h(0x003D00)}},
      // Greys only, for terminals and eyes that want no colour.
      {"mono-gray",
       {h(0x1C1C1C), h(0xC6C6C6), h(0xC6C6C6), h(0x1C1C1C), h(0xEEEEEE), h(0x1C1C1C), h(0x9E9E9E),
        h(0xEEEEEE), h(0x626262), h(0x1C1C1C), h(0xC6C6C6), h(0x808080), h(0xEEEEEE), h(0xC6C6C6),
        h(0x1C1C1C), h(0xEEEEEE), h(0x1C1C1C), h(0xFFFFFF), h(0x808080), h(0xC6C6C6),
        h(0x3A3A3A)}},
      // Neon pink and cyan on a violet night sky.
      {"synthwave-80s",
       {h(0x241B2F), h(0xF8F8F2), h(0xFF7EDB), h(0x241B2F), h(0xFEDE5D), h(0x1A1426), h(0xB6B1C9),
        h(0x36F9F6), h(0x7C6A9C), h(0x2A2139), h(0xF8F8F2), h(0xFF7EDB), h(0xFEDE5D), h(0x36F9F6),
        h(0x241B2F), h(0xFE4450), h(0xF8F8F2), h(0x72F1B8), h(0xFE4450), h(0xF8F8F2),
        h(0x34294F)}},
  };
  return all;
}

int distance2(Rgb a, Rgb b) {
  int dr = a.r - b.r, dg = a.g - b.g, db = a.b - b.b;
  return dr * dr + dg * dg + db * db;
}

constexpr uint8_t kCubeLevels[6] = {0, 95, 135, 175, 215, 255};

// xterm's own values for the eight ANSI colours.
constexpr Rgb kBasic8[8] = {h(0x000000), h(0xCD0000), h(0x00CD00), h(0xCDCD00),
                            h(0x0000EE), h(0xCD00CD), h(0x00CDCD), h(0xE5E5E5)};

}  // namespace

const std::vector<Theme>& themes() { return collection(); }

Result<size_t> find_theme(std::string_view name) {
  std::string names;
  for (size_t i = 0; i < themes().size(); ++i) {
    if (themes()[i].name == name) return i;
    names += (i ? ", " : "") + std::string(themes()[i].name);
  }
  return Error::invalid("unknown theme '" + std::string(name) + "' (themes: " + names + ")");
}

Depth depth_for(bool can_change_color, int colors) {
  if (can_change_color && colors >= 64) return Depth::kExact;
  if (colors >= 256) return Depth::k256;
  if (colors >= 8) return Depth::k8;
  return Depth::kMono;
}

Rgb xterm256_rgb(int i) {
  if (i >= 232) {
    uint8_t v = static_cast<uint8_t>(8 + 10 * (i - 232));
    return {v, v, v};
  }
  int c = i - 16;
  return {kCubeLevels[c / 36], kCubeLevels[(c / 6) % 6], kCubeLevels[c % 6]};
}

int nearest_xterm256(Rgb c) {
  int best = 16, best_d = std::numeric_limits<int>::max();
  for (int i = 16; i < 256; ++i) {
    int d = distance2(c, xterm256_rgb(i));
    if (d < best_d) best = i, best_d = d;
  }
  return best;
}

int nearest_basic8(Rgb c) {
  int best = 0, best_d = std::numeric_limits<int>::max();
  for (int i = 0; i < 8; ++i) {
    int d = distance2(c, kBasic8[i]);
    if (d < best_d) best = i, best_d = d;
  }
  return best;
}

Pair fallback_pair(Rgb fg, Rgb bg, Depth depth) {
  switch (depth) {
    case Depth::kExact:
    case Depth::kMono:
      return {-1, -1};  // the caller programs colours itself, or uses attributes only
    case Depth::k256: {
      Pair p{nearest_xterm256(fg), nearest_xterm256(bg)};
      if (p.fg == p.bg && !(fg == bg)) p.fg = distance2(bg, h(0)) > distance2(bg, h(0xFFFFFF)) ? 16 : 231;
      return p;
    }
    case Depth::k8: {
      Pair p{nearest_basic8(fg), nearest_basic8(bg)};
      if (p.fg == p.bg && !(fg == bg)) {
        p.fg = distance2(kBasic8[p.bg], h(0)) > distance2(kBasic8[p.bg], h(0xFFFFFF)) ? 0 : 7;
        // Black or white can itself be the background (a grey theme): take the other one.
        if (p.fg == p.bg) p.fg = p.bg == 0 ? 7 : 0;
      }
      return p;
    }
  }
  return {};
}

std::string hex(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02X%02X%02X", c.r, c.g, c.b);
  return buf;
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}
bool is_theme_line(std::string_view line, std::string_view* value) {
  line = trim(line);
  auto eq = line.find('=');
  if (eq == std::string_view::npos || trim(line.substr(0, eq)) != "theme") return false;
  if (value) *value = trim(line.substr(eq + 1));
  return true;
}
}  // namespace

std::optional<std::string> rc_theme(std::string_view rc_text) {
  std::optional<std::string> found;
  std::istringstream in{std::string(rc_text)};
  for (std::string line; std::getline(in, line);) {
    std::string_view v;
    if (is_theme_line(line, &v)) found = std::string(v);  // the last one wins, like a shell rc
  }
  return found;
}

std::string rc_with_theme(std::string_view rc_text, std::string_view theme) {
  std::string out;
  std::istringstream in{std::string(rc_text)};
  for (std::string line; std::getline(in, line);)
    if (!is_theme_line(line, nullptr)) out += line + "\n";
  out += "theme=" + std::string(theme) + "\n";
  return out;
}

std::string rc_path() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) return "";
  return std::string(home) + "/.celluirc";
}

}  // namespace cells::tui
