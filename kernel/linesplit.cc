#include "kernel/linesplit.h"

namespace cells::kernel {

void LineSplitter::emit_line(std::string_view line, const Emit& emit) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  emit(line);
}

void LineSplitter::feed(std::string_view data, const Emit& emit) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view chunk = data.substr(0, nl);
    // Over-long input is cut as soon as max_line bytes are held, so memory stays bounded
    // however long a line the service writes.
    while (partial_.size() + chunk.size() > max_line_) {
      size_t take = max_line_ - partial_.size();
      partial_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      emit(partial_);
      partial_.clear();
    }
    if (nl == std::string_view::npos) {
      partial_.append(chunk);
      return;
    }
    partial_.append(chunk);
    emit_line(partial_, emit);
    partial_.clear();
    data.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush(const Emit& emit) {
  if (partial_.empty()) return;
  emit_line(partial_, emit);
  partial_.clear();
}

}  // namespace cells::kernel
