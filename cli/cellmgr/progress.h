// A one-line terminal progress bar for backups and restores: bytes done of the total, the rate
// and the time left, redrawn in place with '\r'. Drawn only when the stream is a terminal, so
// pipes and logs see nothing but the final result lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "backup/progress.h"

namespace cells::cellmgr {

// "1.5 GiB", "12.0 MiB", "512 B"
std::string human_bytes(double bytes);

// The bar line (no '\r', no newline) for P, fitting WIDTH columns:
//   "backup data [#######-------------]  35%  120.0 MiB/342.9 MiB  85.2 MiB/s  ETA 3s"
// An unknown total (0) draws no bar and no percentage.
std::string render_progress(const std::string& label, const backup::Progress& p, int width);

class ProgressBar {
 public:
  // Draws on OUT only when it is a terminal (isatty).
  ProgressBar(std::string label, std::FILE* out = stdout);
  ~ProgressBar() { done(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool enabled() const { return enabled_; }
  // A callback for backup::CreateOptions/RestoreOptions::progress (empty when not enabled, so
  // the library does not even measure).
  backup::ProgressFn callback();
  // Ends the bar's line so that the next output starts on its own line. Idempotent.
  void done();

 private:
  void draw(const backup::Progress& p);

  std::string label_;
  std::FILE* out_;
  bool enabled_ = false;
  bool drawn_ = false;
};

}  // namespace cells::cellmgr
