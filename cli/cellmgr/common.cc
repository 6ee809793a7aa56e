#include "cli/cellmgr/common.h"

#include <time.h>

#include <charconv>
#include <cstdio>
#include <iostream>

namespace cells::cellmgr {

Result<std::optional<store::Store>> open_for_read(const Context& ctx) {
  Paths paths = CELLS_TRY(paths_of(ctx));
  auto s = store::Store::open(paths, store::OpenMode::kReadOnly);
  if (!s) {
    if (s.error().kind() == ErrorKind::kNotFound) return std::optional<store::Store>();
    return std::move(s).error();
  }
  return std::optional<store::Store>(std::move(*s));
}

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string format_time(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  int ms = static_cast<int>((ns % 1'000'000'000) / 1'000'000);
  tm t;
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms);
  return buf;
}

Result<int64_t> parse_time(const std::string& text, int64_t now) {
  auto bad = [&] {
    return Error::invalid("--since: cannot read '" + text +
                          "' as a time (use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS], @UNIXSECONDS, "
                          "or a duration ago like 90s, 10m, 2h, 3d)");
  };
  if (text.empty()) return bad();
  auto parse_int = [](std::string_view s, int64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  };
  int64_t n = 0;
  if (text[0] == '@') {
    if (!parse_int(std::string_view(text).substr(1), n) || n < 0) return bad();
    return n * 1'000'000'000;
  }
  char unit = text.back();
  if (std::string_view("smhd").find(unit) != std::string_view::npos &&
      parse_int(std::string_view(text).substr(0, text.size() - 1), n)) {
    if (n < 0) return bad();
    int64_t mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
    return now - n * mult * 1'000'000'000;
  }
  tm t{};
  int y, mo, d, h = 0, mi = 0, s = 0;
  char tail;
  int got = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s,
                        &tail);
  bool shape_ok = (got == 3 && text.size() == 10) || got == 5 || got == 6;
  if (!shape_ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return bad();
  }
  if (got == 5 && text.size() != 16) return bad();
  if (got == 6 && text.size() != 19) return bad();
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  return int64_t{timegm(&t)} * 1'000'000'000;
}

}  // namespace cells::cellmgr
