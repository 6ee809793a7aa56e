#include "cli/cellmgr/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace cells::cellmgr {

std::string human_bytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", bytes, kUnits[u]);
  }
  return buf;
}

namespace {

std::string human_duration(double s) {
  long secs = std::lround(s);
  char buf[32];
  if (secs >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", secs / 3600, (secs / 60) % 60);
  } else if (secs >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", secs / 60, secs % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", secs);
  }
  return buf;
}

}  // namespace

std::string render_progress(const std::string& label, const backup::Progress& p, int width) {
  std::string tail;
  if (p.bytes_total > 0) {
    double frac = std::min(1.0, double(p.bytes_done) / double(p.bytes_total));
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", int(frac * 100));
    tail = std::string(pct) + "  " + human_bytes(double(p.bytes_done)) + "/" +
           human_bytes(double(p.bytes_total));
  } else {
    tail = human_bytes(double(p.bytes_done));
  }
  tail += "  " + human_bytes(p.rate_bytes_per_s) + "/s";
  if (p.eta_s > 0) tail += "  ETA " + human_duration(p.eta_s);
  // The bar gets what the label and the numbers leave, and is dropped below 10 columns
  // rather than wrapping the line (a wrapped line breaks the '\r' redraw).
  int bar = width - int(label.size()) - int(tail.size()) - 4;
  if (p.bytes_total == 0 || bar < 10) return label + "  " + tail;
  bar = std::min(bar, 40);
  double frac = std::min(1.0, double(p.bytes_done) / double(p.bytes_total));
  int filled = int(frac * bar);
  return label + " [" + std::string(size_t(filled), '#') + std::string(size_t(bar - filled), '-') +
         "] " + tail;
}

ProgressBar::ProgressBar(std::string label, std::FILE* out)
    : label_(std::move(label)), out_(out), enabled_(::isatty(::fileno(out)) == 1) {}

backup::ProgressFn ProgressBar::callback() {
  if (!enabled_) return {};
  return [this](const backup::Progress& p) { draw(p); };
}

void ProgressBar::draw(const backup::Progress& p) {
  winsize ws{};
  int width = ::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
  std::string line = render_progress(label_, p, width - 1);
  // Pad to clear what a longer previous line left on the terminal.
  if (int(line.size()) < width - 1) line.append(size_t(width - 1) - line.size(), ' ');
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::done() {
  if (!drawn_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace cells::cellmgr
